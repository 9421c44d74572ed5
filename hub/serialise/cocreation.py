"""JSON of requests, showcases and reports: pure functions of stored rows.

Text is returned exactly as stored (plain text); JSON encoding is its escaping here, and
pages that show it escape it as HTML (docs/cocreation.md, "Text and markup").
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from hub.cocreation.requests import REASON_TEXT, ReasonCode

Row = dict[str, Any]


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _event_json(row: Row) -> Row:
    event: Row = {"status": row["status"], "at": _iso(row["at"]), "by": row["actor"],
                  "note": row["note"]}
    if row["reason_code"]:
        event["reason_code"] = row["reason_code"]
        event["reason"] = REASON_TEXT[ReasonCode(row["reason_code"])]
    if row["target_date"]:
        event["target_date"] = _iso(row["target_date"])
    if row["dataset_id"]:
        event["dataset"] = row["dataset_id"]
        event["version"] = row["version"]
    return event


def request_summary(row: Row, base: str) -> Row:
    """A request as lists show it."""
    answer: Row = {
        "id": row["id"], "title": row["title"], "status": row["status"],
        "votes": row["votes"], "organisation": row["organisation"], "author": row["author"],
        "created_at": _iso(row["created_at"]), "updated_at": _iso(row["updated_at"]),
        "example": row["example"], "href": f"{base}/v1/requests/{row['id']}",
    }
    if row["target_date"]:
        answer["target_date"] = _iso(row["target_date"])
    if row["dataset_id"]:
        answer["dataset"] = row["dataset_id"]
        answer["version"] = row["version"]
        answer["dataset_href"] = (f"{base}/v1/datasets/{row['dataset_id']}/versions/"
                                  f"{row['version']}")
    if row["reason_code"]:
        answer["reason_code"] = row["reason_code"]
    return answer


def request_json(row: Row, base: str) -> Row:
    """One request in full: what was asked, the status timeline (who answered and when),
    comments, and the showcases that answer it."""
    answer = request_summary(row, base)
    area: Any = json.loads(row["area_geojson"]) if row["area_geojson"] else row["municipality"]
    answer.update({
        "description": row["description"], "purpose": row["purpose"],
        "wanted": row["wanted"], "area": area,
        "timeline": [_event_json(e) for e in row["timeline"]],
        "comments": [comment_json(c) for c in row["comments"]],
        "followers": row["followers"],
        "showcases": [{"id": s["id"], "title": s["title"], "url": s["url"], "kind": s["kind"],
                       "href": f"{base}/v1/showcases/{s['id']}"} for s in row["showcases"]],
    })
    if "voted" in row:
        answer["voted"] = row["voted"]
    return answer


def comment_json(row: Row) -> Row:
    return {"id": row["id"], "request": row["request_id"], "author": row["author"],
            "text": row["text"], "created_at": _iso(row["created_at"])}


def suggestions_json(found: Row, base: str) -> Row:
    return {
        "datasets": [{"id": d["id"], "title_ja": d["title_ja"], "title_en": d["title_en"],
                      "similarity": round(float(d["similarity"]), 3),
                      "href": f"{base}/v1/datasets/{d['id']}"} for d in found["datasets"]],
        "requests": [{"id": r["id"], "title": r["title"], "status": r["status"],
                      "votes": r["votes"], "similarity": round(float(r["similarity"]), 3),
                      "href": f"{base}/v1/requests/{r['id']}"} for r in found["requests"]],
    }


def showcase_json(row: Row, base: str) -> Row:
    answer: Row = {
        "id": row["id"], "title": row["title"], "description": row["description"],
        "url": row["url"], "kind": row["kind"], "authors": row["authors"],
        "status": row["status"], "submitted_by": row["author"],
        "created_at": _iso(row["created_at"]), "example": row["example"],
        "datasets": [{**p, "href": f"{base}/v1/datasets/{p['dataset']}/versions/"
                      f"{p['version']}"} for p in row["datasets"]],
        "image": f"{base}/v1/showcases/{row['id']}/image" if row["has_image"] else None,
        "href": f"{base}/v1/showcases/{row['id']}",
    }
    if row["request_id"] is not None:
        answer["request"] = row["request_id"]
        answer["request_href"] = f"{base}/v1/requests/{row['request_id']}"
    if row["decided_at"] is not None:
        answer["decided_at"] = _iso(row["decided_at"])
        answer["decided_by"] = row["decided_by"]
        answer["reason"] = row["decision_reason"]
    return answer


def report_queue_json(row: Row) -> Row:
    return {"kind": row["item_type"], "id": row["item_id"], "reporters": row["reporters"],
            "reasons": sorted(row["reasons"]), "hidden": row["hidden"],
            "decision": row["decision"], "last_reported_at": _iso(row["last_reported_at"])}
