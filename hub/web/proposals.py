"""Propose a record from the portal, and see what became of one's proposals.

The form (:mod:`hub.web.forms`) is the dataset's schema; the submitted form becomes the API's
JSON body and goes through :func:`hub.api.contributions.submit_proposal`, the function
``POST /v1/datasets/{id}/contributions`` calls, as the signed-in key (``contribute`` scope,
checked by the session's ``signed_in_key``, the form's token by ``CsrfChecked``). A refusal
is the API's ``InvalidContribution``, each problem shown beside the input it names; nothing
is stored then. "My proposals" is ``/v1/me/contributions`` as a page.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.api.cocreation import BodyLimit
from hub.api.contributions import StoreDep as ContributionsDep
from hub.api.contributions import submit_proposal
from hub.api.deps import DataDep, SettingsDep
from hub.catalog import DatasetDefinition, DefinitionError, PublishedVersion, load_definition
from hub.cocreation.contributions import InvalidContribution
from hub.cocreation.errors import Refused
from hub.data import Data, Gone, NotFound
from hub.people.principal import Key
from hub.people.scopes import Scope
from hub.settings import Settings
from hub.web import views
from hub.web.forms import (
    COMMENT,
    CONSENT,
    DISPLAY_NAME,
    POINT_INPUT,
    SOURCE,
    field_errors,
    proposal_body,
    record_form,
)
from hub.web.rendering import PortalDep, problem_page
from hub.web.session import CsrfChecked, SignedIn, signed_in_key, visitor

router = APIRouter(tags=["portal"], include_in_schema=False)

MY_PROPOSALS_PAGE = 100
Contributor = Annotated[Key, Depends(signed_in_key(Scope.CONTRIBUTE,
                                                   dataset_parameter="dataset_id"))]
AnyContributor = Annotated[Key, Depends(signed_in_key(Scope.CONTRIBUTE))]


def _dataset(data: Data, settings: Settings, dataset_id: str
             ) -> tuple[dict[str, Any], PublishedVersion, DatasetDefinition]:
    """The dataset, its current version and its definition (which the check on arrival
    reads); NotFound when any is missing, as the API's 404."""
    dataset = data.dataset(dataset_id)
    version = data.version(dataset_id, None)
    try:
        definition = load_definition(dataset_id, settings.datasets_dir, settings.schemas_dir)
    except DefinitionError:
        raise NotFound(f"dataset '{dataset_id}' takes no proposals here") from None
    return dataset, version, definition


def _form_page(request: Request, portal: PortalDep, dataset: dict[str, Any],
               version: PublishedVersion,
               definition: DatasetDefinition, signed_in: bool, *,
               values: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None,
               general: list[str] | None = None, status_code: int = 200) -> HTMLResponse:
    language = portal.language(request)
    layers = views.map_layers(version)
    return portal.render(request, "propose.html", {
        "section": "catalogue",
        "dataset": dataset,
        "title": views.localised(dataset, "title", language),
        "licence": views.licence_view(dataset, language),
        "fields": record_form(definition, language),
        "values": values or {},
        "errors": errors or {},
        "general": general or [],
        "signed_in": signed_in,
        "names": {"point": POINT_INPUT, "comment": COMMENT, "display_name": DISPLAY_NAME,
                  "source": SOURCE, "consent": CONSENT},
        "map": {"layers": layers, "bounds": views.map_bounds(layers)},
    }, status_code=status_code)


@router.get("/datasets/{dataset_id}/propose", response_class=HTMLResponse)
def propose_form(dataset_id: str, request: Request, data: DataDep, settings: SettingsDep,
                 portal: PortalDep, principal: SignedIn) -> HTMLResponse:
    """The form; signed out, it says that sending it needs signing in first."""
    try:
        dataset, version, definition = _dataset(data, settings, dataset_id)
    except (NotFound, Gone) as error:
        return problem_page(portal, request, 404, str(error))
    return _form_page(request, portal, dataset, version, definition,
                      principal.key is not None)


@router.post("/datasets/{dataset_id}/propose", response_class=HTMLResponse,
             dependencies=[BodyLimit, CsrfChecked])
async def propose(dataset_id: str, request: Request, data: DataDep, settings: SettingsDep,
                  portal: PortalDep, store: ContributionsDep, key: Contributor) -> Response:
    """Store the proposal and show "my proposals"; or the form again with each problem
    beside its input (422), nothing stored."""
    try:
        dataset, version, definition = _dataset(data, settings, dataset_id)
    except (NotFound, Gone) as error:
        return problem_page(portal, request, 404, str(error))
    form = await request.form()
    submitted = proposal_body(definition, {k: v for k, v in form.items()
                                           if isinstance(v, str)})
    principal = visitor(request).principal
    try:
        if submitted.problems:
            raise InvalidContribution(submitted.problems)
        row = await anyio.to_thread.run_sync(lambda: submit_proposal(
            dataset_id, submitted.body, principal, key, data, settings, store))
    except (InvalidContribution, Refused) as error:
        inputs = [f.name for f in record_form(definition, "en")]
        inputs += [POINT_INPUT, COMMENT, DISPLAY_NAME, SOURCE, CONSENT]
        errors, general = field_errors(error, inputs)
        return _form_page(request, portal, dataset, version, definition, True,
                          values=submitted.values, errors=errors, general=general,
                          status_code=error.status)
    return RedirectResponse(f"/me/proposals?sent={row['id']}#contribution-{row['id']}",
                            status_code=303)


@router.get("/me/proposals", response_class=HTMLResponse)
def my_proposals(request: Request, portal: PortalDep, store: ContributionsDep,
                 key: AnyContributor, sent: int | None = None) -> HTMLResponse:
    """Each proposal of the signed-in key with its status and the moderator's reason (the
    rows of /v1/me/contributions)."""
    rows = store.page(key_id=key.id, limit=MY_PROPOSALS_PAGE)
    return portal.render(request, "my_proposals.html", {
        "section": "catalogue",
        "proposals": rows,
        "sent": sent,
    })
