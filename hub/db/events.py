"""Events the hub announces (Standard Webhooks), and ``emit``, the one way to announce one.

:data:`EVENT_TYPES` is the one table of event types: the webhooks API accepts only these
names, ``docs/webhooks.md`` lists them (a test checks), and each says which links a payload
gets. Payloads are thin (ids only); the sender adds the links when it builds the body, so
an event stored today is still right when ``HUB_PUBLIC_URL`` changes.

``emit`` lives at the ``hub.db`` layer on purpose: it must run inside the transaction of the
change it announces (the outbox pattern: the event exists if and only if the change
committed), and the code that makes those changes (``etl`` publish and withdraw, co-creation
moderation) may import ``hub.db``. Version events need no call at all: a trigger on
``hub.changes`` (migration usage_and_webhooks) emits them from the change feed that every
publish and withdrawal already writes in its transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, text


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    links: Callable[[Mapping[str, Any], str], dict[str, str]]


def _version_links(payload: Mapping[str, Any], base: str) -> dict[str, str]:
    dataset = f"{base}/v1/datasets/{payload['dataset']}"
    return {"dataset": dataset, "version": f"{dataset}/versions/{payload['version']}",
            "records": f"{dataset}/versions/{payload['version']}/records",
            "changes": f"{base}/v1/changes"}


def _request_links(payload: Mapping[str, Any], base: str) -> dict[str, str]:
    return {"request": f"{base}/v1/requests/{payload['request']}"}


def _showcase_links(payload: Mapping[str, Any], base: str) -> dict[str, str]:
    return {"showcase": f"{base}/v1/showcases/{payload['showcase']}"}


def _contribution_links(payload: Mapping[str, Any], base: str) -> dict[str, str]:
    return {"contribution": f"{base}/v1/contributions/{payload['contribution']}",
            "dataset": f"{base}/v1/datasets/{payload['dataset']}"}


EVENT_TYPES: dict[str, EventType] = {e.name: e for e in (
    EventType("version.published",
              "A new version of a dataset was published. Payload: dataset, version, change.",
              _version_links),
    EventType("version.withdrawn",
              "A version was withdrawn (its pinned URLs now answer 410). Payload: dataset, "
              "version, change, reason.", _version_links),
    EventType("request.status_changed",
              "A data request moved to another status. Payload: request, status, "
              "previous_status, note, reason_code, target_date, dataset, version, requester "
              "and notify (key ids of the requester and followers).",
              _request_links),
    EventType("showcase.decided",
              "Staff approved or rejected a showcase. Payload: showcase, decision, submitter "
              "(key id).", _showcase_links),
    EventType("contribution.decided",
              "A moderator accepted or rejected a contribution. Payload: contribution, "
              "dataset, decision (accepted or rejected), reason, kind, key.",
              _contribution_links),
)}


class UnknownEventType(ValueError):
    """An event name that is not in :data:`EVENT_TYPES`."""


def check_event_types(names: list[str]) -> list[str]:
    """The names, de-duplicated in order; :class:`UnknownEventType` naming the first unknown."""
    for name in names:
        if name not in EVENT_TYPES:
            raise UnknownEventType(f"unknown event type {name!r}; known: "
                                   + ", ".join(EVENT_TYPES))
    return list(dict.fromkeys(names))


def emit(conn: Connection, event_type: str, payload: Mapping[str, Any]) -> str:
    """Queue ``event_type`` for every subscribed endpoint, in ``conn``'s transaction; returns
    the event id (the ``webhook-id`` receivers see). Sending happens later, in the worker, so
    a slow or failing receiver can never hold up or fail the caller."""
    check_event_types([event_type])
    return conn.execute(
        text("SELECT hub.emit_event(:type, CAST(:payload AS jsonb))"),
        {"type": event_type, "payload": orjson.dumps(dict(payload)).decode()},
    ).scalar_one()
