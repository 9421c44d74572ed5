"""The portal's routes. Thin: parse the request, call the same :mod:`hub.data` functions and
``hub.query`` parsers as the ``/v1`` routes, hand the answers to :mod:`hub.web.views` and a
template. No page has a query path of its own.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from hub.api.changes import decode_after, encode_after
from hub.api.cocreation import StoreDep
from hub.api.deps import BaseUrlDep, DataDep, page_limits
from hub.api.downloads import get_exporter
from hub.api.landing import landing_document
from hub.api.references import CatalogueReferences
from hub.catalog import PublishedVersion
from hub.data import Gone, NotFound
from hub.data.changes import ChangeFeed
from hub.data.diffs import Diffs
from hub.export import FORMATS as FILE_FORMATS
from hub.query.catalog import DatasetSearch
from hub.query.model import PageLimits, QueryError
from hub.query.params import V1, encode_cursor, parse_records_query
from hub.serialise.catalog import citation
from hub.web import views
from hub.web.cocreation import dataset_uses
from hub.web.flagship import SEISHIN_YAMATE, answer_question
from hub.web.negotiation import prefers_html
from hub.web.rendering import PortalDep, problem_page, with_params

# HTML pages for people, not API operations: kept out of the OpenAPI document (their errors
# are pages too, not problem+json).
router = APIRouter(tags=["portal"], include_in_schema=False)

CATALOGUE_PAGE_SIZE = 20
TABLE_PAGE_SIZE = 20
DIFF_PAGE_SIZE = 50
RECENT_CHANGES = 8


# -- home: the catalogue (HTML) or the landing document (JSON) --------------------------------


@router.get("/", summary="Landing: the portal for browsers, links for API clients",
            tags=["meta"], response_model=None,
            responses={200: {"content": {"text/html": {}, "application/json": {}}}})
def home(
    request: Request, data: DataDep, base: BaseUrlDep, portal: PortalDep,
    q: Annotated[str | None, Query(description="Words, as `q` of /v1/datasets.")] = None,
    keyword: Annotated[list[str] | None, Query()] = None,
    organisation: str | None = None,
    licence: str | None = None,
    format: str | None = None,
    has_map: bool | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """A browser (``Accept: text/html`` first) gets the catalogue page; every other client
    gets the JSON landing document with links to the API surfaces."""
    if not prefers_html(request.headers.get("accept")):
        response = JSONResponse(landing_document(base))
        response.headers["Vary"] = "Accept"
        return response
    search = DatasetSearch(q=q or None, keyword=tuple(keyword or ()),
                           organisation=organisation or None, licence=licence or None,
                           format=format or None, has_map=has_map,
                           limit=CATALOGUE_PAGE_SIZE, offset=offset)
    rows, total, facets = data.search_datasets(search)
    recent, _more = ChangeFeed(data.read_engine).page(after_id=None, since=None, dataset_id=None,
                                                 limit=RECENT_CHANGES, newest_first=True)
    language = portal.language(request)
    params = [(k, v) for k, v in request.query_params.multi_items() if v != ""]
    flagship = None
    if not [k for k, _v in params if k != "lang"]:  # the home page itself, not a search
        with data.connection() as conn:
            flagship = answer_question(data, conn, SEISHIN_YAMATE, page_limits(request, V1))
    return portal.render(request, "catalogue.html", {
        "section": "catalogue",
        "q": q or "",
        "total": total,
        "cards": [views.dataset_card(r, language) for r in rows],
        "facets": views.facet_view("/", params, facets, language),
        "hidden": [(k, v) for k, v in params if k not in ("q", "offset", "lang")],
        "recent": [{**c, "title": views.localised(c, "title", language)} for c in recent],
        "previous_url": with_params(request, offset=str(max(0, offset - CATALOGUE_PAGE_SIZE)))
        if offset > 0 else None,
        "next_url": with_params(request, offset=str(offset + CATALOGUE_PAGE_SIZE))
        if offset + CATALOGUE_PAGE_SIZE < total else None,
        "offset": offset,
        "flagship": flagship,
    })


# -- dataset page -----------------------------------------------------------------------------


def preview_limits(request: Request) -> PageLimits:
    """The /v1 records limits (maximum, radius, over-limit answer) with a page-sized default:
    a preview shows fewer rows than an API page unless ``limit`` asks for more."""
    limits = page_limits(request, V1)
    return dataclasses.replace(limits, default=min(TABLE_PAGE_SIZE, limits.maximum))


def _table(request: Request, data: DataDep, shown: PublishedVersion,
           layer: str | None) -> dict[str, Any]:
    """The table preview: the page's records query parsed and run exactly as /v1 runs it
    (the V1 dialect, its limits, near_route/near_stop resolved in the catalogue)."""
    items = views.table_query(request.query_params.multi_items())
    limits = preview_limits(request)
    records_url = views.records_path(shown.dataset_id, shown.version, layer,
                                     shown.main_layer)
    api_params = [(k, v) for k, v in items if k != "cursor"]
    filtered = bool(api_params)
    if not any(k == "limit" for k, _v in api_params):
        api_params.append(("limit", str(limits.default)))  # the API link shows the same rows
    table: dict[str, Any] = {
        "error": None, "columns": [], "rows": [], "next_url": None,
        "api_url": records_url + "?" + urlencode(api_params),
        "filtered": filtered,
        "inputs": views.filter_inputs(shown.schema, dict(items)),
        "q": dict(items).get("q", ""),
    }
    with data.connection() as conn:
        try:
            query = parse_records_query(
                items, shown.schema, has_geometry=shown.has_geometry, limits=limits,
                dialect=V1, resolver=CatalogueReferences(data, conn))
            page = data.records(shown, query, "csv", conn)
        except QueryError as error:
            table["error"] = error.detail
            return table
        table["matched"] = data.number_matched(shown, query, page, conn)
    table["columns"] = list(page.csv_columns)
    table["rows"] = [[views.display_cell(c, v) for c, v in zip(page.csv_columns, row,
                                                              strict=True)]
                     for row in page.rows]
    if page.next_values is not None:
        values, fid = page.next_values
        table["next_url"] = with_params(request, cursor=encode_cursor(values, fid, query))
    return table


@router.get("/datasets/{dataset_id}", summary="Dataset page (HTML)", tags=["portal"],
            response_class=HTMLResponse)
def dataset_page(
    dataset_id: str, request: Request, data: DataDep, base: BaseUrlDep, portal: PortalDep,
    store: StoreDep,
    version: Annotated[int | None, Query(ge=1, description="A version (default: current).")]
    = None,
    layer: Annotated[str | None, Query(description="The layer the table shows.")] = None,
) -> HTMLResponse:
    """Description, schema, map, table, versions, downloads, citation and API examples of
    one dataset version (the current one unless ``version`` pins another)."""
    try:
        dataset = data.dataset(dataset_id)
        published = data.version(dataset_id, version)
        shown = data.layer(dataset_id, published.version, layer)
    except NotFound as error:
        return problem_page(portal, request, 404, str(error))
    except Gone as error:
        return problem_page(portal, request, 410, f"{error} ({error.reason or ''})")
    language = portal.language(request)
    table = _table(request, data, shown, layer)
    manifest = get_exporter(request).ensure(dataset, published)
    cited = citation(published.meta, base)
    layers = views.map_layers(published)
    records_url = views.records_path(dataset_id, published.version, None, published.main_layer)
    flagship = None
    if SEISHIN_YAMATE.concerns(dataset_id):
        with data.connection() as conn:
            flagship = answer_question(data, conn, SEISHIN_YAMATE, page_limits(request, V1))
    return portal.render(request, "dataset.html", {
        "section": "catalogue",
        "dataset": dataset,
        "title": views.localised(dataset, "title", language),
        "description": views.localised(dataset, "description", language),
        "licence": views.licence_view(dataset, language),
        "version": published,
        "meta": published.meta,
        "is_current": published.version == dataset["current_version"],
        "layer": shown.main_layer if layer is None else layer,
        "layer_names": list(published.layer_names),
        "schema_rows": views.schema_rows(shown.schema, language),
        "table": table,
        "versions": data.versions(dataset_id),
        "files": [{"artifact": a, "title": FILE_FORMATS[a.format].title}
                  for a in manifest.artifacts],
        "citation": cited,
        "cff": views.cff_text(cited["cff"]),
        "map": {"layers": layers, "bounds": views.map_bounds(layers)} if layers else None,
        "examples": views.api_examples(base, dataset_id, records_url),
        "uses": dataset_uses(store, dataset_id),
        "flagship": flagship,
    }, status_code=400 if table["error"] else 200)


@router.get("/datasets/{dataset_id}/diff", summary="Changes between two versions (HTML)",
            tags=["portal"], response_class=HTMLResponse)
def diff_page(
    dataset_id: str, request: Request, data: DataDep, portal: PortalDep,
    a: Annotated[int, Query(alias="from", ge=1)],
    b: Annotated[int, Query(alias="to", ge=1)],
    layer: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    """The row-level diff of /v1/.../versions/{a}/diff/{b}, as a page."""
    try:
        dataset = data.dataset(dataset_id)
        old = data.layer(dataset_id, a, layer)
        new = data.layer(dataset_id, b, layer)
        after = decode_after(cursor) if cursor else None
    except (NotFound, Gone) as error:
        return problem_page(portal, request, 404 if isinstance(error, NotFound) else 410,
                             str(error))
    except QueryError as error:
        return problem_page(portal, request, 400, error.detail)
    page = Diffs(data.read_engine).page(old, new, after=after, limit=DIFF_PAGE_SIZE,
                                   with_summary=cursor is None)
    language = portal.language(request)
    layer_query = f"?layer={layer}" if layer else ""
    return portal.render(request, "diff.html", {
        "section": "catalogue",
        "dataset": dataset,
        "title": views.localised(dataset, "title", language),
        "a": a, "b": b, "page": page,
        "versions": data.versions(dataset_id),
        "api_url": f"/v1/datasets/{dataset_id}/versions/{a}/diff/{b}{layer_query}",
        "next_url": with_params(request, cursor=encode_after(page.next_after))
        if page.next_after is not None else None,
    })
