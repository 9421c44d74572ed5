"""Where a file's positions are, judged from the columns and their values.

Publishing reads positions from fields (``[geometry]`` of dataset.toml names them); this
module decides which kind a new file has, in this order:

``latlon``
    A latitude and a longitude column: mapped by their spellings, or told apart by their
    values when the headers only say "a coordinate" (X座標/Y座標, 東経/北緯, x/y): values
    within Japan's latitudes are the latitude, within its longitudes the longitude.
``combined``
    One column holding ``"lat,lon"`` (Takamatsu's ``location``).
``none``
    No position. A WKT column is named in the note (no standard schema has a field that
    holds WKT), and so is an address-only file: the hub does not geocode.

Values are read with the parsers publishing uses (:mod:`etl.normalise`), on a sample.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.normalise import parse_combined_latlon, parse_latlon_pair, parse_wkt
from etl.proposal.mapping import ColumnMatch, loose_key
from hub.catalog import TableSchema

# Japan, generously (the schemas' own latitude/longitude bounds).
LATITUDES = (20.0, 46.0)
LONGITUDES = (122.0, 154.0)
# Share of a sample's filled cells that must read as positions for a column to count as one.
READABLE_SHARE = 0.8
# Headers that say "a coordinate" without saying which (after loose_key folding).
_AXIS_HINT = re.compile(r"^[xy](座標|coord\w*)?(\W.*)?$|緯|経|lat|lon|lng|北|東")
LATITUDE, LONGITUDE, LOCATION, ADDRESS = "latitude", "longitude", "location", "address"


@dataclass(frozen=True)
class GeometryGuess:
    """The geometry a draft declares, by header (``latitude``/``longitude`` or ``column``),
    with how many sampled rows it locates and a note for staff."""

    kind: str
    note: str
    latitude: str | None = None
    longitude: str | None = None
    column: str | None = None
    located: int = 0
    sampled: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "latitude": self.latitude, "longitude": self.longitude,
                "column": self.column, "located": self.located, "sampled": self.sampled,
                "note": self.note}


def detect_geometry(sample: pd.DataFrame, schema: TableSchema, matches: list[ColumnMatch]
                    ) -> tuple[GeometryGuess, list[ColumnMatch]]:
    """The geometry of ``sample`` for ``schema``, and the coordinate columns found by value
    (to add to ``matches``, in place of any partial match of the same header)."""
    by_field = {m.field: m.header for m in matches}
    # A header that only contains a spelling (X座標 contains 座標) may still be an axis.
    mapped = {m.header for m in matches if m.rule != "partial"}
    fields = set(schema.field_names)
    n = len(sample)
    extra: list[ColumnMatch] = []
    if {LATITUDE, LONGITUDE} <= fields:
        lat, lon = by_field.get(LATITUDE), by_field.get(LONGITUDE)
        if lat is None or lon is None:
            found = _axes_by_value(sample, [h for h in sample.columns if h not in mapped])
            lat, lon = lat or found.get(LATITUDE), lon or found.get(LONGITUDE)
            extra = [ColumnMatch(found[f], f, "coordinates") for f in (LATITUDE, LONGITUDE)
                     if f in found and f not in by_field]
        if lat is not None and lon is not None:
            located = _located_pairs(sample[lat], sample[lon])
            note = (f"latitude {lat!r}, longitude {lon!r}: {located} of {n} sampled rows "
                    "have a position in Japan")
            return GeometryGuess("latlon", note, latitude=lat, longitude=lon,
                                 located=located, sampled=n), extra
    if LOCATION in fields:
        columns = [by_field[LOCATION]] if LOCATION in by_field else [
            h for h in sample.columns if h not in mapped]
        for column in columns:
            located = _located_combined(sample[column])
            if located and located >= READABLE_SHARE * _filled(sample[column]):
                note = f"{column!r} holds \"lat,lon\": {located} of {n} sampled rows located"
                if LOCATION not in by_field:
                    extra.append(ColumnMatch(column, LOCATION, "coordinates"))
                return GeometryGuess("combined", note, column=column, located=located,
                                     sampled=n), extra
    wkt = next((h for h in sample.columns if _reads_as_wkt(sample[h])), None)
    if wkt is not None:
        return GeometryGuess("none", f"{wkt!r} holds WKT geometry, which no field of this "
                             "schema carries: published without a map position",
                             column=wkt, sampled=n), extra
    if ADDRESS in by_field:
        return GeometryGuess("none", f"address only ({by_field[ADDRESS]!r}): the hub does "
                             "not geocode, so records have no map position", sampled=n), extra
    return GeometryGuess("none", "no position found: records have no map position",
                         sampled=n), extra


def _filled(s: pd.Series) -> int:
    return int((s.astype(str).str.strip() != "").sum())


def _axes_by_value(sample: pd.DataFrame, headers: list[str]) -> dict[str, str]:
    """Coordinate columns whose header only hints at an axis, told apart by their values."""
    found: dict[str, str] = {}
    for header in headers:
        if not _AXIS_HINT.search(loose_key(header)):
            continue
        numbers = pd.to_numeric(sample[header].astype(str).str.strip(), errors="coerce")
        filled = _filled(sample[header])
        if not filled or numbers.notna().sum() < READABLE_SHARE * filled:
            continue
        values = numbers.dropna()
        for name, (low, high) in ((LATITUDE, LATITUDES), (LONGITUDE, LONGITUDES)):
            if name not in found and values.between(low, high).mean() >= READABLE_SHARE:
                found[name] = header
    return found


def _in_japan(lat: pd.Series, lon: pd.Series) -> int:
    a = lat.to_numpy(dtype=float, na_value=np.nan)
    b = lon.to_numpy(dtype=float, na_value=np.nan)
    inside = ((a >= LATITUDES[0]) & (a <= LATITUDES[1]) & (b >= LONGITUDES[0])
              & (b <= LONGITUDES[1]))
    return int(inside.sum())


def _located_pairs(lat: pd.Series, lon: pd.Series) -> int:
    parsed_lat, parsed_lon, _swapped, _invalid = parse_latlon_pair(lat, lon)
    return _in_japan(parsed_lat, parsed_lon)


def _located_combined(s: pd.Series) -> int:
    lat, lon, _swapped, _invalid = parse_combined_latlon(s)
    return _in_japan(lat, lon)


def _reads_as_wkt(s: pd.Series) -> bool:
    filled = _filled(s)
    if not filled or not s.astype(str).str.match(r"\s*(SRID=\d+;)?\s*[A-Za-z]+\s*\(").any():
        return False
    wkt, _invalid, _reason = parse_wkt(s.astype(str))
    return int(wkt.notna().sum()) >= READABLE_SHARE * filled
