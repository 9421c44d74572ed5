"""Contributions to records: propose (``contribute``), moderate (``moderate``), publish the
accepted ones into the next version (``publish``), and see one's own.

Routes stay thin: the rules are ``hub.cocreation`` (the body, the check on arrival with the
ETL's own preparation, the publish through the one pipeline), the storage
``hub.data.contributions``. Nothing here imports ``etl``.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from hub.api.auth import PROBLEM_RESPONSES, PrincipalDep, problem_response, require
from hub.api.bounds import MAX_ID
from hub.api.caching import conditional, representation, version_tags
from hub.api.cocreation import limit_body
from hub.api.deps import BaseUrlDep, DataDep, SettingsDep
from hub.api.errors import PublishRefused
from hub.api.publishing import outcome_json
from hub.api.v1 import DatasetId, VersionRef, version_number
from hub.catalog import load_definition
from hub.cocreation.contribution_publishing import publish_contributions
from hub.cocreation.contributions import (
    DECISIONS,
    DISPLAY_NAME_MAX,
    KINDS,
    SOURCE_FIELDS,
    STATUSES,
    decided_status,
    parse_proposal,
)
from hub.cocreation.errors import InvalidInput
from hub.cocreation.provenance import CITY
from hub.cocreation.publishing import PUBLISH_ACTION, PublishAudit
from hub.cocreation.submission import submission
from hub.cocreation.text import SHORT_MAX, TEXT_MAX, text_schema
from hub.data import Data
from hub.data.contributions import Contributions
from hub.people.audit import AuditEntry
from hub.people.principal import Key, Principal
from hub.people.scopes import Scope
from hub.serialise.contributions import contribution_json
from hub.settings import Settings

router = APIRouter(prefix="/v1", tags=["contributions"])


async def _store(request: Request) -> Contributions:
    return request.app.state.contributions


StoreDep = Annotated[Contributions, Depends(_store)]
# What OpenAPI can state of a proposal; the rest (the record's fields against the
# dataset's Table Schema, coordinates inside Japan) depends on the dataset and is checked
# on arrival (422 listing each field and rule).
FEATURE_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["type", "geometry", "properties"],
    "properties": {"type": {"enum": ["Feature"]}, "geometry": {"type": "object"},
                   "properties": {"type": "object"}}}
_SOURCE_TEXT = {"type": "string", **text_schema(SHORT_MAX, required=False)}
PROPOSAL_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["kind", "comment", "licence_consent"],
    "properties": {
        "kind": {"enum": list(KINDS)}, "licence_consent": {"enum": [True]},
        "comment": {"type": "string", **text_schema(TEXT_MAX)},
        "display_name": {"type": "string", **text_schema(DISPLAY_NAME_MAX, required=False)},
        "reason": {"type": "string", **text_schema(SHORT_MAX)},
        "key": {"type": "string", "minLength": 1}, "feature": FEATURE_SCHEMA,
        "changes": {"type": "object"}, "geometry": {"type": "object"},
        "source": {"anyOf": [_SOURCE_TEXT, {  # a string is what the source is
            "type": "object", "properties": {name: _SOURCE_TEXT for name in SOURCE_FIELDS},
            "additionalProperties": False}]}},
    "additionalProperties": False}
# A moderator's decision as `decided_status` reads it: every decision says why.
DECISION_SCHEMA: dict[str, Any] = {
    "required": ["decision", "reason"],
    "properties": {"decision": {"enum": list(DECISIONS)},
                   "reason": {"type": "string", **text_schema(SHORT_MAX)}}}
# The create operation as the OGC document (/ogc/api) declares it, next to the route it
# describes so the two cannot drift: OpenAPI 3.0, self-contained (no references into the
# native document). The native document describes the same route through FastAPI.
OGC_CREATE_ITEM: dict[str, Any] = {
    "summary": "Propose a new record (moderated; a key with the contribute scope)",
    "parameters": [
        {"name": "licence_consent", "in": "query", "required": False,
         "description": "Must be true: the record is republished under the dataset's "
                        "licence.", "schema": {"type": "boolean", "enum": [True]}},
        {"name": "comment", "in": "query", "required": False,
         "description": "Why, for the moderator.",
         "schema": {"type": "string", **text_schema(TEXT_MAX)}},
        {"name": "display_name", "in": "query", "required": False,
         "description": "Name to be credited.",
         "schema": {"type": "string", **text_schema(DISPLAY_NAME_MAX, required=False)}}],
    "requestBody": {"required": True,
                    "content": {"application/geo+json": {"schema": FEATURE_SCHEMA}}},
    "responses": {
        "202": {"description": "A pending contribution; `Location` names it",
                "content": {"application/json": {"schema": {"type": "object"}}}},
        **{code: {"description": description,
                  "content": {"application/problem+json": {"schema": {"type": "object"}}}}
           for code, description in (
               ("400", "Invalid parameter, or not the current collection"),
               ("401", "No key, or an unknown one"), ("403", "The key may not contribute"),
               ("404", "No such collection"), ("413", "The body is too large"),
               ("422", "The proposal breaks the dataset's rules; `errors` lists them"),
               ("429", "Quota used up, or too many contributions waiting"))}},
}
StatusName = Literal[STATUSES]  # type: ignore[valid-type]
ContributionId = Annotated[int, Path(ge=1, le=MAX_ID, description="A contribution's id.")]


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    known = {
        404: problem_response("No such dataset or contribution"),
        409: problem_response("The contribution's state does not allow this"),
        413: problem_response("The body is larger than HUB_COCREATION_MAX_BODY_BYTES"),
        422: problem_response("The contribution breaks rules; `errors` lists each field "
                              "and rule, nothing was stored"),
        429: problem_response("Quota used up, or HUB_CONTRIBUTIONS_PENDING_PER_KEY "
                              "contributions of this key are waiting (`too-many-pending`)"),
    }
    return {**PROBLEM_RESPONSES, **{c: known[c] for c in codes}}


PROPOSAL_EXAMPLE = {
    "kind": "new",
    "feature": {"type": "Feature",
                "geometry": {"type": "Point", "coordinates": [139.7016, 35.6580]},
                "properties": {"name": "バリアフリー喫茶", "step_free": "○"}},
    "comment": "開店したばかりの段差のない喫茶店",
    "source": {"what": "店頭で確認", "where": "渋谷駅前", "when": "2026-12-01"},
    "display_name": "Aiko",
    "licence_consent": True,
}


def submit_proposal(dataset_id: str, body: Any, principal: Principal, key: Key, data: Data,
                    settings: Settings, store: Contributions) -> dict[str, Any]:
    """Parse, check on arrival and store one proposal against the current version, audited
    as the key (the API and the portal's form both submit through this). Raises
    :class:`InvalidContribution` listing every field and rule; nothing is stored then."""
    proposal = parse_proposal(body)
    version = data.version(dataset_id, None)
    definition = load_definition(dataset_id, settings.datasets_dir, settings.schemas_dir)
    prepared = submission(definition, version, proposal, store, key_id=key.id)
    return store.submit(prepared.values, prepared.geometry_wkt, lambda r: AuditEntry.by(
        principal, "contribution.create", "contribution", str(r["id"]),
        dataset=dataset_id, kind=r["kind"], key=r["record_key"]))


@router.post("/datasets/{dataset_id}/contributions", status_code=201,
             summary="Propose a new record, a correction or a removal",
             dependencies=[Depends(limit_body)],
             responses=_responses(404, 413, 422, 429))
def propose(
    dataset_id: str,
    principal: PrincipalDep,
    key: Annotated[Key, Depends(require(Scope.CONTRIBUTE, "dataset_id"))],
    data: DataDep,
    settings: SettingsDep,
    store: StoreDep,
    base: BaseUrlDep,
    body: Annotated[Any, Body(openapi_examples={"new": {"value": PROPOSAL_EXAMPLE}},
                              json_schema_extra=PROPOSAL_SCHEMA)],
) -> JSONResponse:
    """Checked on arrival by the same preparation as a published file (``○`` is a yes,
    full-width digits are normalised, swapped coordinates are fixed or refused); a refusal
    lists each field and rule in `errors` and stores nothing. New records near a similar one
    are stored with the candidates in `duplicates` for the moderator."""
    row = submit_proposal(dataset_id, body, principal, key, data, settings, store)
    answer = contribution_json(row, base)
    return JSONResponse(answer, status_code=201,
                        headers={"Location": answer["links"][0]["href"]})


@router.get("/contributions", summary="The moderation queue (moderate)",
            responses=_responses())
def queue(
    principal: PrincipalDep,
    store: StoreDep,
    base: BaseUrlDep,
    request: Request,
    status: Annotated[StatusName | None, Query(description="pending, accepted, rejected or "
                                               "published")] = "pending",
    dataset: Annotated[str | None, Query(description="Only this dataset's.")] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID,
                                        description="Paging cursor (the `next` link).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Corrections show each changed field with its old and new value side by side."""
    rows = moderation_queue(store, principal, status, dataset, before, limit)
    return _page(rows, limit, request, base)


def moderation_queue(store: Contributions, principal: Principal, status: str | None,
                     dataset: str | None, before: int | None, limit: int
                     ) -> list[dict[str, Any]]:
    """The contributions a moderator may see (the API's queue and the staff console): the
    moderate scope, and only the datasets of a key limited to some."""
    principal.require(Scope.MODERATE, dataset)
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"'status' must be one of {', '.join(STATUSES)}", "status")
    rows = store.page(status=status, dataset=dataset, before_id=before, limit=limit)
    key = principal.key
    if key is not None and key.datasets is not None:  # a moderator limited to datasets
        rows = [r for r in rows if r["dataset_id"] in key.datasets]
    return rows


@router.get("/me/contributions", summary="What I proposed, and its state",
            responses=_responses())
def mine(
    principal: PrincipalDep,
    store: StoreDep,
    base: BaseUrlDep,
    request: Request,
    status: Annotated[StatusName | None, Query()] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    key = principal.require(Scope.CONTRIBUTE)
    rows = store.page(status=status, key_id=key.id, before_id=before, limit=limit)
    return _page(rows, limit, request, base)


@router.get("/contributions/{contribution_id}", summary="One contribution",
            responses=_responses(404))
def one(contribution_id: ContributionId, principal: PrincipalDep, store: StoreDep,
        base: BaseUrlDep) -> dict[str, Any]:
    """Its contributor and moderators may read it."""
    row = store.get(contribution_id)
    if principal.key is None or row["key_id"] != principal.key.id:
        principal.require(Scope.MODERATE, row["dataset_id"])
    return contribution_json(row, base)


@router.post("/contributions/{contribution_id}/decision",
             summary="Accept or reject a contribution, with a reason (moderate)",
             dependencies=[Depends(limit_body)], responses=_responses(404, 409, 413, 422))
def decide(
    contribution_id: ContributionId,
    principal: PrincipalDep,
    store: StoreDep,
    base: BaseUrlDep,
    body: Annotated[dict[str, Any], Body(openapi_examples={"accept": {"value": {
        "decision": "accept", "reason": "確認しました"}}}, json_schema_extra=DECISION_SCHEMA)],
) -> dict[str, Any]:
    """The contributor's integrations hear of it through the `contribution.decided` webhook."""
    decided = decide_contribution(store, principal, contribution_id, body.get("decision"),
                                  body.get("reason"))
    return contribution_json(decided, base)


def decide_contribution(store: Contributions, principal: Principal, contribution_id: int,
                        decision: Any, reason: Any) -> dict[str, Any]:
    """A moderator's decision with its reason (the API's route and the staff console): the
    moderate scope on the contribution's dataset, only pending ones, audited and announced
    in one transaction."""
    row = store.get(contribution_id)
    key = principal.require(Scope.MODERATE, row["dataset_id"])
    status, text = decided_status(row["status"], decision, reason)
    return store.decide(contribution_id, status, text, f"key:{key.id}", partial(
        _audit, principal, "contribution.decide", decision=status, reason=text))


@router.post("/datasets/{dataset_id}/contributions/publish", status_code=201,
             summary="Publish the accepted contributions as the next version (publish)",
             responses=_responses(404, 409, 422))
def publish(
    dataset_id: str,
    request: Request,
    principal: PrincipalDep,
    _key: Annotated[Key, Depends(require(Scope.PUBLISH, "dataset_id"))],
    data: DataDep,
    settings: SettingsDep,
    store: StoreDep,
    base: BaseUrlDep,
) -> Response:
    """The current version plus every accepted contribution, through the one publish
    pipeline: atomic, and refused as a whole when the result fails validation (422, the
    same answer as a refused upload)."""
    version = data.version(dataset_id, None)
    definition = load_definition(dataset_id, settings.datasets_dir, settings.schemas_dir)
    people = request.app.state.people

    def audit(entry: PublishAudit) -> None:
        people.record(AuditEntry.by(principal, PUBLISH_ACTION, entry.object_type,
                                    entry.object_id, entry.result, **entry.detail))

    # Published as the publishing role: the API's own role cannot create a version table.
    publishing = Contributions(request.app.state.engine, store.pending_per_key)
    outcome, ids = publish_contributions(definition, version, publishing,
                                         publisher=principal.actor, audit=audit)
    body = {**outcome_json(outcome, base), "contributions": ids}
    if outcome.refused is not None:
        raise PublishRefused(body, outcome.refused)
    return JSONResponse(jsonable_encoder(body),
                        status_code=201 if outcome.status == "published" else 200)


def _audit(principal: Any, action: str, row: dict[str, Any], **detail: Any) -> AuditEntry:
    return AuditEntry.by(principal, action, "contribution", str(row["id"]),
                         dataset=row["dataset_id"], **detail)


def _page(rows: list[dict[str, Any]], limit: int, request: Request,
          base: str) -> dict[str, Any]:
    next_link = None
    if len(rows) == limit:
        params = {k: v for k, v in request.query_params.items() if k != "before"}
        params["before"] = str(rows[-1]["id"])
        next_link = f"{base}{request.url.path}?{urlencode(params)}"
    return {"contributions": [contribution_json(r, base) for r in rows], "next": next_link}


@router.get("/datasets/{dataset_id}/versions/{version}/provenance",
            summary="Which rows of a version came from the community, and from whom",
            responses=_responses(404))
def provenance(dataset_id: DatasetId, version: VersionRef, data: DataDep,
               request: Request) -> Response:
    """Rows not listed came from the city's file (`default_source`). A version's provenance
    never changes, so a pinned answer is cached like the version itself."""
    number = version_number(version)
    published = data.version(dataset_id, number)
    body = {"dataset": dataset_id, "version": published.version, "default_source": CITY,
            **(published.meta.get("provenance") or {})}
    pinned = number is not None
    validator = representation(published.content_sha256, request, "provenance", pinned=pinned,
                               tags=version_tags(dataset_id, published.version, pinned=pinned))
    return conditional(request, validator, lambda: JSONResponse(body))


ogc_router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])


@ogc_router.post("/collections/{collection_id}/items", status_code=202,
                 summary="Propose a new record from a GIS tool (OGC API - Features Part 4 "
                 "style; moderated)",
                 dependencies=[Depends(limit_body)],
                 responses=_responses(404, 413, 422, 429))
def ogc_create_item(
    collection_id: str,
    principal: PrincipalDep,
    data: DataDep,
    settings: SettingsDep,
    store: StoreDep,
    base: BaseUrlDep,
    body: Annotated[Any, Body(media_type="application/geo+json",
                              json_schema_extra=FEATURE_SCHEMA)],
    licence_consent: Annotated[bool, Query(
        description="Must be true: the record is republished under the dataset's "
        "licence.", json_schema_extra={"enum": [True]})] = False,
    comment: Annotated[str, Query(description="Why, for the moderator.",
                                  json_schema_extra=text_schema(TEXT_MAX))] =
        "Proposed through OGC API - Features (create)",
    display_name: Annotated[str | None, Query(
        description="Name to be credited.",
        json_schema_extra=text_schema(DISPLAY_NAME_MAX, required=False))] = None,
) -> JSONResponse:
    """A GeoJSON Feature becomes a pending ``new`` contribution, checked on arrival like
    one sent to `/v1/datasets/{id}/contributions`; the answer is 202 with `Location` at the
    contribution, since the record exists only once a moderator accepts it and it is
    published. Only the current collection (the dataset id alone) takes new items. The
    hub does not declare the Part 4 conformance class: replacing, updating and deleting
    items are not offered (corrections and removals go through `/v1`)."""
    if "@" in collection_id or "." in collection_id:
        raise InvalidInput("new items go to the dataset's current collection "
                           f"('{collection_id.split('@')[0].split('.')[0]}'), not a pinned "
                           "version or a layer", "collection_id")
    key = principal.require(Scope.CONTRIBUTE, collection_id)
    proposal = parse_proposal({"kind": "new", "feature": body, "comment": comment,
                               "licence_consent": licence_consent,
                               **({"display_name": display_name} if display_name else {})})
    version = data.version(collection_id, None)
    definition = load_definition(collection_id, settings.datasets_dir, settings.schemas_dir)
    prepared = submission(definition, version, proposal, store, key_id=key.id)
    row = store.submit(prepared.values, prepared.geometry_wkt, lambda r: AuditEntry.by(
        principal, "contribution.create", "contribution", str(r["id"]),
        dataset=collection_id, kind="new", via="ogc"))
    answer = contribution_json(row, base)
    return JSONResponse(answer, status_code=202,
                        headers={"Location": answer["links"][0]["href"]})
