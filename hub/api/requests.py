"""Data requests over HTTP: file, list, read, vote, comment, follow, and staff moves.

Routes translate only: rules live in ``hub.cocreation.requests`` and ``.text``, storage,
audit entries and the ``request.status_changed`` event in ``hub.data.cocreation``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from hub.api.auth import Contributor, Moderator, PrincipalDep
from hub.api.bounds import JSON_INTEGER, MAX_ID, MAX_VERSION
from hub.api.cocreation import (
    CONFLICT,
    INVALID,
    NOT_FOUND,
    PENDING,
    TOO_LARGE,
    BodyLimit,
    StoreDep,
    actor_of,
    responses,
)
from hub.api.deps import BaseUrlDep
from hub.api.paging import next_page_url
from hub.catalog import DATASET_ID
from hub.cocreation.area import check_area
from hub.cocreation.requests import (
    MOVE_FIELDS,
    REASON_TEXT,
    SORTS,
    ReasonCode,
    RequestStatus,
    status_change,
)
from hub.cocreation.text import (
    SHORT_MAX,
    TEXT_MAX,
    TITLE_MAX,
    clean_optional,
    clean_text,
    text_schema,
)
from hub.data.cocreation import NewRequest
from hub.query.requests import RequestSearch, cursor_after, decode_after
from hub.serialise.cocreation import comment_json, request_json, request_summary, suggestions_json

router = APIRouter(prefix="/v1", tags=["co-creation"])

RequestId = Annotated[int, Path(ge=1, le=MAX_ID, description="A data request's id.")]


class Wanted(BaseModel):
    fields: list[str] = Field(default_factory=list, max_length=100,
                              description="The fields (columns) wanted.",
                              examples=[["name", "address", "wheelchair"]])
    period: str | None = Field(default=None, description="The period the data should cover "
                               "or how often it should be updated.", examples=["2020-2025"])


class RequestBody(BaseModel):
    title: str = Field(examples=["駐輪場の位置と台数"], json_schema_extra=text_schema(TITLE_MAX))
    description: str = Field(examples=["市内の駐輪場の位置、収容台数、料金を知りたい"],
                             json_schema_extra=text_schema(TEXT_MAX))
    purpose: str = Field(description="The purpose or use case.",
                         examples=["自転車通勤者向けの地図アプリ"],
                         json_schema_extra=text_schema(TEXT_MAX))
    wanted: Wanted | None = None
    area: dict[str, Any] | str | None = Field(
        default=None, description="A GeoJSON geometry (longitude, latitude) inside Japan, or "
        "a municipality's name.", examples=["渋谷区"],
        json_schema_extra=text_schema(SHORT_MAX))  # (pattern and lengths bind text only)
    organisation: str | None = Field(default=None, description="The organisation asked.",
                                     json_schema_extra=text_schema(SHORT_MAX, required=False))


class CommentBody(BaseModel):
    text: str = Field(json_schema_extra=text_schema(TEXT_MAX))


def _status_body_schema(schema: dict[str, Any]) -> None:
    """A move as OpenAPI states it: one alternative per status, each with the fields
    MOVE_FIELDS gives it and no other (status_change reads the same table)."""
    fields: dict[str, dict[str, Any]] = {
        "target_date": {"type": "string", "format": "date"},
        "dataset": {"type": "string", "pattern": DATASET_ID.pattern},
        "version": {"type": "integer", "minimum": 1, "maximum": MAX_VERSION},
        "reason_code": {"type": "string", "enum": [c.value for c in ReasonCode]},
    }
    alternatives = []
    for status, names in MOVE_FIELDS.items():
        properties = {"status": {"type": "string", "enum": [status.value]},
                      "note": {"type": "string", **text_schema(TEXT_MAX)},
                      **{n: fields[n] for n in names}}
        alternatives.append({"type": "object", "title": f"move to {status.value}",
                             "properties": properties, "required": ["status", "note", *names],
                             "additionalProperties": False})
    schema.clear()
    schema.update({"title": "StatusBody", "oneOf": alternatives})


class StatusBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_status_body_schema)

    status: str = Field(description="open, under-review, planned, published or declined")
    note: str | None = Field(default=None, description="Why; required for every move.")
    reason_code: str | None = Field(default=None, description="Declining: one of "
                                    "GET /v1/requests/reason-codes.")
    target_date: date | None = Field(default=None, description="Planning: when.")
    dataset: str | None = Field(default=None, pattern=DATASET_ID.pattern,
                                description="Publishing: the dataset.")
    version: Annotated[int, Field(ge=1, le=MAX_VERSION), JSON_INTEGER] | None = Field(
        default=None, description="Publishing: its version.")


def new_request(body: RequestBody) -> NewRequest:
    """A request body checked by the text and area rules (the API and the portal's form
    both file through this); :class:`InvalidInput` names the field at fault."""
    geometry, municipality = check_area(body.area)
    wanted: dict[str, Any] = {}
    if body.wanted is not None:
        wanted["fields"] = [clean_text("wanted.fields", f, SHORT_MAX)
                            for f in body.wanted.fields]
        period = clean_optional("wanted.period", body.wanted.period, SHORT_MAX)
        if period:
            wanted["period"] = period
    return NewRequest(
        title=clean_text("title", body.title, TITLE_MAX),
        description=clean_text("description", body.description, TEXT_MAX),
        purpose=clean_text("purpose", body.purpose, TEXT_MAX),
        wanted=wanted, area_geojson=geometry, municipality=municipality,
        organisation=clean_optional("organisation", body.organisation, SHORT_MAX))


@router.post("/requests", status_code=201, summary="File a data request",
             dependencies=[BodyLimit],
             responses=responses(INVALID, TOO_LARGE, PENDING))
def create_request(body: RequestBody, principal: PrincipalDep, key: Contributor,
                   store: StoreDep, base: BaseUrlDep) -> dict[str, Any]:
    """The answer suggests published datasets and open requests that look the same: vote
    for one of those instead of filing a duplicate."""
    new = new_request(body)
    request_id = store.file_request(new, actor_of(principal, key))
    answer = request_json(store.request(request_id, key.id), base)
    answer["suggestions"] = suggestions_json(
        store.suggestions(new.title, new.description, exclude=request_id), base)
    return answer


@router.get("/requests/reason-codes", summary="Why a request can be declined")
def reason_codes() -> dict[str, Any]:
    return {"reason_codes": [{"id": c.value, "text": t} for c, t in REASON_TEXT.items()]}


@router.get("/requests", summary="The request board: filters, facets, keyset pages",
            responses=responses({400: {"description": "Invalid cursor"}}))
def list_requests(
    request: Request, store: StoreDep, base: BaseUrlDep,
    status: Annotated[RequestStatus | None, Query()] = None,
    organisation: Annotated[str | None, Query()] = None,
    dataset: Annotated[str | None, Query(description="Requests answered by this dataset.")] = None,
    q: Annotated[str | None, Query(description="Words in the title or description (the "
                                   "catalogue's folding).")] = None,
    text: Annotated[str | None, Query(description="Alias of q.")] = None,
    sort: Annotated[str, Query(pattern="^(votes|newest|updated)$",
                               description="votes (default), newest or updated")] = "votes",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(description="From the `next` link.")] = None,
) -> dict[str, Any]:
    assert sort in SORTS
    search = RequestSearch(status=status, organisation=organisation, dataset=dataset,
                           q=q if q is not None else text, sort=sort, limit=limit,
                           after=decode_after(sort, cursor) if cursor else None)
    rows, facets, total = store.requests(search)
    next_url = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_url = next_page_url(f"{base}/v1/requests", request.query_params.multi_items(),
                                 cursor_after(sort, rows[-1]))
    return {"requests": [request_summary(r, base) for r in rows], "total": total,
            "facets": facets, "next": next_url}


@router.get("/requests/{request_id}", summary="One request with its status timeline",
            responses=responses(NOT_FOUND))
def get_request(request_id: RequestId, principal: PrincipalDep, store: StoreDep,
                base: BaseUrlDep) -> dict[str, Any]:
    viewer = principal.key.id if principal.key else None
    return request_json(store.request(request_id, viewer), base)


@router.post("/requests/{request_id}/votes", summary="Vote for a request (idempotent)",
             responses=responses(NOT_FOUND, CONFLICT))
def vote(request_id: RequestId, principal: PrincipalDep, key: Contributor,
         store: StoreDep) -> dict[str, Any]:
    votes = store.vote(request_id, actor_of(principal, key))
    return {"id": request_id, "votes": votes, "voted": True}


@router.delete("/requests/{request_id}/votes", summary="Withdraw your vote",
               responses=responses(NOT_FOUND))
def unvote(request_id: RequestId, principal: PrincipalDep, key: Contributor,
           store: StoreDep) -> dict[str, Any]:
    votes = store.vote(request_id, actor_of(principal, key), withdraw=True)
    return {"id": request_id, "votes": votes, "voted": False}


@router.post("/requests/{request_id}/followers", summary="Follow a request",
             responses=responses(NOT_FOUND))
def follow(request_id: RequestId, principal: PrincipalDep, key: Contributor,
           store: StoreDep) -> dict[str, Any]:
    """Followers are named in each ``request.status_changed`` event's ``notify`` list."""
    return {"id": request_id, "following": store.follow(request_id, actor_of(principal, key))}


@router.delete("/requests/{request_id}/followers", summary="Stop following a request",
               responses=responses(NOT_FOUND))
def unfollow(request_id: RequestId, principal: PrincipalDep, key: Contributor,
             store: StoreDep) -> dict[str, Any]:
    return {"id": request_id,
            "following": store.follow(request_id, actor_of(principal, key), stop=True)}


@router.post("/requests/{request_id}/comments", status_code=201, summary="Comment",
             dependencies=[BodyLimit], responses=responses(NOT_FOUND, INVALID, TOO_LARGE))
def comment(request_id: RequestId, body: CommentBody, principal: PrincipalDep,
            key: Contributor, store: StoreDep) -> dict[str, Any]:
    text = clean_text("text", body.text, TEXT_MAX)
    return comment_json(store.comment(request_id, text, actor_of(principal, key)))


@router.post("/requests/{request_id}/status", summary="Move a request (staff)",
             dependencies=[BodyLimit],
             responses=responses(NOT_FOUND, INVALID, CONFLICT, TOO_LARGE))
def change_status(request_id: RequestId, body: StatusBody, principal: PrincipalDep,
                  key: Moderator, store: StoreDep, base: BaseUrlDep) -> dict[str, Any]:
    """Each move carries a note; declining a reason code and text; planning a target
    date; publishing the dataset and version that answer the request. The requester and
    followers are told by the ``request.status_changed`` webhook event."""
    change = status_change(body.status, body.note, body.reason_code, body.target_date,
                           body.dataset, body.version)
    store.change_status(request_id, change, actor_of(principal, key))
    return request_json(store.request(request_id, key.id), base)
