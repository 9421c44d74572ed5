"""Publish and withdraw over HTTP: ``POST /v1/datasets/{id}/versions`` (a file) and
``POST /v1/datasets/{id}/versions/{n}/withdraw``, for keys with the ``publish`` scope on the
dataset.

Routes only translate: the upload is streamed to disk (``hub.api.uploads``), the publish and
the withdrawal run in ``hub.cocreation.publishing`` (the one publish pipeline, in a worker
thread: it reads, validates and COPYs synchronously), and every request that passed the key
check leaves one audit entry, whatever its end.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from hub.api.auth import PROBLEM_RESPONSES, PrincipalDep, problem_response, require
from hub.api.bounds import MAX_VERSION
from hub.api.deps import BaseUrlDep
from hub.api.downloads import get_exporter
from hub.api.errors import PublishRefused, UnreadableUpload
from hub.api.uploads import BadUpload, Upload, UploadTooLarge, receive_upload
from hub.catalog import INVALID_OPTIONAL_POLICIES, DatasetDefinition
from hub.cocreation.city_publish import CommunityRows
from hub.cocreation.publishing import (
    PUBLISH_ACTION,
    WITHDRAW_ACTION,
    PublishAudit,
    PublishOutcome,
    ReadError,
    UnknownDataset,
    WithdrawRefused,
    definition_of,
    failed_publish_audit,
    publish_audit,
    publish_file,
    publish_options,
    withdraw_audit,
    withdraw_version,
)
from hub.cocreation.text import SHORT_MAX, clean_text, text_schema
from hub.data import Gone, NotFound
from hub.people.audit import AuditEntry
from hub.people.principal import Key, Principal
from hub.people.scopes import Scope
from hub.query.model import QueryError
from hub.query.values import parse_flag
from hub.settings import Settings

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["publishing"])

FLAG_DESCRIPTIONS = {
    "dry_run": "Validate and report; write nothing (200).",
    "skip_invalid": "Publish the valid rows only; the report lists the skipped ones.",
    "force": "Publish even when the content equals the current version.",
}
FLAG_OPTIONS = tuple(FLAG_DESCRIPTIONS)


class WithdrawRequest(BaseModel):
    """The reason is text shown to every client of the version, so it carries the rules of
    :func:`clean_text` (no control characters: a NUL cannot even be stored)."""
    reason: str = Field(description="Why; shown with every 410 Gone answer for the version.",
                        examples=["contained personal phone numbers"],
                        json_schema_extra=text_schema(SHORT_MAX))


_UPLOAD_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": "The file, as for `hub publish` (CSV, XLSX, GTFS zip); "
                     "its name is kept (sanitised) for the report."},
            **{name: {"type": "boolean", "description": FLAG_DESCRIPTIONS[name]
                      + " Also accepted as a query parameter."} for name in FLAG_OPTIONS},
            "on_invalid_optional": {"type": "string", "enum": list(INVALID_OPTIONAL_POLICIES),
                                    "description": "An invalid optional cell (default: the "
                                    "dataset's). Also accepted as a query parameter."},
        },
    }}},
}

PUBLISH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    200: {"description": "A dry run, or content equal to the current version (`status` "
          "says which): nothing was written"},
    201: {"description": "Published: the new version (`Location`) and the report"},
    400: problem_response("Not a multipart form with one `file`, or an invalid option "
                          "(`parameter` names it)"),
    404: problem_response("No dataset with this id is defined"),
    413: problem_response("The file passed HUB_MAX_UPLOAD_MB; nothing was kept"),
    422: problem_response("Refused: `errors` lists each problem (file, row, column, value, "
                          "rule, message), `report` the whole validation report; the previous "
                          "version keeps serving"),
}

WITHDRAW_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    409: problem_response("Unknown dataset or version, or the version is already withdrawn"),
    422: problem_response("The reason breaks a text rule (empty, control characters, "
                          "length); `detail` names it"),
}


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _record(request: Request, principal: Principal, action: str, audit: PublishAudit) -> None:
    request.app.state.people.record(AuditEntry.by(
        principal, action, audit.object_type, audit.object_id, audit.result, **audit.detail))


def _options(request: Request, fields: dict[str, str]) -> dict[str, Any]:
    """The caller's choices from form fields or query parameters (400 if both disagree)."""
    chosen: dict[str, Any] = {}
    for name in (*FLAG_OPTIONS, "on_invalid_optional"):
        given = {v for v in (fields.get(name), request.query_params.get(name)) if v is not None}
        if len(given) > 1:
            raise QueryError(f"{name} is given twice with different values", name)
        if not given:
            continue
        text = given.pop()
        if name == "on_invalid_optional":
            if text not in INVALID_OPTIONAL_POLICIES:
                raise QueryError(f"on_invalid_optional {text!r} is not one of "
                                 f"{', '.join(INVALID_OPTIONAL_POLICIES)}", name)
            chosen[name] = text
            continue
        try:
            chosen[name] = parse_flag(text)
        except ValueError as exc:
            raise QueryError(f"{name}: {exc}", name) from exc
    return chosen


def outcome_json(outcome: PublishOutcome, base: str) -> dict[str, Any]:
    """A publish outcome as every publish route answers it (upload or contributions)."""
    body = outcome.to_dict()
    body["errors"] = [issue.to_dict() for issue in outcome.report.errors]
    if outcome.version is not None:
        body["links"] = {"version": f"{base}/v1/datasets/{outcome.dataset_id}/versions/"
                                    f"{outcome.version}"}
    return body


async def publish_upload(request: Request, principal: Principal,
                         definition: DatasetDefinition, upload: Upload, fields: dict[str, str],
                         *, keep: bool = False) -> PublishOutcome:
    """Publish a received file with the caller's options (``fields``, or the query) through
    ``hub.cocreation.publishing``, and record the request's one audit entry whatever the
    end. The upload is discarded unless ``keep`` (the portal keeps a checked file until
    staff publish it). Raises :class:`QueryError` (an option), :class:`UnreadableUpload`,
    or the publish's own failure after its transaction rolled back."""
    settings = _settings(request)

    def refused(exc: Exception, result: str = "refused") -> None:
        _record(request, principal, PUBLISH_ACTION, failed_publish_audit(
            definition.id, upload.path.name, str(exc), result=result))

    try:
        options = publish_options(settings, **_options(request, fields))
        outcome = await anyio.to_thread.run_sync(
            lambda: publish_file(request.app.state.engine, definition, upload.path, options,
                                 publisher=principal.actor,
                                 community=_community_rows(request, definition.id)))
    except QueryError as exc:
        refused(exc)
        raise
    except ReadError as exc:
        refused(exc)
        raise UnreadableUpload(exc.file, exc.message) from exc
    except Exception as exc:  # the publish's transaction has rolled back
        refused(exc, result="failed")
        raise
    finally:
        if not keep:
            upload.discard()
    _record(request, principal, PUBLISH_ACTION, publish_audit(outcome))
    return outcome


@router.post(
    "/datasets/{dataset_id}/versions", summary="Publish a file as the next version (publish)",
    status_code=201, responses=PUBLISH_RESPONSES, openapi_extra={"requestBody": _UPLOAD_BODY},
)
async def publish_version(
    dataset_id: Annotated[str, Path(description="Dataset id, as in `hub publish`.")],
    request: Request,
    principal: PrincipalDep,
    base: BaseUrlDep,
    _key: Annotated[Key, Depends(require(Scope.PUBLISH, "dataset_id"))],
    # The options are documented once, as form fields (_UPLOAD_BODY); the same names in the
    # query string are accepted too, and two different values for one option are a 400.
    dry_run: Annotated[str | None, Query(include_in_schema=False)] = None,
    skip_invalid: Annotated[str | None, Query(include_in_schema=False)] = None,
    force: Annotated[str | None, Query(include_in_schema=False)] = None,
    on_invalid_optional: Annotated[str | None, Query(include_in_schema=False)] = None,
) -> JSONResponse:
    """The same pipeline, options and report as `hub publish`; nothing is half-published."""
    settings = _settings(request)

    def refused(source: str | None, exc: Exception, result: str = "refused") -> None:
        _record(request, principal, PUBLISH_ACTION,
                failed_publish_audit(dataset_id, source, str(exc), result=result))

    try:  # before the body is read: an unknown dataset costs no upload
        definition = await anyio.to_thread.run_sync(definition_of, settings, dataset_id)
        upload = await receive_upload(request, settings.data_dir / "uploads",
                                      settings.max_upload_mb * 2**20)
    except (UnknownDataset, UploadTooLarge, BadUpload) as exc:
        refused(None, exc)
        raise
    outcome = await publish_upload(request, principal, definition, upload, upload.fields)
    body = outcome_json(outcome, base)
    if outcome.refused is not None:
        raise PublishRefused(body, outcome.refused)
    if outcome.status != "published":
        return JSONResponse(jsonable_encoder(body), status_code=200)
    return JSONResponse(jsonable_encoder(body), status_code=201,
                        headers={"Location": body["links"]["version"]},
                        background=BackgroundTask(build_files, request, dataset_id,
                                                  outcome.version))


def build_files(request: Request, dataset_id: str, version: int | None) -> None:
    """After the answer is sent: the new version's bulk files and PMTiles archives, so the
    first download does not wait for them and tiles move to the archive. A failure is logged
    and changes nothing: files are built on first request, tiles stay live until then."""
    data = request.app.state.data
    try:
        published = data.version(dataset_id, version)
        get_exporter(request).ensure(data.dataset(dataset_id), published)
    except Exception:
        logger.exception("building the files of %s v%s after its publish failed",
                         dataset_id, version)


@router.post(
    "/datasets/{dataset_id}/versions/{version}/withdraw",
    summary="Withdraw a version (publish)", responses=WITHDRAW_RESPONSES,
)
async def withdraw_version_route(
    dataset_id: str,
    version: Annotated[int, Path(ge=1, le=MAX_VERSION)],
    body: WithdrawRequest,
    request: Request,
    principal: PrincipalDep,
    base: BaseUrlDep,
    _key: Annotated[Key, Depends(require(Scope.PUBLISH, "dataset_id"))],
) -> dict[str, Any]:
    """As `hub withdraw`: pinned URLs answer 410 Gone with the reason, the metadata stays
    listed, the bulk files are deleted and `latest` moves back to the newest version left."""
    settings = _settings(request)
    reason = clean_text("reason", body.reason, SHORT_MAX)
    try:
        result = await anyio.to_thread.run_sync(
            withdraw_version, settings, request.app.state.engine, dataset_id, version,
            reason)
    except WithdrawRefused as exc:
        _record(request, principal, WITHDRAW_ACTION,
                withdraw_audit(dataset_id, version, reason, error=str(exc)))
        raise
    _record(request, principal, WITHDRAW_ACTION, withdraw_audit(dataset_id, version, reason))
    return {**result.to_dict(),
            "links": {"version": f"{base}/v1/datasets/{dataset_id}/versions/{version}"}}


def _community_rows(request: Request, dataset_id: str) -> CommunityRows | None:
    """The current version's community rows, which the upload keeps or drops as the dataset
    declares; None when there is no current version or it has none."""
    try:
        version = request.app.state.data.version(dataset_id, None)
    except (NotFound, Gone):
        return None
    return request.app.state.contributions.community_rows(version)
