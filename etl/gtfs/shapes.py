"""Route lines: from shapes.txt when the feed draws them, else through the stops.

WKT is written from the parsed floats with ``repr`` (their shortest round-trip form), so the
stored vertices are exactly the feed's coordinates, in the feed's order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.gtfs.tables import FeedTable


def shape_coordinates(shapes: FeedTable | None) -> dict[str, str]:
    """shape_id -> ``"lon lat, lon lat, ..."`` in shape_pt_sequence order, for shapes with at
    least two distinct points (a line needs two)."""
    if shapes is None or not len(shapes):
        return {}
    frame = pd.DataFrame({
        "shape": shapes.cells("shape_id").to_numpy(),
        "seq": shapes.value("shape_pt_sequence").to_numpy(dtype="float64", na_value=np.nan),
        "lat": shapes.value("shape_pt_lat").to_numpy(dtype="float64", na_value=np.nan),
        "lon": shapes.value("shape_pt_lon").to_numpy(dtype="float64", na_value=np.nan),
    }).dropna()
    frame = frame[frame["shape"] != ""]
    frame = frame.drop_duplicates(["shape", "seq"]).sort_values(["shape", "seq"], kind="stable")
    return _lines(frame["shape"].to_numpy(), frame["lon"].to_numpy(), frame["lat"].to_numpy())


def _lines(keys: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> dict[str, str]:
    """Consecutive runs of equal ``keys`` -> coordinate text of their points."""
    if not len(keys):
        return {}
    points = [f"{x!r} {y!r}" for x, y in zip(xs.tolist(), ys.tolist(), strict=True)]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    out: dict[str, str] = {}
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        run = points[start:end]
        if len(set(run)) >= 2:
            out[str(keys[start])] = ", ".join(run)
    return out


def line_wkt(parts: list[str]) -> str | None:
    """LINESTRING for one part, MULTILINESTRING for several, None for none."""
    if not parts:
        return None
    if len(parts) == 1:
        return f"LINESTRING ({parts[0]})"
    return "MULTILINESTRING (" + ", ".join(f"({p})" for p in parts) + ")"


def stop_pattern_lines(
    stop_times: pd.DataFrame, trips: pd.DataFrame, stop_xy: pd.DataFrame,
) -> dict[str, list[str]]:
    """route_id -> one line per direction through the stops of its most common stop pattern.

    ``stop_times``: trip_id, stop_sequence, stop_id; ``trips``: trip_id, route_id,
    direction_id (may be NA); ``stop_xy``: index stop_id, columns lon, lat. The most common
    pattern wins; ties go to the longer pattern, then to the one whose first trip comes first
    in trips.txt.
    """
    if stop_times.empty:
        return {}
    ordered = stop_times.sort_values(["trip_id", "stop_sequence"], kind="stable")
    patterns = ordered.groupby("trip_id", sort=False)["stop_id"].agg(tuple)
    frame = trips.assign(pattern=trips["trip_id"].map(patterns))
    frame = frame[frame["pattern"].notna()].copy()
    frame["direction"] = frame["direction_id"].astype("float64").fillna(-1)
    frame["order"] = np.arange(len(frame))
    stats = frame.groupby(["route_id", "direction", "pattern"], sort=False).agg(
        trips=("trip_id", "size"), order=("order", "min")).reset_index()
    stats["length"] = stats["pattern"].map(len)
    stats = stats.sort_values(["route_id", "direction", "trips", "length", "order"],
                              ascending=[True, True, False, False, True], kind="stable")
    best = stats.drop_duplicates(["route_id", "direction"], keep="first")
    lon = stop_xy["lon"].to_dict()
    lat = stop_xy["lat"].to_dict()
    out: dict[str, list[str]] = {}
    for route_id, pattern in zip(best["route_id"], best["pattern"], strict=True):
        points = [f"{lon[s]!r} {lat[s]!r}" for s in pattern
                  if s in lon and not (np.isnan(lon[s]) or np.isnan(lat[s]))]
        if len(set(points)) >= 2:
            out.setdefault(str(route_id), []).append(", ".join(points))
    return out
