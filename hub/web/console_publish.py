"""The console's publish: upload a file, read its validation report, then publish it.

Both steps are ``POST /v1/datasets/{id}/versions``'s own code
(``hub.api.publishing.publish_upload``: the one pipeline, its options, its audit entry).
Checking is that publish as a dry run; a file without errors is kept
(:mod:`hub.web.checked_files`) and publishing it is the same call without the dry run. A
refused or failed publish writes nothing: the previous version keeps serving.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse

from hub.api.errors import UnreadableUpload
from hub.api.publishing import publish_upload
from hub.api.uploads import BadUpload, UploadTooLarge, receive_upload
from hub.cocreation.publishing import PublishOutcome, UnknownDataset, definition_of
from hub.people.principal import Key, Principal
from hub.people.scopes import Scope
from hub.query.model import QueryError
from hub.settings import Settings
from hub.web import checked_files
from hub.web.console import staff_context
from hub.web.rendering import Portal, PortalDep, problem_page
from hub.web.session import CSRF_FIELD, CsrfChecked, CsrfRefused, check_csrf, signed_in_key

router = APIRouter(tags=["portal"], include_in_schema=False)

Publisher = Annotated[Key, Depends(signed_in_key(Scope.PUBLISH, dataset_parameter="dataset_id"))]
DatasetId = Annotated[str, Path(max_length=200)]
UPLOAD_ACCEPT = ".csv,.tsv,.txt,.xlsx,.zip"


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _uploads_dir(request: Request) -> Any:
    return _settings(request).data_dir / "uploads"


def _principal(request: Request, key: Key) -> Principal:
    """The session's key as the principal of the publish, named in its audit entry."""
    return Principal(request.client.host if request.client else None, key=key)


def _page(portal: Portal, request: Request, dataset_id: str, key: Key, *,
          outcome: PublishOutcome | None = None, ticket: str | None = None,
          problem: str | None = None, status_code: int = 200) -> HTMLResponse:
    report = outcome.report if outcome is not None else None
    return portal.render(request, "staff_upload.html", {
        **staff_context(key), "dataset_id": dataset_id, "accept": UPLOAD_ACCEPT,
        "outcome": outcome, "report": report, "ticket": ticket, "problem": problem,
        "max_mb": _settings(request).max_upload_mb,
    }, status_code=status_code)


@router.get("/staff/datasets/{dataset_id}/upload", response_class=HTMLResponse)
def upload_form(dataset_id: DatasetId, request: Request, portal: PortalDep,
                key: Publisher) -> HTMLResponse:
    try:
        definition_of(_settings(request), dataset_id)
    except UnknownDataset as exc:
        return problem_page(portal, request, 404, str(exc))
    return _page(portal, request, dataset_id, key)


@router.post("/staff/datasets/{dataset_id}/upload", response_class=HTMLResponse)
async def check_upload(dataset_id: DatasetId, request: Request, portal: PortalDep,
                       key: Publisher) -> HTMLResponse:
    """Stream the file (the API's upload code and limit), check the form's token, then run
    the publish as a dry run and show the report; a file without errors is kept for the
    publish button."""
    settings = _settings(request)
    try:
        definition = await anyio.to_thread.run_sync(definition_of, settings, dataset_id)
        upload = await receive_upload(request, _uploads_dir(request),
                                      settings.max_upload_mb * 2**20)
    except UnknownDataset as exc:
        return problem_page(portal, request, 404, str(exc))
    except UploadTooLarge as exc:
        return _page(portal, request, dataset_id, key, problem=str(exc), status_code=413)
    except BadUpload as exc:
        return _page(portal, request, dataset_id, key, problem=str(exc), status_code=400)
    try:
        await anyio.to_thread.run_sync(check_csrf, request, upload.fields.get(CSRF_FIELD))
    except CsrfRefused:
        upload.discard()
        raise
    try:
        outcome = await publish_upload(request, _principal(request, key), definition, upload,
                                       {"dry_run": "true"}, keep=True)
    except (UnreadableUpload, QueryError) as exc:
        upload.discard()
        return _page(portal, request, dataset_id, key, problem=_reason(exc), status_code=422)
    if outcome.refused is not None:
        upload.discard()
        return _page(portal, request, dataset_id, key, outcome=outcome, status_code=422)
    ticket = checked_files.keep(upload, _uploads_dir(request), key.id)
    return _page(portal, request, dataset_id, key, outcome=outcome, ticket=ticket)


@router.post("/staff/datasets/{dataset_id}/publish", response_class=HTMLResponse,
             dependencies=[CsrfChecked])
async def publish_checked(dataset_id: DatasetId, request: Request, portal: PortalDep,
                          key: Publisher, ticket: Annotated[str, Form()] = "") -> HTMLResponse:
    """Publish the file this key checked: the same call without the dry run."""
    settings = _settings(request)
    upload = checked_files.take(_uploads_dir(request), key.id, ticket)
    if upload is None:
        return _page(portal, request, dataset_id, key, status_code=410,
                     problem="this checked file is no longer here (published already, or "
                     "older than a day): upload it again")
    try:
        definition = await anyio.to_thread.run_sync(definition_of, settings, dataset_id)
        outcome = await publish_upload(request, _principal(request, key), definition, upload,
                                       {})
    except UnknownDataset as exc:
        upload.discard()
        return problem_page(portal, request, 404, str(exc))
    except (UnreadableUpload, QueryError) as exc:
        return _page(portal, request, dataset_id, key, problem=_reason(exc), status_code=422)
    return _page(portal, request, dataset_id, key, outcome=outcome,
                 status_code=422 if outcome.refused is not None else 200)


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnreadableUpload):
        return f"{exc.file}: {exc.message}"
    return getattr(exc, "detail", str(exc))
