"""CKAN Action API, read side, under ``/api/3/action`` (GET with query parameters or POST
with a JSON body), so ckanapi, CKAN harvesters and portal tools can read the hub.

CKAN 2.10/2.11 envelope: ``{"help", "success", "result"}`` or ``{"help", "success": false,
"error": {"__type", "message"}}`` with CKAN's status codes (404 Not Found Error, 409
Validation Error, 400 for an unknown action). Packages are built from the same catalogue
entries as the DCAT documents (hub.api.dcat.catalogue_entries).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from hub import __version__
from hub.api.caching import LATEST_CACHE
from hub.api.dcat import catalogue_entries
from hub.api.deps import base_url, get_data, get_settings
from hub.api.downloads import get_exporter
from hub.api.routing import route_per_method
from hub.serialise import ckan

router = APIRouter(tags=["CKAN Action API (read)"])

MAX_ROWS = 1000


class Context:
    """What an action needs: the catalogue as CKAN packages (built once per request)."""

    def __init__(self, request: Request, base: str) -> None:
        self.request, self.base = request, base
        self._packages: list[dict[str, Any]] | None = None

    @property
    def packages(self) -> list[dict[str, Any]]:
        if self._packages is None:
            entries = catalogue_entries(get_data(self.request), get_exporter(self.request),
                                        self.base, with_versions=False)
            self._packages = [ckan.package(e, self.base) for e in entries]
        return self._packages

    def package(self, ref: str) -> dict[str, Any]:
        for pkg in self.packages:
            if ref in (pkg["name"], pkg["id"]):
                return pkg
        raise ckan.not_found()


def _int(params: dict[str, Any], name: str, default: int, low: int = 0,
         high: int | None = None) -> int:
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ckan.validation(name, "Invalid integer") from None
    if value < low or (high is not None and value > high):
        raise ckan.validation(name, f"Must be between {low} and {high}" if high is not None
                              else f"Must be at least {low}")
    return value


def _bool(params: dict[str, Any], name: str, default: bool = False) -> bool:
    raw = params.get(name, default)
    if isinstance(raw, bool):
        return raw
    return str(raw).lower() in ("true", "1", "yes", "on")


def _required(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if value in (None, ""):
        raise ckan.validation(name, "Missing value")
    return str(value)


# -- actions -----------------------------------------------------------------------------------


def status_show(ctx: Context, _params: dict[str, Any]) -> dict[str, Any]:
    settings = get_settings(ctx.request)
    return {"site_title": settings.catalogue_title, "site_url": ctx.base,
            "site_description": "Co-Creation Hub (CKAN-compatible read API)",
            "ckan_version": ckan.CKAN_VERSION, "hub_version": __version__,
            "error_emails_to": None, "locale_default": "ja", "extensions": []}


def package_list(ctx: Context, params: dict[str, Any]) -> list[str]:
    names = sorted(p["name"] for p in ctx.packages)
    offset = _int(params, "offset", 0)
    limit = _int(params, "limit", len(names) or 1, low=1)
    return names[offset:offset + limit]


def package_show(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return ctx.package(_required(params, "id"))


def package_search(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    facet_fields = params.get("facet.field") or []
    if isinstance(facet_fields, str):
        try:
            facet_fields = json.loads(facet_fields)
        except ValueError:
            facet_fields = [facet_fields]
    if not isinstance(facet_fields, list):
        raise ckan.validation("facet.field", "Must be a JSON list of field names")
    return ckan.search(
        ctx.packages, q=str(params.get("q") or ""), fq=str(params.get("fq") or ""),
        rows=_int(params, "rows", 10, high=MAX_ROWS), start=_int(params, "start", 0),
        sort=params.get("sort"), facet_fields=facet_fields,
        facet_limit=_int(params, "facet.limit", 50, low=-1),
    )


def _organisations(ctx: Context) -> dict[str, dict[str, Any]]:
    counts: dict[str, int] = {}
    texts: dict[str, str] = {}
    for pkg in ctx.packages:
        name = pkg["organization"]["name"]
        counts[name] = counts.get(name, 0) + 1
        texts[name] = pkg["author"]
    return {name: ckan.organization(texts[name], package_count=counts[name])
            for name in sorted(counts)}


def organization_list(ctx: Context, params: dict[str, Any]) -> list[Any]:
    orgs = list(_organisations(ctx).values())
    sort = str(params.get("sort") or "title asc")
    if sort.startswith("package_count"):
        orgs.sort(key=lambda o: o["package_count"], reverse=sort.endswith("desc"))
    elif sort.startswith("name"):
        orgs.sort(key=lambda o: o["name"], reverse=sort.endswith("desc"))
    else:
        orgs.sort(key=lambda o: o["title"], reverse=sort.endswith("desc"))
    wanted = params.get("organizations")
    if wanted:
        names = set(wanted if isinstance(wanted, list) else str(wanted).split(","))
        orgs = [o for o in orgs if o["name"] in names]
    offset = _int(params, "offset", 0)
    limit = _int(params, "limit", 1000, low=1)
    orgs = orgs[offset:offset + limit]
    return orgs if _bool(params, "all_fields") else [o["name"] for o in orgs]


def organization_show(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ref = _required(params, "id")
    for org in _organisations(ctx).values():
        if ref in (org["name"], org["id"]):
            result = dict(org)
            if _bool(params, "include_datasets"):
                result["packages"] = [p for p in ctx.packages
                                      if p["organization"]["name"] == org["name"]]
            result["users"] = []
            result["extras"] = []
            result["groups"] = []
            result["tags"] = []
            return result
    raise ckan.not_found()


def tag_list(ctx: Context, params: dict[str, Any]) -> list[Any]:
    names = sorted({t["name"] for p in ctx.packages for t in p["tags"]})
    query = str(params.get("query") or params.get("q") or "").lower()
    if query:
        names = [n for n in names if query in n.lower()]
    if _bool(params, "all_fields"):
        return [{"id": ckan._id("tag", n), "name": n, "display_name": n,
                 "vocabulary_id": None} for n in names]
    return names


def help_show(_ctx: Context, params: dict[str, Any]) -> str:
    """CKAN's help text of an action: every envelope's ``help`` URL points here, so it must
    answer (CKAN returns the action's docstring)."""
    name = _required(params, "name")
    handler = ACTIONS.get(name)
    if handler is None:
        raise ckan.not_found()
    return inspect.getdoc(handler) or f"{name}: the CKAN action of the same name (read only)."


ACTIONS: dict[str, Callable[[Context, dict[str, Any]], Any]] = {
    "help_show": help_show,
    "status_show": status_show,
    "package_list": package_list,
    "package_show": package_show,
    "package_search": package_search,
    "organization_list": organization_list,
    "organization_show": organization_show,
    "tag_list": tag_list,
}


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), status_code=status,
                    media_type="application/json;charset=utf-8",
                    headers={"Cache-Control": LATEST_CACHE})


async def _params(request: Request) -> dict[str, Any]:
    if request.method == "POST":
        raw = await request.body()
        if raw.strip():
            content_type = request.headers.get("content-type", "")
            if "form" in content_type:
                form = await request.form()
                return {k: v for k, v in form.items()}
            try:
                body = json.loads(raw)
            except ValueError:
                raise ckan.ActionError("Bad request", "Bad request - JSON Error: could not "
                                       "decode the request body", 400) from None
            if not isinstance(body, dict):
                raise ckan.ActionError("Bad request", "Bad request - JSON Error: the body "
                                       "must be a JSON object", 400)
            return body
    params: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, value)
    return params


def _envelope(description: str, success: bool) -> dict[str, Any]:
    """CKAN's own envelope, which CKAN clients (ckanapi, harvesters) parse: the result on
    success, ``error`` with ``__type`` and ``message`` otherwise; never problem+json here."""
    outcome: dict[str, Any] = {"result": {}} if success else {"error": {
        "type": "object", "required": ["__type", "message"],
        "properties": {"__type": {"type": "string"}, "message": {"type": "string"}}}}
    schema = {"type": "object", "required": ["help", "success", *outcome],
              "properties": {"help": {"type": "string"},
                             "success": {"type": "boolean", "enum": [success]}, **outcome}}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


CKAN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _envelope("CKAN envelope: `success: true` and the action's `result`", True),
    400: _envelope("Bad request (an unknown action, a body that is not a JSON object): "
                   "CKAN's envelope with `success: false`", False),
    404: _envelope("Not Found Error (no such package or organisation)", False),
    409: _envelope("Validation Error (a missing or invalid parameter)", False),
}
ActionName = Annotated[str, Path(description="A CKAN action this hub answers; any other "
                                 "name is CKAN's 400 `Action name not known`.",
                                 json_schema_extra={"enum": list(ACTIONS)})]


@route_per_method(router, "/api/3/action/{action}", ["GET", "POST"],
                  response_class=Response, responses=CKAN_RESPONSES,
                  summary="CKAN Action API (read): package_list, package_show, package_search, "
                          "organization_list, organization_show, tag_list, status_show, help_show")
@route_per_method(router, "/api/action/{action}", ["GET", "POST"], include_in_schema=False)
async def action(action: ActionName, request: Request) -> Response:
    base = base_url(request)
    help_url = f"{base}/api/3/action/help_show?name={action}"
    try:
        handler = ACTIONS.get(action)
        if handler is None:
            raise ckan.ActionError("Bad request", f"Bad request - Action name not known: "
                                   f"{action}", 400)
        params = await _params(request)
        context = Context(request, base)
        result = await run_in_threadpool(handler, context, params)
    except ckan.ActionError as error:
        return _json(ckan.error_envelope(help_url, error), error.status)
    return _json(ckan.envelope(help_url, result))
