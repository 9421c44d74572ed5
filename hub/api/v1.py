"""The native ``/v1`` API: catalogue search, versions and records.

Routes read like a table of contents: parse -> query object -> data -> serialiser.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request, Response

from hub.api.caching import (
    apply_cache_headers,
    not_modified,
    not_modified_response,
    representation_etag,
)
from hub.api.deps import BaseUrlDep, DataDep, RecordsByKeyDep, SettingsDep
from hub.api.errors import NotAcceptable
from hub.api.references import resolve_near_reference
from hub.catalog import PublishedVersion
from hub.data import NotFound
from hub.data.records_by_key import RecordsByKey
from hub.query.catalog import DatasetSearch
from hub.query.model import QueryError
from hub.query.params import encode_cursor, parse_records_query
from hub.serialise.catalog import dataset_detail, dataset_summary, version_detail, version_summary
from hub.serialise.records import FORMATS, MEDIA_TYPES, PageContext, single_record

router = APIRouter(prefix="/v1", tags=["datasets"])

DatasetId = Annotated[str, Path(description="Dataset id, e.g. `kobe-aed`.", examples=["kobe-aed"])]
VersionRef = Annotated[
    str,
    Path(description="A version number (pinned, immutable) or `latest`.", examples=["1", "latest"]),
]
RECORDS_DESCRIPTION = """
Records of a dataset version, filtered, sorted and paged.

* **Property filters** on any schema field, datasette-style: `field=value` (equals),
  `field__not=`, `field__lt=`, `__lte`, `__gt`, `__gte`, `__in=a,b`, `__notin=a,b`,
  `__isnull=true|false`, `__contains=`, `__startswith=` (text fields).
* **q**: text search over all text fields (every word must occur; width- and case-insensitive).
* **bbox** = `minLon,minLat,maxLon,maxLat` (EPSG:4326).
* **near** = `lat,lon` with optional **radius** in metres: adds `distance_m` and sorts by it
  (without radius: nearest first, index-assisted).
* **within** / **intersects**: a GeoJSON geometry or WKT (lon lat).
* **near_route** = `<gtfs dataset>[@<version>]:<route_id>` or **near_stop** =
  `<gtfs dataset>[@<version>]:<stop_id>` with **radius**: records within that many metres of
  any stop of the route (or of the stop / station), with `distance_m`, `nearest_stop_id` and
  `nearest_stop_name`, nearest first.
* **sort** = `field,-other` (`-` descending; `distance_m` with near). **fields** = `a,b`.
* **limit** (capped) and **cursor** (opaque, from the `next` link; keyset paging).
* Output by `?f=json|geojson|csv` or the `Accept` header.
"""


def _query_parameter(name: str, description: str, example: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string"}, "example": example}


# The records query string is parsed by hub.query.params (field names depend on the dataset),
# so the reserved parameters are documented here rather than declared as FastAPI parameters.
RECORDS_OPENAPI: dict[str, Any] = {
    "parameters": [
        _query_parameter("q", "Words that must all occur in some text field.", "病院"),
        _query_parameter("bbox", "minLon,minLat,maxLon,maxLat (EPSG:4326).",
                         "135.18,34.68,135.21,34.70"),
        _query_parameter("near", "lat,lon (latitude first); adds distance_m, sorts by it.",
                         "34.6946,135.1956"),
        _query_parameter("radius", "Metres around `near` (needs `near`).", "500"),
        _query_parameter("within", "Polygon as GeoJSON or WKT (lon lat).",
                         "POLYGON ((135.18 34.68, 135.21 34.68, 135.21 34.70, 135.18 34.68))"),
        _query_parameter("intersects", "Any geometry as GeoJSON or WKT (lon lat).",
                         "LINESTRING (135.18 34.69, 135.21 34.69)"),
        _query_parameter("near_route", "Within `radius` metres of any stop of a bus route of "
                         "a GTFS dataset: `<dataset>[@<version>]:<route_id>`. Adds distance_m, "
                         "nearest_stop_id and nearest_stop_name.", "bus-routes-muroran:100310"),
        _query_parameter("near_stop", "Within `radius` metres of a stop (a station includes "
                         "its poles): `<dataset>[@<version>]:<stop_id>`.",
                         "bus-routes-muroran:0211"),
        _query_parameter("sort", "Fields, `-` for descending; `distance_m` with near.",
                         "-name"),
        _query_parameter("fields", "Properties to return.", "name,address"),
        _query_parameter("limit", "Page size (capped by HUB_MAX_LIMIT).", "50"),
        _query_parameter("cursor", "Opaque keyset cursor from the `next` link.", ""),
        _query_parameter("f", "Output format: json, geojson or csv (or use Accept).", "geojson"),
    ]
}


def version_number(ref: str) -> int | None:
    if ref == "latest":
        return None
    if not ref.isdigit() or int(ref) < 1:
        raise QueryError(f"version must be a positive integer or 'latest', not {ref!r}", "version")
    return int(ref)


def choose_format(request: Request) -> str:
    explicit = request.query_params.get("f")
    if explicit is not None:
        if explicit not in FORMATS:
            raise QueryError(
                f"unknown format f={explicit!r}; formats are: {', '.join(FORMATS)}", "f"
            )
        return explicit
    accept = request.headers.get("accept", "")
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in MEDIA_TYPES:
            return MEDIA_TYPES[media]
        if media in ("*/*", "application/*", ""):
            return "json"
    if accept and "json" not in accept:
        raise NotAcceptable(
            f"cannot produce {accept!r}; available: application/json, application/geo+json, "
            "text/csv (or use ?f=json|geojson|csv)"
        )
    return "json"


@router.get("/datasets", summary="Search the catalogue")
def list_datasets(
    data: DataDep,
    base: BaseUrlDep,
    q: Annotated[str | None, Query(description="Words in id, titles, descriptions, keywords.",
                                   examples=["AED"])] = None,
    keyword: Annotated[list[str] | None, Query(description="Keep datasets with all these "
                                               "keywords (repeatable).")] = None,
    organisation: Annotated[str | None, Query(description="Exact organisation name.")] = None,
    licence: Annotated[str | None, Query(description="Exact licence.")] = None,
    format: Annotated[str | None, Query(description="Source format: `table` (CSV/Excel), "
                                        "`gtfs` or `gtfs-ride`.")] = None,
    has_map: Annotated[bool | None, Query(description="Only datasets whose current version "
                                          "has (true) or lacks (false) geometry.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    search = DatasetSearch(q=q, keyword=tuple(keyword or ()), organisation=organisation,
                           licence=licence, format=format, has_map=has_map, limit=limit,
                           offset=offset)
    rows, total, facets = data.search_datasets(search)
    return {
        "total": total,
        "datasets": [dataset_summary(r, base) for r in rows],
        "facets": facets,
    }


@router.get("/datasets/{dataset_id}", summary="One dataset")
def get_dataset(dataset_id: DatasetId, data: DataDep, base: BaseUrlDep) -> dict[str, Any]:
    return dataset_detail(data.dataset(dataset_id), base)


@router.get("/datasets/{dataset_id}/versions", summary="All versions of a dataset")
def list_versions(dataset_id: DatasetId, data: DataDep, base: BaseUrlDep) -> dict[str, Any]:
    rows = data.versions(dataset_id)
    return {"dataset": dataset_id, "versions": [version_summary(r, base) for r in rows]}


@router.get("/datasets/{dataset_id}/versions/{version}", summary="One version's metadata")
def get_version(
    dataset_id: DatasetId, version: VersionRef, data: DataDep, base: BaseUrlDep,
    request: Request, response: Response,
) -> Any:
    number = version_number(version)
    published = data.version(dataset_id, number)
    etag = representation_etag(published.content_sha256, request, "version-metadata")
    if not_modified(request, etag):
        return not_modified_response(etag, pinned=number is not None)
    apply_cache_headers(response, etag, pinned=number is not None)
    return version_detail(published.meta, base)


def records_response(
    request: Request, data: DataDep, settings: SettingsDep, base: str,
    dataset_id: str, number: int | None, layer: str | None = None,
    member_of: tuple[str, Any] | None = None,
) -> Response:
    """Records of one version (or layer): one pooled connection serves the whole request."""
    with data.connection() as conn:
        return records_in(conn, request, data, settings, base, dataset_id, number, layer,
                           member_of)


def records_in(
    conn: Any,
    request: Request, data: DataDep, settings: SettingsDep, base: str,
    dataset_id: str, number: int | None, layer: str | None = None,
    member_of: tuple[str, Any] | None = None,
) -> Response:
    published: PublishedVersion = data.layer(dataset_id, number, layer, conn)
    output = choose_format(request)
    reference = resolve_near_reference(request.query_params, data, settings.max_radius_m)
    # An answer that depends on another dataset's latest version can change: only a fully
    # pinned request is immutable, and the ETag covers both contents.
    pinned = number is not None and (reference is None or reference.pinned)
    content = published.content_sha256 + (reference.content_sha256 if reference else "")
    etag = representation_etag(content, request, output)
    if not_modified(request, etag):
        return not_modified_response(etag, pinned=pinned)
    if reference is not None and not published.has_geometry:
        raise QueryError("near_route/near_stop need a dataset with geometry; this one has none",
                         "near_route" if "near_route" in request.query_params else "near_stop")
    query = parse_records_query(
        request.query_params.multi_items(), published.schema,
        has_geometry=published.has_geometry, default_limit=settings.default_limit,
        max_limit=settings.max_limit, max_radius_m=settings.max_radius_m,
        near_set=reference.near_set if reference else None,
    )
    if member_of is not None:
        query = dataclasses.replace(query, member_of=member_of)
    page = data.records(published, query, output, conn)  # type: ignore[arg-type]
    self_url = f"{base}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
    links = [{"rel": "self", "href": self_url, "type": FORMATS[output].media_type}]
    if page.next_values is not None:
        values, fid = page.next_values
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        params.append(("cursor", encode_cursor(values, fid, query)))
        links.append({"rel": "next", "href": f"{base}{request.url.path}?{urlencode(params)}",
                      "type": FORMATS[output].media_type})
    if not pinned:
        layer_path = f"/layers/{layer}" if layer else ""
        links.append({
            "rel": "pinned",
            "href": f"{base}/v1/datasets/{dataset_id}/versions/{published.version}"
                    f"{layer_path}/records",
            "type": "application/json",
        })
    context = PageContext(
        dataset_id=dataset_id, version=published.version,
        number_matched=published.row_count if query.is_unfiltered else None,
        links=links, csv_columns=page.csv_columns,
    )
    body = FORMATS[output].serialise(page.rows, context)
    response = Response(content=body, media_type=FORMATS[output].media_type)
    apply_cache_headers(response, etag, pinned=pinned)
    response.headers["X-Hub-Version"] = str(published.version)
    if page.next_values is not None:
        response.headers["Link"] = f'<{links[1]["href"]}>; rel="next"'
    return response


@router.get("/datasets/{dataset_id}/records", summary="Records of the latest version",
            description=RECORDS_DESCRIPTION, openapi_extra=RECORDS_OPENAPI,
            responses={200: {"content": {"application/geo+json": {}, "text/csv": {}}}})
def latest_records(
    dataset_id: DatasetId, request: Request, data: DataDep, settings: SettingsDep,
    base: BaseUrlDep,
) -> Response:
    return records_response(request, data, settings, base, dataset_id, None)


@router.get("/datasets/{dataset_id}/versions/{version}/records",
            summary="Records of a pinned version (cacheable forever)",
            description=RECORDS_DESCRIPTION, openapi_extra=RECORDS_OPENAPI,
            responses={200: {"content": {"application/geo+json": {}, "text/csv": {}}}})
def version_records(
    dataset_id: DatasetId, version: VersionRef, request: Request, data: DataDep,
    settings: SettingsDep, base: BaseUrlDep,
) -> Response:
    return records_response(request, data, settings, base, dataset_id, version_number(version))


LayerName = Annotated[str, Path(description="A layer of the version (e.g. `stops` of a GTFS "
                                            "feed); see the version's `layers`.",
                                examples=["stops"])]


@router.get("/datasets/{dataset_id}/layers/{layer}/records",
            summary="Records of one layer of the latest version",
            description=RECORDS_DESCRIPTION, openapi_extra=RECORDS_OPENAPI,
            responses={200: {"content": {"application/geo+json": {}, "text/csv": {}}}})
def latest_layer_records(
    dataset_id: DatasetId, layer: LayerName, request: Request, data: DataDep,
    settings: SettingsDep, base: BaseUrlDep,
) -> Response:
    return records_response(request, data, settings, base, dataset_id, None, layer)


@router.get("/datasets/{dataset_id}/versions/{version}/layers/{layer}/records",
            summary="Records of one layer of a pinned version",
            description=RECORDS_DESCRIPTION, openapi_extra=RECORDS_OPENAPI,
            responses={200: {"content": {"application/geo+json": {}, "text/csv": {}}}})
def version_layer_records(
    dataset_id: DatasetId, version: VersionRef, layer: LayerName, request: Request,
    data: DataDep, settings: SettingsDep, base: BaseUrlDep,
) -> Response:
    return records_response(request, data, settings, base, dataset_id,
                             version_number(version), layer)


# -- one record by its key ----------------------------------------------------------------

RecordKey = Annotated[str, Path(
    description="The record's key: its single-column primary key (e.g. the `id` field), "
                "else its row number `_fid` (the `id` its GeoJSON Feature carries).",
    examples=["P0000001"],
)]
RECORD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "application/geo+json": {}, "text/csv": {}}},
    404: {"description": "No such dataset, version, layer or record (problem+json)"},
    410: {"description": "The pinned version was withdrawn (problem+json)"},
}


async def record_response(
    request: Request, by_key: RecordsByKey, base: str, dataset_id: str, number: int | None,
    layer: str | None, raw_key: str,
) -> Response:
    """One record as a JSON object, a GeoJSON Feature or a one-row CSV.

    Served on the event loop (hub.data.records_by_key): a lookup by key is the most frequent
    request and almost all of its cost is per-request overhead.
    """
    unknown = sorted({k for k in request.query_params if k != "f"})
    if unknown:
        raise QueryError(f"unknown parameter '{unknown[0]}'; a single record takes only f "
                         "(use /records with filters to query)", unknown[0])
    output = choose_format(request)
    found = await by_key.record(dataset_id, number, layer, raw_key, output)  # type: ignore[arg-type]
    published = found.published
    pinned = number is not None
    etag = representation_etag(published.content_sha256, request, f"record/{raw_key}/{output}")
    if not_modified(request, etag):
        return not_modified_response(etag, pinned=pinned)
    if found.row is None:
        where = f"layer '{layer}' of " if layer else ""
        raise NotFound(f"{where}version {published.version} of dataset '{dataset_id}' has no "
                       f"record '{raw_key}'")
    response = Response(single_record(found.row, output, found.csv_columns),
                        media_type=FORMATS[output].media_type)
    apply_cache_headers(response, etag, pinned=pinned)
    response.headers["X-Hub-Version"] = str(published.version)
    if not pinned:
        layer_path = f"/layers/{layer}" if layer else ""
        canonical = (f"{base}/v1/datasets/{dataset_id}/versions/{published.version}"
                     f"{layer_path}/records/{quote(raw_key, safe='')}")
        response.headers["Link"] = f'<{canonical}>; rel="canonical"'
    return response


@router.get("/datasets/{dataset_id}/records/{record_key}",
            summary="One record of the latest version, by key", responses=RECORD_RESPONSES)
async def latest_record(dataset_id: DatasetId, record_key: RecordKey, request: Request,
                        by_key: RecordsByKeyDep, base: BaseUrlDep) -> Response:
    return await record_response(request, by_key, base, dataset_id, None, None, record_key)


@router.get("/datasets/{dataset_id}/versions/{version}/records/{record_key}",
            summary="One record of a pinned version, by key (cacheable forever)",
            responses=RECORD_RESPONSES)
async def version_record(dataset_id: DatasetId, version: VersionRef, record_key: RecordKey,
                         request: Request, by_key: RecordsByKeyDep,
                         base: BaseUrlDep) -> Response:
    return await record_response(request, by_key, base, dataset_id, version_number(version),
                                 None, record_key)


@router.get("/datasets/{dataset_id}/layers/{layer}/records/{record_key}",
            summary="One record of a layer of the latest version, by key",
            responses=RECORD_RESPONSES)
async def latest_layer_record(dataset_id: DatasetId, layer: LayerName, record_key: RecordKey,
                              request: Request, by_key: RecordsByKeyDep,
                              base: BaseUrlDep) -> Response:
    return await record_response(request, by_key, base, dataset_id, None, layer, record_key)


@router.get("/datasets/{dataset_id}/versions/{version}/layers/{layer}/records/{record_key}",
            summary="One record of a layer of a pinned version, by key",
            responses=RECORD_RESPONSES)
async def version_layer_record(dataset_id: DatasetId, version: VersionRef, layer: LayerName,
                               record_key: RecordKey, request: Request,
                               by_key: RecordsByKeyDep, base: BaseUrlDep) -> Response:
    return await record_response(request, by_key, base, dataset_id, version_number(version),
                                 layer, record_key)
