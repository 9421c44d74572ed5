"""Webhook representations (pure). The endpoint secret is never part of them."""

from __future__ import annotations

from typing import Any


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def endpoint_json(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    url = f"{base_url}/v1/webhooks/{row['id']}"
    return {
        "id": row["id"], "url": row["url"], "events": list(row["events"]),
        "active": row["active"], "disabled_reason": row["disabled_reason"],
        "failure_count": row["failure_count"], "created_at": _iso(row["created_at"]),
        "created_by": row["created_by"],
        "links": [{"rel": "self", "href": url, "type": "application/json"},
                  {"rel": "deliveries", "href": f"{url}/deliveries",
                   "type": "application/json"}],
    }


def delivery_json(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    url = f"{base_url}/v1/webhooks/{row['endpoint_id']}/deliveries/{row['id']}"
    return {
        "id": row["id"], "webhook": row["endpoint_id"], "event_id": row["event_id"],
        "event_type": row["event_type"], "payload": row["payload"], "status": row["status"],
        "attempts": row["attempts"],
        "next_attempt_at": _iso(row["next_attempt_at"]) if row["status"] == "pending" else None,
        "last_attempt_at": _iso(row["last_attempt_at"]),
        "last_status_code": row["last_status_code"], "last_error": row["last_error"],
        "last_response": row["last_response"], "delivered_at": _iso(row["delivered_at"]),
        "created_at": _iso(row["created_at"]),
        "links": [{"rel": "replay", "href": f"{url}/replay", "method": "POST"}],
    }
