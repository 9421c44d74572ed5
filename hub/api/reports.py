"""Reports over HTTP: anyone with a key reports an item; moderators see the queue and
decide. The rule (hidden at three distinct keys until reviewed) is ``hub.cocreation.reports``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from hub.api.auth import Contributor, Moderator, PrincipalDep
from hub.api.cocreation import (
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    BodyLimit,
    StoreDep,
    actor_of,
    responses,
)
from hub.cocreation.reports import ItemKind, Review
from hub.cocreation.text import SHORT_MAX, TEXT_MAX, clean_optional, clean_text, text_schema
from hub.serialise.cocreation import report_queue_json

router = APIRouter(prefix="/v1", tags=["co-creation"])



# Every reportable item is numbered (requests, comments, showcases and contributions have
# integer ids); the id travels as text, since a report names it as text in the audit log.
ITEM_ID = Field(description="The item's id: its number.", examples=["12"],
                pattern=r"^[1-9][0-9]{0,18}$")


class ReportBody(BaseModel):
    kind: ItemKind = Field(description="request, comment, showcase or contribution")
    id: str = ITEM_ID
    reason: str = Field(examples=["spam"], json_schema_extra=text_schema(SHORT_MAX))


class ReviewBody(BaseModel):
    kind: ItemKind
    id: str = ITEM_ID
    decision: Review = Field(description="keep: show it again; remove: keep it hidden")
    note: str | None = Field(default=None, json_schema_extra=text_schema(TEXT_MAX,
                                                                         required=False))


@router.post("/reports", status_code=201, summary="Report an item (abuse, spam, wrong)",
             dependencies=[BodyLimit], responses=responses(NOT_FOUND, INVALID, TOO_LARGE))
def report(body: ReportBody, principal: PrincipalDep, key: Contributor,
           store: StoreDep) -> dict[str, Any]:
    """One report per key and item; an item reported by enough distinct keys
    (``hub.cocreation.reports.HIDE_AT``) is hidden until a moderator reviews it."""
    reason = clean_text("reason", body.reason, SHORT_MAX)
    hidden = store.report(body.kind, body.id, reason, actor_of(principal, key))
    return {"kind": body.kind.value, "id": body.id, "hidden": hidden}


@router.get("/reports", summary="Reported items, hidden first (staff)",
            responses=responses())
def report_queue(store: StoreDep, _key: Moderator,
                 kind: Annotated[ItemKind | None, Query()] = None,
                 hidden: Annotated[bool, Query(description="Only hidden items.")] = False,
                 ) -> dict[str, Any]:
    return {"reports": [report_queue_json(r) for r in store.report_queue(kind, hidden)]}


@router.post("/reports/review", summary="Keep or remove a reported item (staff)",
             dependencies=[BodyLimit], responses=responses(NOT_FOUND, INVALID, TOO_LARGE))
def review(body: ReviewBody, principal: PrincipalDep, key: Moderator,
           store: StoreDep) -> dict[str, Any]:
    note = clean_optional("note", body.note, TEXT_MAX)
    row = store.review(body.kind, body.id, body.decision, note,
                       actor_of(principal, key))
    return {"kind": row["item_type"], "id": row["item_id"], "hidden": row["hidden"],
            "decision": row["decision"]}
