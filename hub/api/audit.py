"""``GET /v1/audit``: the append-only record of writes, for admins, newest first."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request

from hub.api.auth import PROBLEM_RESPONSES, require
from hub.api.bounds import MAX_ID, Timestamp
from hub.api.deps import BaseUrlDep
from hub.data.people import People
from hub.people.audit import AuditFilter
from hub.people.principal import Key
from hub.people.scopes import Scope
from hub.serialise.people import audit_json

router = APIRouter(prefix="/v1", tags=["people"])


@router.get("/audit", summary="Read the audit log (admin)", responses=PROBLEM_RESPONSES)
def audit(
    request: Request,
    base: BaseUrlDep,
    _admin: Annotated[Key, Depends(require(Scope.ADMIN))],
    action: Annotated[str | None, Query(description="e.g. key.create, version.publish")] = None,
    key: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Id of the acting key.")
                   ] = None,
    object_type: Annotated[str | None, Query(description="e.g. key, version")] = None,
    object_id: Annotated[str | None, Query(description="e.g. 12, kobe-aed/3")] = None,
    since: Annotated[Timestamp | None, Query(description="Entries at or after (RFC 3339).")] = None,
    until: Annotated[Timestamp | None, Query(description="Entries before (RFC 3339).")] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID,
                                        description="Paging cursor: entries older than "
                                        "this id (the `next` link carries it).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    which = AuditFilter(action=action, key_id=key, object_type=object_type,
                        object_id=object_id, since=since, until=until, before_id=before,
                        limit=limit)
    people: People = request.app.state.people
    rows = people.audit(which)
    next_link = None
    if len(rows) == limit:
        params = {k: v for k, v in request.query_params.items() if k != "before"}
        params["before"] = str(rows[-1]["id"])
        next_link = f"{base}/v1/audit?{urlencode(params)}"
    return {"entries": [audit_json(r) for r in rows], "next": next_link}
