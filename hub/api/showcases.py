"""Showcases (reuses) over HTTP: submit with pinned versions, an image, staff decisions,
and the lists (approved showcases; a dataset's showcases)."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from hub.api.auth import Contributor, Moderator, PrincipalDep, problem_response
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
from hub.api.deps import BaseUrlDep, DataDep, SettingsDep
from hub.cocreation.errors import PayloadTooLarge
from hub.cocreation.images import check_image
from hub.cocreation.showcases import (
    MAX_AUTHORS,
    MAX_DATASETS,
    Decision,
    ShowcaseKind,
    ShowcaseStatus,
)
from hub.cocreation.text import (
    SHORT_MAX,
    TEXT_MAX,
    TITLE_MAX,
    URL_PATTERN,
    clean_optional,
    clean_text,
    clean_url,
    text_schema,
)
from hub.data.cocreation import CoCreation, NewShowcase
from hub.data.core import NotFound
from hub.people.principal import Key, Principal
from hub.people.scopes import Scope, grants
from hub.serialise.cocreation import showcase_json

router = APIRouter(prefix="/v1", tags=["co-creation"])

ShowcaseId = Annotated[int, Path(ge=1, le=MAX_ID, description="A showcase's id.")]
IMAGE = {415: problem_response("The upload is not a PNG, JPEG or WebP image"),
         413: problem_response("The image is larger than HUB_COCREATION_MAX_IMAGE_BYTES")}


class Pin(BaseModel):
    dataset: str = Field(json_schema_extra=text_schema(SHORT_MAX))
    version: Annotated[int, Field(ge=1, le=MAX_VERSION), JSON_INTEGER] = Field(
        description="The version used: pinned, so a citation is reproducible.")


class ShowcaseBody(BaseModel):
    title: str = Field(json_schema_extra=text_schema(TITLE_MAX))
    url: str = Field(examples=["https://example.jp/barrier-free-map"],
                     json_schema_extra={**text_schema(SHORT_MAX), "pattern": URL_PATTERN})
    kind: ShowcaseKind
    description: str = Field(json_schema_extra=text_schema(TEXT_MAX))
    authors: list[str] = Field(default_factory=list, max_length=MAX_AUTHORS,
                               json_schema_extra={"items": text_schema(SHORT_MAX,
                                                                       required=False)})
    datasets: list[Pin] = Field(min_length=1, max_length=MAX_DATASETS)
    request: Annotated[int, Field(ge=1, le=MAX_ID), JSON_INTEGER] | None = Field(
        default=None, description="The data request it answers.")


class DecisionBody(BaseModel):
    decision: Decision
    reason: str | None = Field(default=None, description="Required to reject.",
                               json_schema_extra=text_schema(TEXT_MAX, required=False))


def _is_staff(principal: Principal) -> bool:
    return principal.key is not None and grants(principal.key.scopes, Scope.MODERATE)


def new_showcase(body: ShowcaseBody) -> NewShowcase:
    """A showcase body checked by the text rules (the API and the portal's form both submit
    through this); :class:`InvalidInput` names the field at fault."""
    pins = list(dict.fromkeys((clean_text("datasets.dataset", p.dataset, SHORT_MAX), p.version)
                              for p in body.datasets))
    return NewShowcase(
        title=clean_text("title", body.title, TITLE_MAX),
        description=clean_text("description", body.description, TEXT_MAX),
        url=clean_url("url", body.url), kind=body.kind.value,
        authors=[a for a in (clean_optional("authors", a, SHORT_MAX) for a in body.authors)
                 if a],
        pins=pins, request=body.request)


def store_image(store: CoCreation, showcase_id: int, data: bytes, limit: int,
                principal: Principal, key: Key) -> None:
    """Check that ``data`` is an accepted image (decoded, never judged by name) and store it
    as the showcase's image (the API's upload and the portal's form)."""
    media_type = check_image(data, limit)
    store.set_showcase_image(showcase_id, data, media_type, actor_of(principal, key),
                             _is_staff(principal))


@router.post("/showcases", status_code=201, summary="Submit a showcase (listed once approved)",
             dependencies=[BodyLimit], responses=responses(INVALID, TOO_LARGE, PENDING))
def create_showcase(body: ShowcaseBody, principal: PrincipalDep, key: Contributor,
                    store: StoreDep, base: BaseUrlDep) -> dict[str, Any]:
    showcase_id = store.submit_showcase(new_showcase(body), actor_of(principal, key))
    return showcase_json(store.showcase(showcase_id), base)


@router.put("/showcases/{showcase_id}/image", summary="Upload the showcase's image",
            openapi_extra={"requestBody": {"required": True, "content": {
                m: {"schema": {"type": "string", "format": "binary"}}
                for m in ("image/png", "image/jpeg", "image/webp")}}},
            responses=responses(NOT_FOUND, CONFLICT, IMAGE))
async def upload_image(showcase_id: ShowcaseId, request: Request, principal: PrincipalDep,
                       key: Contributor, store: StoreDep, settings: SettingsDep,
                       base: BaseUrlDep) -> dict[str, Any]:
    """The raw image as the body. Checked by decoding it, never by name or Content-Type."""
    limit = settings.cocreation_max_image_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the image is {declared} bytes; at most {limit} are accepted",
                              "image")
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > limit:
            break

    def store_it() -> dict[str, Any]:
        store_image(store, showcase_id, bytes(data), limit, principal, key)
        return showcase_json(store.showcase(showcase_id), base)

    return await anyio.to_thread.run_sync(store_it)


@router.get("/showcases/{showcase_id}/image", summary="The showcase's image",
            response_class=Response, responses=responses(NOT_FOUND))
def image(showcase_id: ShowcaseId, principal: PrincipalDep, store: StoreDep) -> Response:
    data, media_type = store.showcase_image(showcase_id, _is_staff(principal))
    return Response(data, media_type=media_type,
                    headers={"X-Content-Type-Options": "nosniff",
                             "Content-Security-Policy": "default-src 'none'"})


@router.get("/showcases", summary="Approved showcases (staff: any status)",
            responses=responses())
def list_showcases(
    principal: PrincipalDep, store: StoreDep, base: BaseUrlDep,
    status: Annotated[ShowcaseStatus, Query(description="Staff only, other than approved.")
                      ] = ShowcaseStatus.APPROVED,
) -> dict[str, Any]:
    if status is not ShowcaseStatus.APPROVED:
        principal.require(Scope.MODERATE)
    return {"showcases": [showcase_json(r, base) for r in store.showcases(status)]}


@router.get("/showcases/{showcase_id}", summary="One showcase",
            responses=responses(NOT_FOUND))
def get_showcase(showcase_id: ShowcaseId, principal: PrincipalDep, store: StoreDep,
                 base: BaseUrlDep) -> dict[str, Any]:
    """Pending and rejected showcases are shown to staff and to the key that submitted them."""
    row = store.showcase(showcase_id)
    mine = principal.key is not None and principal.key.id == row["key_id"]
    if row["status"] != ShowcaseStatus.APPROVED.value and not (mine or _is_staff(principal)):
        raise NotFound(f"no showcase {showcase_id}")
    return showcase_json(row, base)


@router.post("/showcases/{showcase_id}/decision", summary="Approve or reject (staff)",
             dependencies=[BodyLimit],
             responses=responses(NOT_FOUND, INVALID, CONFLICT, TOO_LARGE))
def decide_showcase(showcase_id: ShowcaseId, body: DecisionBody, principal: PrincipalDep,
                    key: Moderator, store: StoreDep, base: BaseUrlDep) -> dict[str, Any]:
    store.decide_showcase(showcase_id, body.decision, body.reason, actor_of(principal, key))
    return showcase_json(store.showcase(showcase_id), base)


@router.get("/datasets/{dataset_id}/showcases", summary="Approved showcases using a dataset",
            responses=responses(NOT_FOUND))
def dataset_showcases(dataset_id: str, data: DataDep, store: StoreDep,
                      base: BaseUrlDep) -> dict[str, Any]:
    data.dataset(dataset_id)  # 404 for an unknown dataset
    rows = store.showcases(ShowcaseStatus.APPROVED, dataset_id)
    return {"id": dataset_id,
            "showcases": [showcase_json(r, base) for r in rows]}

