"""A webhook message: the thin JSON body and its Standard Webhooks signature headers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from standardwebhooks import Webhook

from hub.db.events import EVENT_TYPES


def body(event_type: str, payload: Mapping[str, Any], created_at: datetime,
         base_url: str) -> bytes:
    """``{"type", "timestamp", "data"}`` as Standard Webhooks suggests; ``data`` holds the
    event's ids and links to fetch the rest (thin payloads: nothing stale, nothing private)."""
    data = {**payload, "links": EVENT_TYPES[event_type].links(payload, base_url)}
    return orjson.dumps({"type": event_type, "timestamp": created_at.isoformat(),
                         "data": data})


def signed_headers(secret: str, message_id: str, sent_at: datetime, content: bytes
                   ) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with the endpoint's secret; the timestamp
    is the time of sending, so receivers can refuse old replays of a captured request."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, content),
        "content-type": "application/json",
    }
