"""Contributions as JSON: pure functions of stored rows."""

from __future__ import annotations

import json
from typing import Any


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def changes_side_by_side(row: dict[str, Any]) -> list[dict[str, Any]]:
    """A correction's changed fields with the old value beside the new one."""
    previous = row.get("previous") or {}
    return [{"field": name, "old": previous.get(name), "new": value}
            for name, value in (row.get("proposed") or {}).items()]


def contribution_json(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    dataset, cid = row["dataset_id"], row["id"]
    geometry = row.get("geometry")
    body: dict[str, Any] = {
        "id": cid,
        "dataset": dataset,
        "kind": row["kind"],
        "key": row["record_key"],
        "status": row["status"],
        "comment": row["comment"],
        "source": row.get("source"),
        "display_name": row.get("display_name"),
        "licence": row["licence"],
        "base_version": row["base_version"],
        "geometry": json.loads(geometry) if isinstance(geometry, str) else geometry,
        "duplicates": row.get("duplicates") or [],
        "warnings": row.get("warnings") or [],
        "example": row.get("example", False),
        "created_at": _iso(row["created_at"]),
        "decision": None if row.get("decided_at") is None else {
            "status": "rejected" if row["status"] == "rejected" else "accepted",
            "reason": row["decision_reason"], "by": row["decided_by"],
            "at": _iso(row["decided_at"])},
        "published_version": row.get("published_version"),
        "links": [
            {"rel": "self", "href": f"{base_url}/v1/contributions/{cid}"},
            {"rel": "dataset", "href": f"{base_url}/v1/datasets/{dataset}"},
        ],
    }
    if row["kind"] == "new":
        body["record"] = row.get("proposed") or {}
    elif row["kind"] == "correction":
        body["changes"] = changes_side_by_side(row)
    else:
        body["reason"] = row.get("reason")
    if row.get("published_version") is not None:
        body["links"].append({"rel": "version", "href": f"{base_url}/v1/datasets/{dataset}/"
                              f"versions/{row['published_version']}"})
    return body
