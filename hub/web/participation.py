"""The co-creation forms: file a data request, vote for one, submit a showcase.

Each form calls what the API route calls (``hub.api.requests.new_request`` and
``CoCreation.file_request`` / ``vote``; ``hub.api.showcases.new_showcase``,
``CoCreation.submit_showcase`` and ``store_image``), as the signed-in key with the
``contribute`` scope, after the form's CSRF token is checked; so the rules, the audit entries
and the events are the API's. A refusal is shown on the form, beside the field it names.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from hub.api.cocreation import BodyLimit, StoreDep, actor_of
from hub.api.deps import DataDep, SettingsDep
from hub.api.requests import RequestBody, new_request
from hub.api.showcases import ShowcaseBody, new_showcase, store_image
from hub.cocreation.errors import Refused
from hub.cocreation.images import check_image
from hub.cocreation.showcases import ShowcaseKind
from hub.data import Data, NotFound
from hub.people.principal import Key
from hub.people.scopes import Scope
from hub.query.catalog import DatasetSearch
from hub.web import views
from hub.web.rendering import PortalDep, problem_page
from hub.web.session import CsrfChecked, check_csrf, signed_in_key, visitor

router = APIRouter(tags=["portal"], include_in_schema=False)

Contributor = Annotated[Key, Depends(signed_in_key(Scope.CONTRIBUTE))]
REQUEST_FIELDS = ("title", "description", "purpose", "organisation", "area")
SHOWCASE_FIELDS = ("title", "url", "kind", "description", "authors", "datasets", "request",
                   "image")
CATALOGUE_CHOICES = 200
# Form fields besides the file: the texts, the chosen datasets, the token.
SHOWCASE_MAX_FIELDS = 300


def _texts(form: Any, names: tuple[str, ...]) -> dict[str, str]:
    return {name: value for name in names
            if isinstance(value := form.get(name, ""), str)}


def refusal_errors(error: Refused | ValidationError) -> tuple[dict[str, list[str]], list[str]]:
    """A refusal as messages per form field (``field`` of the API's refusal, or the first
    part of a body validation error's location) and the messages no field holds."""
    if isinstance(error, Refused):
        if error.field:
            return {error.field.split(".", 1)[0]: [error.detail]}, []
        return {}, [error.detail]
    errors: dict[str, list[str]] = {}
    for problem in error.errors():
        location = problem.get("loc") or ("",)
        errors.setdefault(str(location[0]), []).append(problem.get("msg", ""))
    return errors, []


# -- data requests ----------------------------------------------------------------------------


def request_form_page(request: Request, portal: PortalDep, values: dict[str, str],
                      errors: dict[str, list[str]], general: list[str],
                      status_code: int) -> HTMLResponse:
    return portal.render(request, "request_new.html", {
        "section": "requests", "form": {"values": values, "errors": errors,
                                        "general": general}}, status_code=status_code)


@router.get("/requests/new", response_class=HTMLResponse)
def request_form(request: Request, portal: PortalDep) -> HTMLResponse:
    """The form alone (the board carries the same form below its list)."""
    return request_form_page(request, portal, {}, {}, [], 200)


@router.post("/requests", response_class=HTMLResponse,
             dependencies=[BodyLimit, CsrfChecked])
async def file_request(request: Request, portal: PortalDep, store: StoreDep,
                       key: Contributor) -> Response:
    """File the request and open its page; or the form again with the refusal (422)."""
    values = _texts(await request.form(), REQUEST_FIELDS)
    principal = visitor(request).principal
    try:
        body = RequestBody(title=values.get("title", ""),
                           description=values.get("description", ""),
                           purpose=values.get("purpose", ""),
                           organisation=values.get("organisation") or None,
                           area=values.get("area") or None)
        new = new_request(body)
        request_id = await anyio.to_thread.run_sync(
            lambda: store.file_request(new, actor_of(principal, key)))
    except (Refused, ValidationError) as error:
        errors, general = refusal_errors(error)
        status = error.status if isinstance(error, Refused) else 422
        return request_form_page(request, portal, values, errors, general, status)
    return RedirectResponse(f"/requests/{request_id}?filed=1", status_code=303)


@router.post("/requests/{request_id}/votes", response_class=HTMLResponse,
             dependencies=[CsrfChecked])
def vote(request_id: int, request: Request, portal: PortalDep, store: StoreDep,
         key: Contributor) -> Response:
    """Vote (once per key, as on the API) and return to the request's page."""
    try:
        store.vote(request_id, actor_of(visitor(request).principal, key))
    except NotFound as error:
        return problem_page(portal, request, 404, str(error))
    except Refused as error:
        return problem_page(portal, request, error.status, error.detail)
    return RedirectResponse(f"/requests/{request_id}?voted=1#votes", status_code=303)


# -- showcases --------------------------------------------------------------------------------


def dataset_choices(data: Data, language: str) -> list[dict[str, Any]]:
    """The catalogue's datasets at their current versions (a showcase pins the versions it
    used, so a citation of it stays reproducible)."""
    rows, _total, _facets = data.search_datasets(DatasetSearch(limit=CATALOGUE_CHOICES))
    return [{"value": f"{r['id']}@{r['current_version']}", "id": r["id"],
             "version": r["current_version"], "title": views.localised(r, "title", language)}
            for r in rows if r.get("current_version")]


def showcase_form_page(request: Request, portal: PortalDep, data: Data,
                       values: dict[str, Any], errors: dict[str, list[str]],
                       general: list[str], status_code: int) -> HTMLResponse:
    return portal.render(request, "showcase_new.html", {
        "section": "showcases",
        "kinds": [k.value for k in ShowcaseKind],
        "choices": dataset_choices(data, portal.language(request)),
        "values": values, "errors": errors, "general": general,
    }, status_code=status_code)


@router.get("/showcases/new", response_class=HTMLResponse)
def showcase_form(request: Request, portal: PortalDep, data: DataDep) -> HTMLResponse:
    return showcase_form_page(request, portal, data, {}, {}, [], 200)


def _number(text: str) -> int | str:
    """A form's number as the API's JSON body carries it; anything else stays text, which
    the body's rules refuse naming the field."""
    return int(text) if text.isascii() and text.isdigit() else text


def _pins(chosen: list[str]) -> list[dict[str, Any]]:
    pins = []
    for value in chosen:
        dataset, _, version = value.rpartition("@")
        pins.append({"dataset": dataset, "version": _number(version)})
    return pins


@router.post("/showcases/new", response_class=HTMLResponse)
async def submit_showcase(request: Request, portal: PortalDep, data: DataDep,
                          store: StoreDep, settings: SettingsDep,
                          key: Contributor) -> Response:
    """A multipart form (the image is a file): the token is checked once the form is read,
    before anything is stored. The showcase is stored first, then its image, as the API's
    two calls do, once the image is known to be one (a refused image stores nothing)."""
    limit = settings.cocreation_max_image_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() \
            and int(declared) > limit + settings.cocreation_max_body_bytes:
        return problem_page(portal, request, 413, f"the form is {declared} bytes; an image "
                            f"may have at most {limit}")
    form = await request.form(max_files=1, max_fields=SHOWCASE_MAX_FIELDS)
    token = form.get("csrf_token")
    check_csrf(request, token if isinstance(token, str) else None)
    values: dict[str, Any] = _texts(form, ("title", "url", "kind", "description", "authors",
                                           "request"))
    values["datasets"] = [v for v in form.getlist("datasets") if isinstance(v, str)]
    upload = form.get("image")
    image = await upload.read(limit + 1) if isinstance(upload, UploadFile) else b""
    principal = visitor(request).principal
    try:
        body = ShowcaseBody.model_validate({
            "title": values.get("title", ""), "url": values.get("url", ""),
            "kind": values.get("kind", ""), "description": values.get("description", ""),
            "authors": [a.strip() for a in values.get("authors", "").splitlines()
                        if a.strip()],
            "datasets": _pins(values["datasets"]),
            "request": _number(values["request"]) if values.get("request") else None})
        new = new_showcase(body)
        if image:
            check_image(image, limit)

        def store_it() -> int:
            showcase_id = store.submit_showcase(new, actor_of(principal, key))
            if image:
                store_image(store, showcase_id, image, limit, principal, key)
            return showcase_id

        showcase_id = await anyio.to_thread.run_sync(store_it)
    except (Refused, ValidationError) as error:
        errors, general = refusal_errors(error)
        status = error.status if isinstance(error, Refused) else 422
        return showcase_form_page(request, portal, data, values, errors, general, status)
    return RedirectResponse(f"/showcases?submitted={showcase_id}", status_code=303)
