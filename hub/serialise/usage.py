"""Usage statistics representations (pure): stored rows -> JSON-ready dicts and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from hub.usage.counter import DOWNLOAD, RECORDS, TILES

DAILY_COLUMNS = ("day", "dataset", "version", "kind", "format", "requests", "records",
                 "clients")
TOTAL_COLUMNS = ("version", "api_requests", "records_served", "tile_requests", "downloads",
                 "client_days")


def _empty(version: int | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"api_requests": 0, "records_served": 0, "tile_requests": 0,
                             "downloads": {}, "client_days": 0}
    return entry if version is None else {"version": version, **entry}


def _add(entry: dict[str, Any], row: dict[str, Any]) -> None:
    requests, records = int(row["requests"]), int(row["records"])
    if row["kind"] == RECORDS:
        entry["api_requests"] += requests
        entry["records_served"] += records
    elif row["kind"] == TILES:
        entry["tile_requests"] += requests
    elif row["kind"] == DOWNLOAD:
        entry["downloads"][row["format"]] = entry["downloads"].get(row["format"], 0) + requests


def totals_json(dataset_id: str, rows: Iterable[dict[str, Any]], clients: dict[int, int],
                links: list[dict[str, str]]) -> dict[str, Any]:
    """Totals of a dataset over all days, overall and per version. ``client_days`` sums each
    day's distinct clients: one client using the data on three days counts three."""
    total = _empty(None)
    versions: dict[int, dict[str, Any]] = {}
    for row in rows:
        _add(total, row)
        _add(versions.setdefault(row["version"], _empty(row["version"])), row)
    for version, count in clients.items():
        versions.setdefault(version, _empty(version))["client_days"] = count
        total["client_days"] += count
    return {"dataset": dataset_id, "totals": total,
            "versions": [versions[v] for v in sorted(versions)], "links": links}


def daily_json(dataset_id: str, rows: Iterable[dict[str, Any]],
               links: list[dict[str, str]]) -> dict[str, Any]:
    """One entry per (day, version, kind, format); ``clients`` is that day's distinct clients
    of the (dataset, version), repeated on each of its kinds."""
    return {"dataset": dataset_id, "days": [_daily_entry(r) for r in rows], "links": links}


def _daily_entry(row: dict[str, Any]) -> dict[str, Any]:
    return {"day": row["day"].isoformat(), "version": row["version"], "kind": row["kind"],
            "format": row["format"] or None, "requests": int(row["requests"]),
            "records": int(row["records"]), "clients": int(row["clients"])}


def daily_csv(rows: Iterable[dict[str, Any]]) -> bytes:
    """The per-day rows as CSV (UTF-8), one line per (day, dataset, version, kind, format)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(DAILY_COLUMNS)
    for row in rows:
        writer.writerow([row["day"].isoformat(), row["dataset_id"], row["version"],
                         row["kind"], row["format"], row["requests"], row["records"],
                         row["clients"]])
    return buffer.getvalue().encode()


def totals_csv(totals: dict[str, Any]) -> bytes:
    """The per-version totals as CSV; downloads as ``format=count`` pairs."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(TOTAL_COLUMNS)
    for entry in totals["versions"]:
        downloads = " ".join(f"{k}={v}" for k, v in sorted(entry["downloads"].items()))
        writer.writerow([entry["version"], entry["api_requests"], entry["records_served"],
                         entry["tile_requests"], downloads, entry["client_days"]])
    return buffer.getvalue().encode()
