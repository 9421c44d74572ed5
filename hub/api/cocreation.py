"""What the co-creation routes share: the store, the acting key, the body-size guard, and
the OpenAPI entries of their refusals."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Request

from hub.api.auth import PROBLEM_RESPONSES, problem_response
from hub.cocreation.errors import PayloadTooLarge
from hub.data.cocreation import Actor, CoCreation
from hub.people.audit import AuditEntry
from hub.people.principal import Key, Principal
from hub.settings import Settings


async def _store(request: Request) -> CoCreation:
    return request.app.state.cocreation


StoreDep = Annotated[CoCreation, Depends(_store)]


def actor_of(principal: Principal, key: Key) -> Actor:
    """The acting key as co-creation records it: id, display name, audit entries."""
    return Actor(key.id, key.name, partial(AuditEntry.by, principal))


async def limit_body(request: Request) -> None:
    """Refuse a body over ``HUB_COCREATION_MAX_BODY_BYTES`` with 413, by its declared length
    and by what arrived (a chunked body declares none)."""
    settings: Settings = request.app.state.settings
    limit = settings.cocreation_max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {declared} bytes; at most {limit} are accepted")
    size = len(await request.body())
    if size > limit:
        raise PayloadTooLarge(f"the body is {size} bytes; at most {limit} are accepted")


BodyLimit = Depends(limit_body)

NOT_FOUND = {404: problem_response("No such item (or it is hidden while reported)")}
INVALID = {422: problem_response("The body breaks a rule; `detail` says which and `field` "
                                 "names the field")}
TOO_LARGE = {413: problem_response("The body is larger than HUB_COCREATION_MAX_BODY_BYTES")}
CONFLICT = {409: problem_response("The item's state does not allow this (e.g. a vote on a "
                                  "closed request, a decision already taken)")}
PENDING = {429: problem_response("Quota used up, or the key already has "
                                 "HUB_COCREATION_PENDING_PER_KEY items waiting for staff "
                                 "(`type` too-many-pending)")}


def responses(*extra: dict[int, Any]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of a co-creation route: the keyed-route ones plus ``extra``."""
    merged: dict[int | str, dict[str, Any]] = dict(PROBLEM_RESPONSES)
    for entry in extra:
        merged.update(entry)
    return merged
