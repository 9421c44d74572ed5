"""Records page serialisers (pure). PostGIS already wrote each record's JSON text; these
functions only frame it, so no row is parsed or re-encoded in Python on the hot path."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import orjson


@dataclass(frozen=True)
class PageContext:
    """What a serialiser needs besides the rows: identity, counts and links."""

    dataset_id: str
    version: int
    number_matched: int | None
    links: list[dict[str, str]]
    csv_columns: tuple[str, ...] = ()


def _head(context: PageContext, number_returned: int) -> dict[str, Any]:
    head: dict[str, Any] = {"dataset": context.dataset_id, "version": context.version}
    if context.number_matched is not None:
        head["numberMatched"] = context.number_matched
    head["numberReturned"] = number_returned
    head["links"] = context.links
    return head


def _frame(head: dict[str, Any], key: str, items: list[str], prefix: bytes = b"") -> bytes:
    """``{...head, key: [items]}`` with the items spliced in verbatim."""
    opening = orjson.dumps(head)[:-1]
    body = ",".join(items).encode("utf-8")
    return prefix + opening + b',"' + key.encode() + b'":[' + body + b"]}"


def records_json(rows: list[str], context: PageContext) -> bytes:
    return _frame(_head(context, len(rows)), "records", rows)


def records_geojson(rows: list[str], context: PageContext) -> bytes:
    head = {"type": "FeatureCollection", **_head(context, len(rows))}
    return _frame(head, "features", rows)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        text = format(value, "f")
        # trailing zeros are noise only after a decimal point: 120.50 -> 120.5, 135420 stays
        return text.rstrip("0").rstrip(".") if "." in text else text
    return value


def records_csv(rows: list[tuple[Any, ...]], context: PageContext) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(context.csv_columns)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def single_record(row: tuple[Any, ...], output: str, csv_columns: tuple[str, ...]) -> bytes:
    """One record on its own: the JSON object / GeoJSON Feature PostGIS wrote (json,
    geojson), or a header and one CSV row."""
    if output != "csv":
        return str(row[0]).encode("utf-8")
    return records_csv([row], PageContext("", 0, None, [], csv_columns))


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    serialise: Callable[[list[Any], PageContext], bytes]


FORMATS: dict[str, Format] = {
    "json": Format("json", "application/json", records_json),
    "geojson": Format("geojson", "application/geo+json", records_geojson),
    "csv": Format("csv", "text/csv; charset=utf-8", records_csv),
}
MEDIA_TYPES: dict[str, str] = {
    "application/json": "json",
    "application/geo+json": "geojson",
    "text/csv": "csv",
}
