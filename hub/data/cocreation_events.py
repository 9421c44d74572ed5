"""PLACEHOLDER until branch ``events`` is merged: announce a co-creation event.

``announce`` will be replaced by ``hub.db.events.emit`` (the webhook outbox, written in the
caller's transaction). Until then it records nothing, so no webhook can fire.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection


def announce(conn: Connection, event_type: str, payload: Mapping[str, Any]) -> str | None:
    """PLACEHOLDER: ``hub.db.events.emit`` once the events branch is on main."""
    del conn, event_type, payload
    return None
