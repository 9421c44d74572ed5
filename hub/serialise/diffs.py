"""Diff pages as CSV (pure): one line per changed value, so spreadsheets can filter them.

Columns: ``change`` (added / removed / changed), the key columns (the primary key, or
``_row`` and ``version`` for whole-row diffs), ``field``, ``old``, ``new``. An added or
removed row has one line per field (only ``new`` or ``old`` filled).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def diff_csv(changes: list[dict[str, Any]], key_columns: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["change", *key_columns, "field", "old", "new"])
    for item in changes:
        key = [_cell(item["key"].get(k)) for k in key_columns]
        if item["change"] == "changed":
            for name, values in item["fields"].items():
                writer.writerow([item["change"], *key, name, _cell(values["old"]),
                                 _cell(values["new"])])
        else:
            for name, value in (item.get("record") or {}).items():
                old, new = (value, None) if item["change"] == "removed" else (None, value)
                writer.writerow([item["change"], *key, name, _cell(old), _cell(new)])
    return buffer.getvalue().encode("utf-8")
