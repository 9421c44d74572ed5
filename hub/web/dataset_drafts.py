"""The console's "new dataset from a file" (``/staff/datasets/new``): upload a CSV/XLSX, see
the proposed schema, mapping, geometry and unmapped columns, correct them with selects, and
download the drafted dataset.toml or create the dataset so that the next upload publishes it.

Pages call what the API calls (``hub.cocreation.dataset_drafts``: the proposal, the definition
and its audit entry); the file waits between pages in :class:`KeptUploads`, owned by the
signed-in key. Every form is CSRF-checked before anything is written.
"""

from __future__ import annotations

import tomllib
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.api.dataset_drafts import define_and_audit
from hub.api.uploads import BadUpload, UploadTooLarge, receive_upload
from hub.cocreation.dataset_drafts import (
    Choices,
    DefinitionExists,
    InvalidDraft,
    KeptUploads,
    Proposal,
    ProposalError,
    ReadError,
    UnknownDraft,
    propose_upload,
)
from hub.people.principal import Forbidden, Key
from hub.people.scopes import Scope
from hub.web.console import staff_context
from hub.web.rendering import PortalDep, problem_page
from hub.web.session import CSRF_FIELD, CsrfChecked, SignedIn, check_csrf, signed_in_key

router = APIRouter(tags=["portal"], include_in_schema=False)
StaffKey = Annotated[Key, Depends(signed_in_key(Scope.PUBLISH))]
NEW = "/staff/datasets/new"
UNMAPPED = ""


def _kept(request: Request) -> KeptUploads:
    return KeptUploads(request.app.state.settings)


def _form_page(portal: PortalDep, request: Request, key: Key, status: int = 200,
               problem: str | None = None) -> HTMLResponse:
    return portal.render(request, "dataset_new.html",
                         {**staff_context(key), "problem": problem}, status_code=status)


@router.get(NEW, response_class=HTMLResponse)
def new_dataset_form(request: Request, portal: PortalDep, key: StaffKey) -> HTMLResponse:
    """Step 1: the upload form."""
    return _form_page(portal, request, key)


@router.post(NEW, response_class=HTMLResponse)
async def upload_for_proposal(request: Request, portal: PortalDep, key: StaffKey) -> Response:
    """Step 2: keep the file (CSRF checked once the form has arrived) and show its proposal."""
    settings = request.app.state.settings
    try:
        upload = await receive_upload(request, settings.data_dir / "uploads",
                                      settings.max_upload_mb * 2**20)
    except (BadUpload, UploadTooLarge) as exc:
        status = 413 if isinstance(exc, UploadTooLarge) else 400
        return _form_page(portal, request, key, status, str(exc))
    try:
        check_csrf(request, upload.fields.get(CSRF_FIELD))
        draft_id = await anyio.to_thread.run_sync(_kept(request).keep, upload.path, key.id)
    finally:
        upload.discard()
    choices = Choices(dataset_id=upload.fields.get("id") or None)
    return await _proposal_page(request, portal, key, draft_id, choices)


@router.post(NEW + "/{draft_id}", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def correct_proposal(request: Request, portal: PortalDep, key: StaffKey,
                           draft_id: str) -> Response:
    """Step 3 (as often as needed): the proposal again, with the corrections of the form."""
    kept = _kept(request)
    try:
        before = await anyio.to_thread.run_sync(kept.choices, draft_id, key.id)
    except UnknownDraft as exc:
        return problem_page(portal, request, 404, str(exc))
    form = await request.form()
    choices = corrected_choices(before, {k: v for k, v in form.items() if isinstance(v, str)})
    return await _proposal_page(request, portal, key, draft_id, choices)


def corrected_choices(before: Choices, form: dict[str, str]) -> Choices:
    """The choices after a correction form: a column's select counts only where it differs
    from what the page proposed (``proposed-<i>``), so the rules keep deciding the rest; a
    new schema starts the column choices afresh (its fields are others)."""
    schema = form.get("schema") or before.schema
    columns = {} if schema != before.schema and before.schema is not None else dict(
        before.columns)
    if schema == before.schema or before.schema is None:
        index = 0
        while f"header-{index}" in form:
            header, chosen = form[f"header-{index}"], form.get(f"column-{index}", UNMAPPED)
            if chosen != form.get(f"proposed-{index}", UNMAPPED):
                columns[header] = chosen or None
            index += 1
    return Choices(schema=schema, dataset_id=form.get("id") or before.dataset_id,
                   columns=columns)


async def _proposal_page(request: Request, portal: PortalDep, key: Key, draft_id: str,
                         choices: Choices, status: int = 200,
                         problem: str | None = None) -> HTMLResponse:
    settings = request.app.state.settings
    kept = _kept(request)

    def proposed() -> Proposal:
        file = kept.file(draft_id, key.id)
        proposal = propose_upload(settings, file, dataset_id=choices.dataset_id,
                                  schema=choices.schema, columns=choices.columns or None)
        kept.remember(draft_id, key.id, choices, proposal.draft)
        return proposal

    try:
        proposal = await anyio.to_thread.run_sync(proposed)
    except UnknownDraft as exc:
        return problem_page(portal, request, 404, str(exc))
    except ReadError as exc:
        await anyio.to_thread.run_sync(kept.discard, draft_id, key.id)
        return _form_page(portal, request, key, 422, f"{exc.file}: {exc.message}")
    except ProposalError as exc:  # a correction naming nothing in the file: as the API
        return problem_page(portal, request, 422, str(exc))
    return portal.render(request, "dataset_proposal.html", {
        **staff_context(key), "draft_id": draft_id, "proposal": proposal,
        "field_of": {m.header: m for m in proposal.chosen.matches},
        "schemas": [c.schema for c in proposal.candidates], "problem": problem,
    }, status_code=status)


@router.get(NEW + "/{draft_id}/dataset.toml")
def download_draft(request: Request, portal: PortalDep, key: StaffKey,
                   draft_id: str) -> Response:
    """The draft as shown, as a file to keep or edit."""
    try:
        text = _kept(request).draft(draft_id, key.id)
    except UnknownDraft as exc:
        return problem_page(portal, request, 404, str(exc))
    return Response(text, media_type="application/toml; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="dataset.toml"'})


@router.post(NEW + "/{draft_id}/create", response_class=HTMLResponse,
             dependencies=[CsrfChecked])
async def create_dataset(request: Request, portal: PortalDep, key: StaffKey,
                         principal: SignedIn, draft_id: str) -> Response:
    """Step 4: the draft becomes the dataset's definition (as ``PUT
    /v1/datasets/{id}/definition``, with its audit entry), and the kept file goes."""
    kept = _kept(request)
    try:
        choices = await anyio.to_thread.run_sync(kept.choices, draft_id, key.id)
        text = await anyio.to_thread.run_sync(kept.draft, draft_id, key.id)
    except UnknownDraft as exc:
        return problem_page(portal, request, 404, str(exc))
    dataset_id = _draft_id_of(text)
    try:
        principal.require(Scope.PUBLISH, dataset_id)
    except Forbidden as exc:
        return problem_page(portal, request, 403, exc.detail)

    try:
        await define_and_audit(request, principal, dataset_id, text)
    except (InvalidDraft, DefinitionExists) as exc:
        status = 409 if isinstance(exc, DefinitionExists) else 422
        return await _proposal_page(request, portal, key, draft_id, choices, status, str(exc))
    await anyio.to_thread.run_sync(kept.discard, draft_id, key.id)
    return RedirectResponse(f"{NEW}/created/{dataset_id}", status_code=303)


@router.get(NEW + "/created/{dataset_id}", response_class=HTMLResponse)
def dataset_created(request: Request, portal: PortalDep, key: StaffKey,
                    dataset_id: str) -> HTMLResponse:
    """What to do next: publish a file to the new dataset."""
    defined = (request.app.state.settings.datasets_dir / dataset_id / "dataset.toml")
    if not defined.is_file():
        return problem_page(portal, request, 404, f"no dataset {dataset_id!r} is defined")
    return portal.render(request, "dataset_created.html",
                         {**staff_context(key), "dataset_id": dataset_id})


def _draft_id_of(text: str) -> str:
    try:
        return str(tomllib.loads(text).get("id", ""))
    except tomllib.TOMLDecodeError:
        return ""
