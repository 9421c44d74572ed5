"""The native ``/v1`` API: catalogue search, versions and records.

Routes read like a table of contents: parse -> query object -> data -> serialiser.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from hub.api.auth import problem_response
from hub.api.bounds import MAX_ID, VERSION_PATTERN
from hub.api.caching import conditional, representation, version_tags
from hub.api.deps import BaseUrlDep, DataDep, RecordsByKeyDep, page_limits
from hub.api.errors import NotAcceptable
from hub.api.paging import next_link_header, records_next_url
from hub.api.references import CatalogueReferences
from hub.api.usage import count_use
from hub.catalog import PublishedVersion
from hub.data import NotFound
from hub.data.records_by_key import RecordsByKey
from hub.query.catalog import DatasetSearch
from hub.query.model import FeatureQuery, PageLimits, QueryError
from hub.query.ogc_params import NUMBER
from hub.query.operators import operators_markdown
from hub.query.params import (
    NEAR_REFERENCE_PATTERN,
    Q_MAX_LENGTH,
    V1,
    V1_RECORD,
    check_record_parameters,
    parse_records_query,
)
from hub.serialise.catalog import dataset_detail, dataset_summary, version_detail, version_summary
from hub.serialise.records import FORMATS, MEDIA_TYPES, PageContext, single_record
from hub.usage.counter import RECORDS

router = APIRouter(prefix="/v1", tags=["datasets"])

DatasetId = Annotated[str, Path(description="Dataset id, e.g. `yaizu-aed`.",
                                examples=["yaizu-aed"])]
VersionRef = Annotated[
    str,
    Path(description="A version number (pinned, immutable) or `latest`.", examples=["1", "latest"],
         json_schema_extra={"pattern": VERSION_PATTERN}),
]
RECORDS_DESCRIPTION = f"""
Records of a dataset version, filtered, sorted and paged.

* **Property filters** on any schema field, datasette-style `field__op=value`
  (`field=value` is `field__exact=value`):
{operators_markdown()}
* **q**: text search over all text fields (every word must occur; width- and case-insensitive).
* **bbox** = `minLon,minLat,maxLon,maxLat` (EPSG:4326).
* **near** = `lat,lon` with optional **radius** in metres: adds `distance_m` and sorts by it
  (without radius: nearest first, index-assisted).
* **within** / **intersects**: a GeoJSON geometry or WKT (lon lat).
* **near_route** = `<gtfs dataset>[@<version>]:<route_id>` or **near_stop** =
  `<gtfs dataset>[@<version>]:<stop_id>` with **radius**: records within that many metres of
  any stop of the route or its station (or of the stop / station), with `distance_m`,
  `nearest_stop_id` and `nearest_stop_name`, nearest first.
* **sort** = `field,-other` (`-` descending; `distance_m` with near). **fields** = `a,b`.
* **limit** (capped) and **cursor** (opaque, from the `next` link; keyset paging).
* Output by `?f=json|geojson|csv` or the `Accept` header.
* Any other parameter is refused (400) unless it names a field.
"""


def _query_parameter(name: str, description: str, example: str | None,
                     schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A records parameter; ``example`` None for one that excludes another parameter's
    example (example-based testing sends every example together)."""
    parameter = {"name": name, "in": "query", "required": False, "description": description,
                 "schema": schema or {"type": "string"}}
    return parameter if example is None else {**parameter, "example": example}


# A near reference as the parser reads it; empty is no reference (a form field left blank).
NEAR_REFERENCE_SCHEMA = {"type": "string", "pattern": f"^$|{NEAR_REFERENCE_PATTERN}"}

# The records query string is parsed by hub.query.params (field names depend on the dataset),
# so the reserved parameters are documented here rather than declared as FastAPI parameters.
RECORDS_OPENAPI: dict[str, Any] = {
    "parameters": [
        _query_parameter("q", "Words that must all occur in some text field; spelling "
                         "variants match (width, kana, 車椅子 = 車いす, docs/api.md).", "病院",
                         {"type": "string", "maxLength": Q_MAX_LENGTH}),
        _query_parameter("bbox", "minLon,minLat,maxLon,maxLat (EPSG:4326; min before max, "
                         "inside the world), or six numbers with heights.",
                         "135.18,34.68,135.21,34.70",
                         {"type": "string", "pattern": f"^{NUMBER}(,{NUMBER}){{3}}"
                                                       f"(,{NUMBER},{NUMBER})?$"}),
        _query_parameter("near", "lat,lon (latitude first, -90..90 and -180..180); adds "
                         "distance_m, sorts by it.", "34.6946,135.1956",
                         {"type": "string", "pattern": f"^{NUMBER},{NUMBER}$"}),
        _query_parameter("radius", "Metres around `near`, `near_route` or `near_stop`, at most "
                         "HUB_MAX_RADIUS_M; without one of them it qualifies nothing and is "
                         "ignored (its value is still checked).", "500",
                         {"type": "number", "exclusiveMinimum": 0}),
        _query_parameter("within", "Polygon as GeoJSON or WKT (lon lat).",
                         "POLYGON ((135.18 34.68, 135.21 34.68, 135.21 34.70, 135.18 34.68))"),
        _query_parameter("intersects", "Any geometry as GeoJSON or WKT (lon lat).",
                         "LINESTRING (135.18 34.69, 135.21 34.69)"),
        _query_parameter("near_route", "Within `radius` metres of any stop (platform, pole) "
                         "the route's trips stop at, or of the station (location_type 1) such a "
                         "stop belongs to, in a GTFS dataset: "
                         "`<dataset>[@<version>]:<route_id>`. Adds distance_m, nearest_stop_id "
                         "and nearest_stop_name (the nearest of those stops and stations). Needs "
                         "`radius`; not with `near_stop` or `near` (400), e.g. "
                         "`bus-routes-muroran:100310`.",
                         None, NEAR_REFERENCE_SCHEMA),
        _query_parameter("near_stop", "Within `radius` metres of a stop (a station includes "
                         "its poles): `<dataset>[@<version>]:<stop_id>`. Needs `radius`; not "
                         "with `near_route` or `near` (400), e.g. `bus-routes-muroran:0211`.",
                         None, NEAR_REFERENCE_SCHEMA),
        _query_parameter("sort", "Fields, `-` for descending; `distance_m` with near.",
                         "-name"),
        _query_parameter("fields", "Properties to return.", "name,address"),
        _query_parameter("limit", "Page size, at most HUB_MAX_LIMIT.", "50",
                         {"type": "integer", "minimum": 1}),
        _query_parameter("cursor", "Opaque keyset cursor from the `next` link.", None),
        _query_parameter("f", "Output format (or use Accept).", "geojson",
                         {"type": "string", "enum": list(FORMATS)}),
    ]
}


def document_records_bounds(app: FastAPI, limits: PageLimits) -> None:
    """The records' `limit` and `radius` stop at settings (HUB_MAX_LIMIT, HUB_MAX_RADIUS_M),
    which the parser applies (``PageLimits``); the document states them once the app has its
    settings. Every operation that takes the records parameters (`near_route` marks them)."""
    build = app.openapi
    maxima = {"limit": limits.maximum, "radius": limits.max_radius_m}

    def openapi() -> dict[str, Any]:
        schema = build()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                parameters = operation.get("parameters", [])
                if any(p.get("name") == "near_route" for p in parameters):
                    for parameter in parameters:
                        if parameter["name"] in maxima:  # a copy: the dicts are shared
                            parameter["schema"] = {**parameter["schema"],
                                                   "maximum": maxima[parameter["name"]]}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def version_number(ref: str) -> int | None:
    """``None`` for ``latest``, else the version number; 400 for anything VERSION_PATTERN
    (the documented form) does not allow."""
    if re.fullmatch(VERSION_PATTERN, ref) is None:
        raise QueryError(f"version must be a positive integer or 'latest' (at most nine "
                         f"digits), not {ref!r}", "version")
    return None if ref == "latest" else int(ref)


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
    q: Annotated[str | None, Query(description="Words in id, titles, keywords, descriptions "
                                               "(spelling variants match); title matches first.",
                                   examples=["AED"])] = None,
    keyword: Annotated[list[str] | None, Query(description="Keep datasets with all these "
                                               "keywords (repeatable).")] = None,
    organisation: Annotated[str | None, Query(description="Exact organisation name.")] = None,
    licence: Annotated[str | None, Query(description="Licence id, e.g. CC-BY-4.0 or "
                                         "PDL-1.0 (docs/publishing.md).")] = None,
    format: Annotated[str | None, Query(description="Source format: `table` (CSV/Excel), "
                                        "`gtfs` or `gtfs-ride`.")] = None,
    has_map: Annotated[bool | None, Query(description="Only datasets whose current version "
                                          "has (true) or lacks (false) geometry.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
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
    request: Request,
) -> Any:
    number = version_number(version)
    published = data.version(dataset_id, number)
    pinned = number is not None
    validator = representation(published.content_sha256, request, "version-metadata",
                               pinned=pinned,
                               tags=version_tags(dataset_id, published.version, pinned=pinned))
    return conditional(request, validator,
                       lambda: JSONResponse(jsonable_encoder(version_detail(published.meta, base))))


# -- what a path names: a dataset, its latest or a pinned version, maybe one layer ------------


@dataclass(frozen=True)
class VersionAddress:
    """The version (and layer) a records path names. ``number`` None: ``latest``, which moves
    with each publish; a number: pinned, immutable. ``layer`` None: the main layer."""

    dataset_id: str
    number: int | None
    layer: str | None = None

    @property
    def pinned(self) -> bool:
        return self.number is not None

    def pinned_path(self, number: int) -> str:
        """The path of the same records in version ``number`` (a ``latest`` answer's pin)."""
        layer_path = f"/layers/{self.layer}" if self.layer else ""
        return f"/v1/datasets/{self.dataset_id}/versions/{number}{layer_path}/records"


LayerName = Annotated[str, Path(description="A layer of the version (e.g. `stops` of a GTFS "
                                            "feed); see the version's `layers`.",
                                examples=["stops"])]


# One dependency per path shape: each declares (and documents) exactly its path parameters.
# ``async``: they only parse, and a plain ``def`` would cost a thread hop (see hub.api.deps).
async def latest_address(dataset_id: DatasetId) -> VersionAddress:
    return VersionAddress(dataset_id, None)


async def pinned_address(dataset_id: DatasetId, version: VersionRef) -> VersionAddress:
    return VersionAddress(dataset_id, version_number(version))


async def latest_layer_address(dataset_id: DatasetId, layer: LayerName) -> VersionAddress:
    return VersionAddress(dataset_id, None, layer)


async def pinned_layer_address(dataset_id: DatasetId, version: VersionRef,
                               layer: LayerName) -> VersionAddress:
    return VersionAddress(dataset_id, version_number(version), layer)


AddressDependency = Callable[..., Awaitable[VersionAddress]]


@dataclass(frozen=True)
class AddressedRoute:
    """One path of a handler that serves every version address, with its own OpenAPI name
    (``name`` makes the operationId) and summary."""

    path: str
    address: AddressDependency
    name: str
    summary: str


# -- records ----------------------------------------------------------------------------------


def records_response(
    request: Request, data: DataDep, base: str, address: VersionAddress,
    member_of: tuple[str, Any] | None = None,
) -> Response:
    """Records of one version (or layer): one pooled connection serves the whole request."""
    with data.connection() as conn:
        published: PublishedVersion = data.layer(address.dataset_id, address.number,
                                                 address.layer, conn)
        output = choose_format(request)
        # Parsed before the 304: an invalid query is a 400 whatever the ETag, and a near
        # reference names the version of the dataset its stops come from.
        query = parse_records_query(
            request.query_params.multi_items(), published.schema,
            has_geometry=published.has_geometry, limits=page_limits(request, V1),
            resolver=CatalogueReferences(data, conn),
        )
        if member_of is not None:
            query = dataclasses.replace(query, member_of=member_of)
        reference = query.near_set
        # An answer that depends on another dataset's latest version can change: only a fully
        # pinned request is immutable, and the ETag covers both contents.
        pinned = address.pinned and (reference is None or reference.pinned)
        content = published.content_sha256 + (reference.content_sha256 if reference else "")
        tags = version_tags(address.dataset_id, published.version, pinned=address.pinned,
                            near=reference)
        validator = representation(content, request, output, pinned=pinned, tags=tags)
        return conditional(request, validator, lambda: _records_page(
            conn, request, data, base, address, published, output, query))


def _records_page(
    conn: Any, request: Request, data: DataDep, base: str, address: VersionAddress,
    published: PublishedVersion, output: str, query: FeatureQuery,
) -> Response:
    """The page itself, once no 304 answers the request."""
    page = data.records(published, query, output, conn)  # type: ignore[arg-type]
    media_type = FORMATS[output].media_type
    self_url = f"{base}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
    links = [{"rel": "self", "href": self_url, "type": media_type}]
    next_url = records_next_url(request, f"{base}{request.url.path}", page, query)
    if next_url is not None:
        links.append({"rel": "next", "href": next_url, "type": media_type})
    if not address.pinned:
        links.append({"rel": "pinned", "href": base + address.pinned_path(published.version),
                      "type": "application/json"})
    context = PageContext(
        dataset_id=address.dataset_id, version=published.version,
        number_matched=data.number_matched(published, query, page, conn),
        links=links, csv_columns=page.csv_columns,
    )
    response = Response(content=FORMATS[output].serialise(page.rows, context),
                        media_type=media_type)
    response.headers["X-Hub-Version"] = str(published.version)
    if next_url is not None:
        response.headers["Link"] = next_link_header(next_url)
    count_use(request, RECORDS, address.dataset_id, published.version, len(page.rows))
    return response


def _records_endpoint(address: AddressDependency) -> Callable[..., Response]:
    def records(request: Request, data: DataDep, base: BaseUrlDep,
                target: VersionAddress = Depends(address)) -> Response:
        return records_response(request, data, base, target)
    return records


RECORDS_ROUTES = (
    AddressedRoute("/datasets/{dataset_id}/records", latest_address,
                   "latest_records", "Records of the latest version"),
    AddressedRoute("/datasets/{dataset_id}/versions/{version}/records", pinned_address,
                   "version_records", "Records of a pinned version (cacheable forever)"),
    AddressedRoute("/datasets/{dataset_id}/layers/{layer}/records", latest_layer_address,
                   "latest_layer_records", "Records of one layer of the latest version"),
    AddressedRoute("/datasets/{dataset_id}/versions/{version}/layers/{layer}/records",
                   pinned_layer_address,
                   "version_layer_records", "Records of one layer of a pinned version"),
)
for _route in RECORDS_ROUTES:
    router.add_api_route(
        _route.path, _records_endpoint(_route.address), methods=["GET"], name=_route.name,
        summary=_route.summary, description=RECORDS_DESCRIPTION, openapi_extra=RECORDS_OPENAPI,
        responses={200: {"content": {"application/geo+json": {}, "text/csv": {}}},
                   422: problem_response("`unknown-reference`: a well-formed `near_route` or "
                                         "`near_stop` naming a dataset, route or stop the "
                                         "catalogue does not hold")},
    )


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


async def record_response(request: Request, by_key: RecordsByKey, base: str,
                          address: VersionAddress, raw_key: str) -> Response:
    """One record as a JSON object, a GeoJSON Feature or a one-row CSV.

    Served on the event loop (hub.data.records_by_key): a lookup by key is the most frequent
    request and almost all of its cost is per-request overhead.
    """
    check_record_parameters(request.query_params.multi_items(), V1_RECORD)
    output = choose_format(request)
    found = await by_key.record(address.dataset_id, address.number, address.layer, raw_key,
                                output)  # type: ignore[arg-type]
    published = found.published
    validator = representation(published.content_sha256, request, f"record/{raw_key}/{output}",
                               pinned=address.pinned,
                               tags=version_tags(address.dataset_id, published.version,
                                                 pinned=address.pinned))

    def record() -> Response:
        if found.row is None:
            where = f"layer '{address.layer}' of " if address.layer else ""
            raise NotFound(f"{where}version {published.version} of dataset "
                           f"'{address.dataset_id}' has no record '{raw_key}'")
        response = Response(single_record(found.row, output, found.csv_columns),
                            media_type=FORMATS[output].media_type)
        response.headers["X-Hub-Version"] = str(published.version)
        if not address.pinned:
            canonical = (f"{base}{address.pinned_path(published.version)}/"
                         f"{quote(raw_key, safe='')}")
            response.headers["Link"] = f'<{canonical}>; rel="canonical"'
        count_use(request, RECORDS, address.dataset_id, published.version, 1)
        return response

    return conditional(request, validator, record)


async def _record_key(record_key: RecordKey) -> str:
    """The key, as a dependency so that OpenAPI lists it after the version's parameters."""
    return record_key


def _record_endpoint(address: AddressDependency) -> Callable[..., Awaitable[Response]]:
    async def record(request: Request, by_key: RecordsByKeyDep, base: BaseUrlDep,
                     target: VersionAddress = Depends(address),
                     record_key: str = Depends(_record_key)) -> Response:
        return await record_response(request, by_key, base, target, record_key)
    return record


RECORD_ROUTES = (
    AddressedRoute("/datasets/{dataset_id}/records/{record_key}", latest_address,
                   "latest_record", "One record of the latest version, by key"),
    AddressedRoute("/datasets/{dataset_id}/versions/{version}/records/{record_key}",
                   pinned_address, "version_record",
                   "One record of a pinned version, by key (cacheable forever)"),
    AddressedRoute("/datasets/{dataset_id}/layers/{layer}/records/{record_key}",
                   latest_layer_address, "latest_layer_record",
                   "One record of a layer of the latest version, by key"),
    AddressedRoute("/datasets/{dataset_id}/versions/{version}/layers/{layer}/records/"
                   "{record_key}", pinned_layer_address, "version_layer_record",
                   "One record of a layer of a pinned version, by key"),
)
for _route in RECORD_ROUTES:
    router.add_api_route(_route.path, _record_endpoint(_route.address), methods=["GET"],
                         name=_route.name, summary=_route.summary, responses=RECORD_RESPONSES)
