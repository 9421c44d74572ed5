"""New datasets from a file, for staff (publish scope): ``POST /v1/dataset-proposals`` answers
the proposal for an uploaded CSV/XLSX (schema, mapping, geometry, unmapped columns and the
drafted dataset.toml), and ``PUT /v1/datasets/{id}/definition`` stores a confirmed
dataset.toml, after which ``POST /v1/datasets/{id}/versions`` publishes files to it.

Routes only translate; the rules are in ``hub.cocreation.dataset_drafts`` (and behind it
``etl.proposal``, the same as ``hub datasets new``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from hub.api.auth import PROBLEM_RESPONSES, PrincipalDep, problem_response, require
from hub.api.deps import BaseUrlDep
from hub.api.errors import UnreadableUpload
from hub.api.uploads import BadUpload, receive_upload
from hub.catalog import DatasetDefinition
from hub.cocreation.dataset_drafts import (
    DEFINE_ACTION,
    DefinitionExists,
    InvalidDraft,
    ReadError,
    define_dataset,
    propose_upload,
)
from hub.people.audit import AuditEntry
from hub.people.principal import Key, Principal
from hub.people.scopes import Scope
from hub.settings import Settings

router = APIRouter(prefix="/v1", tags=["publishing"])
NOT_PROPOSED = "not proposed"

_PROPOSAL_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": "The CSV or XLSX file, as the city has it."},
            "id": {"type": "string", "description": "Dataset id for the draft (default: "
                   "from the file name)."},
            "sheet": {"type": "string", "description": "XLSX sheet (default: the first)."},
            "schema": {"type": "string", "description": "Use this schema file instead of "
                       "the best match (a correction)."},
            "columns": {"type": "object",
                        "additionalProperties": {"type": ["string", "null"]},
                        "description": "A JSON object header -> field (null: leave "
                        "unmapped), replacing the proposed mapping for those headers (a "
                        "correction)."},
        },
    }, "encoding": {"columns": {"contentType": "application/json"}}}},
}

_DEFINITION_BODY = {
    "required": True,
    "content": {"application/toml": {"schema": {"type": "string"}}},
}


async def define_and_audit(request: Request, principal: Principal, dataset_id: str,
                           text: str) -> DatasetDefinition:
    """Write ``text`` as the dataset's definition (:func:`define_dataset`, in a worker
    thread) and record the attempt in the audit log, whether it was refused or not: the one
    path of the API's ``PUT .../definition`` and the console's confirm button."""

    def record(result: str, **detail: Any) -> None:
        request.app.state.people.record(AuditEntry.by(
            principal, DEFINE_ACTION, "dataset", dataset_id, result, **detail))

    try:
        definition = await anyio.to_thread.run_sync(
            define_dataset, request.app.state.settings, dataset_id, text)
    except (InvalidDraft, DefinitionExists) as exc:
        record("refused", error=str(exc))
        raise
    record("ok", schema=definition.schema_path.name)
    return definition


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _columns(text: str | None) -> dict[str, str | None] | None:
    """The `columns` part: a JSON object, as the document declares it (400 otherwise). What
    it names must be in the file and the schema, which the proposal checks (422)."""
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadUpload(f"columns is not JSON: {exc}") from exc
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()):
        raise BadUpload("columns must be a JSON object of header -> field name (or null)")
    return value


@router.post(
    "/dataset-proposals", summary="Propose a schema and dataset.toml for a file (publish)",
    responses={**PROBLEM_RESPONSES,
               200: {"description": "The proposal: `schema`, `mapping` (header, field, rule, "
                     "confidence), `geometry`, `unmapped`, `candidates` and `draft` (the "
                     "dataset.toml text)"},
               400: problem_response("Not a form with one `file`, or `columns` that is not "
                                     "a JSON object"),
               413: problem_response("The file passed HUB_MAX_UPLOAD_MB"),
               422: problem_response("The file cannot be read as a table (`errors` names "
                                     "the file and, where known, the line), or a correction "
                                     "names a schema, header or field that does not exist")},
    openapi_extra={"requestBody": _PROPOSAL_BODY},
)
async def propose_dataset(
    request: Request,
    _key: Annotated[Key, Depends(require(Scope.PUBLISH))],
) -> dict[str, Any]:
    """What `hub datasets new FILE` prints, as JSON; nothing is stored."""
    settings = _settings(request)
    upload = await receive_upload(request, settings.data_dir / "uploads",
                                  settings.max_upload_mb * 2**20)
    try:
        fields = upload.fields
        proposal = await anyio.to_thread.run_sync(
            lambda: propose_upload(settings, upload.path, dataset_id=fields.get("id") or None,
                                   sheet=fields.get("sheet") or None,
                                   schema=fields.get("schema") or None,
                                   columns=_columns(fields.get("columns"))))
    except ReadError as exc:
        raise UnreadableUpload(exc.file, exc.message, outcome=NOT_PROPOSED) from exc
    finally:
        upload.discard()
    return proposal.to_dict()


@router.put(
    "/datasets/{dataset_id}/definition",
    summary="Define a new dataset from a dataset.toml (publish)", status_code=201,
    responses={**PROBLEM_RESPONSES,
               201: {"description": "Defined: files can now be published to it"},
               409: problem_response("The dataset is already defined; nothing was changed"),
               422: problem_response("The dataset.toml does not load (`detail` says where "
                                     "and why)")},
    openapi_extra={"requestBody": _DEFINITION_BODY},
)
async def define(
    dataset_id: Annotated[str, Path(description="The new dataset's id (as in the TOML).")],
    request: Request,
    principal: PrincipalDep,
    base: BaseUrlDep,
    _key: Annotated[Key, Depends(require(Scope.PUBLISH, "dataset_id"))],
) -> JSONResponse:
    """The confirmed draft becomes `datasets/<id>/dataset.toml`; never overwrites one."""
    try:
        body = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidDraft("dataset.toml must be UTF-8 text") from exc

    definition = await define_and_audit(request, principal, dataset_id, body)
    versions = f"{base}/v1/datasets/{dataset_id}/versions"
    return JSONResponse({"id": dataset_id, "schema": definition.schema_path.name,
                         "links": {"versions": versions}}, status_code=201,
                        headers={"Location": f"{base}/v1/datasets/{dataset_id}/definition"})
