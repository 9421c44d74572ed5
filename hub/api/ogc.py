"""OGC API - Features (Parts 1, 2 and 3) and vector tiles under ``/ogc``.

A thin adapter over the same catalogue, :class:`FeatureQuery`, statements and serialisers as
``/v1``: parse (hub.query.params, OGC dialects) -> data (hub.data) -> frame (hub.serialise). One
collection per dataset layer of the current version (``kobe-aed``, ``bus-routes.stops``);
any published version is reachable as ``{id}@v{n}`` (immutable, cacheable forever).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import ORJSONResponse
from sqlalchemy import Connection

from hub import __version__
from hub.api.caching import Validator, conditional, representation, version_tags
from hub.api.contributions import OGC_CREATE_ITEM
from hub.api.deps import BaseUrlDep, DataDep, RecordsByKeyDep, page_limits
from hub.api.downloads import get_exporter
from hub.api.paging import records_next_url
from hub.api.query_text import state_nul_rule
from hub.api.references import CatalogueReferences
from hub.api.usage import count_use
from hub.data import Data, NotFound
from hub.export.tile_archives import ArchivedTiles
from hub.query.catalog import DatasetSearch
from hub.query.model import FeatureQuery
from hub.query.ogc_params import (
    collection_id,
    crs_by_uri,
    parse_collection_id,
)
from hub.query.params import (
    OGC_ITEM,
    OGC_ITEMS,
    OGC_TILES,
    Dialect,
    check_record_parameters,
    parse_records_query,
)
from hub.query.tiles import MAX_TILE_INDEX, MAX_ZOOM, check_tile_ranges, tile_exists
from hub.serialise import ogc, tile_matrix_sets
from hub.serialise.records import PageContext, records_geojson
from hub.usage.counter import RECORDS, TILES

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

CollectionId = Annotated[str, Path(
    description="`{dataset}` (current version, main layer), `{dataset}.{layer}` or a pinned "
                "version `{dataset}@v{n}` / `{dataset}.{layer}@v{n}`.",
    examples=["kobe-aed", "kobe-aed@v1"],
)]


class JSONDocument(Response):
    """JSON with a chosen media type (schema+json, OpenAPI, ...)."""

    def __init__(self, content: Any, media_type: str = ogc.JSON, status_code: int = 200,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(orjson.dumps(content), status_code=status_code, headers=headers,
                         media_type=media_type)


# -- collections from the catalogue ----------------------------------------------------------


def resolve(data: Data, raw_id: str, conn: Connection | None = None) -> ogc.Collection:
    """The collection a (possibly pinned, possibly layered) id names, or :class:`NotFound`.
    ``conn``: the request's connection, when it holds one."""
    try:
        ref = parse_collection_id(raw_id)
    except LookupError:
        raise NotFound(f"collection '{raw_id}' does not exist") from None
    dataset, published = data.dataset_and_layer(ref.dataset_id, ref.version, ref.layer, conn)
    return ogc.Collection(raw_id, dataset, published, pinned=ref.version is not None)


def current_collections(data: Data) -> list[ogc.Collection]:
    """One collection per layer of every dataset's current version."""
    rows, _total, _facets = data.search_datasets(DatasetSearch(limit=100_000))
    collections: list[ogc.Collection] = []
    for row in rows:
        version = data.version(row["id"], None)
        for layer in version.layer_names:
            cid = collection_id(row["id"], layer, version.main_layer)
            collections.append(ogc.Collection(cid, row, version.layer(layer), pinned=False))
    return collections


def _validator(request: Request, collection: ogc.Collection, variant: str,
               query: FeatureQuery | None = None) -> Validator:
    """The collection's validator; an answer near another dataset's stops depends on that
    dataset's version too (as on /v1), so its content hash and pinned-ness count."""
    reference = query.near_set if query is not None else None
    content = collection.published.content_sha256 + (reference.content_sha256 if reference
                                                      else "")
    pinned = collection.pinned and (reference is None or reference.pinned)
    published = collection.published
    tags = version_tags(published.dataset_id, published.version, pinned=collection.pinned,
                        near=reference)
    return representation(content, request, variant, pinned=pinned, tags=tags)


# -- Part 1: landing, conformance, API, collections ------------------------------------------


@router.get("", summary="Landing page", response_class=ORJSONResponse)
def landing(base: BaseUrlDep) -> dict[str, Any]:
    return ogc.landing(base)


@router.get("/conformance", summary="Conformance classes implemented",
            response_class=ORJSONResponse)
def conformance() -> dict[str, Any]:
    return ogc.conformance()


@router.get("/api", summary="OpenAPI 3.0 description of /ogc",
            responses={200: {"content": {ogc.OPENAPI_30: {}}}})
def api(data: DataDep, base: BaseUrlDep) -> Response:
    document = ogc.openapi(current_collections(data), base, __version__, OGC_CREATE_ITEM)
    state_nul_rule(document)  # the door every /ogc route is behind (hub/api/query_text.py)
    return JSONDocument(document, ogc.OPENAPI_30)


@router.get("/collections", summary="Collections", response_class=ORJSONResponse)
def collections(data: DataDep, base: BaseUrlDep) -> dict[str, Any]:
    return ogc.collections_document(current_collections(data), base)


@router.get("/collections/{collection_id}", summary="One collection")
def collection(collection_id: CollectionId, request: Request, data: DataDep,
               base: BaseUrlDep) -> Response:
    found = resolve(data, collection_id)
    return conditional(request, _validator(request, found, "ogc-collection"),
                       lambda: JSONDocument(ogc.collection_document(found, base)))


@router.get("/collections/{collection_id}/queryables", summary="Queryables (JSON Schema)",
            responses={200: {"content": {ogc.SCHEMA_JSON: {}}}})
def queryables(collection_id: CollectionId, data: DataDep, base: BaseUrlDep) -> Response:
    return JSONDocument(ogc.queryables(resolve(data, collection_id), base), ogc.SCHEMA_JSON)


# -- features -----------------------------------------------------------------------------


@router.get("/collections/{collection_id}/items", summary="Features",
            responses={200: {"content": {ogc.GEOJSON: {}}}})
def items(collection_id: CollectionId, request: Request, data: DataDep,
          base: BaseUrlDep) -> Response:
    with data.connection() as conn:  # one pooled connection for the whole request
        found = resolve(data, collection_id, conn)
        # Parsed before the 304: an invalid query is a 400 whatever the ETag, and the
        # validator covers a near reference's dataset.
        query = _parse(request, found, OGC_ITEMS, data, conn)

        def features() -> Response:
            page = data.records(found.published, query, "geojson", conn)
            collection_url = f"{base}/ogc/collections/{collection_id}"
            query_string = f"?{request.url.query}" if request.url.query else ""
            self_url = f"{collection_url}/items{query_string}"
            next_url = records_next_url(request, f"{collection_url}/items", page, query)
            context = PageContext(
                dataset_id=found.published.dataset_id, version=found.published.version,
                number_matched=data.number_matched(found.published, query, page, conn),
                links=ogc.items_links(self_url, next_url, collection_url),
            )
            response = Response(records_geojson(page.rows, context), media_type=ogc.GEOJSON)
            response.headers["Content-Crs"] = \
                f"<{query.output_crs.uri if query.output_crs else ogc.CRS84}>"
            count_use(request, RECORDS, found.published.dataset_id, found.published.version,
                      len(page.rows))
            return response

        return conditional(request, _validator(request, found, "ogc-items", query), features)


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature",
            responses={200: {"content": {ogc.GEOJSON: {}}}})
async def item(collection_id: CollectionId, feature_id: str, request: Request,
               by_key: RecordsByKeyDep, base: BaseUrlDep) -> Response:
    """Served on the event loop like /v1's single records (hub.data.records_by_key)."""
    try:
        ref = parse_collection_id(collection_id)
    except LookupError:
        raise NotFound(f"collection '{collection_id}' does not exist") from None
    check_record_parameters(request.query_params.multi_items(), OGC_ITEM)
    crs = crs_by_uri(request.query_params.get("crs", ogc.CRS84), "crs")
    found = await by_key.record(ref.dataset_id, ref.version, ref.layer, feature_id, "geojson",
                                crs.output)
    pinned = ref.version is not None
    validator = representation(found.published.content_sha256, request,
                               f"ogc-item/{feature_id}", pinned=pinned,
                               tags=version_tags(ref.dataset_id, found.published.version,
                                                 pinned=pinned))

    def feature() -> Response:
        if found.row is None:
            raise NotFound(f"collection '{collection_id}' has no feature '{feature_id}'")
        collection_url = f"{base}/ogc/collections/{collection_id}"
        links = [ogc.link(f"{collection_url}/items/{feature_id}", "self", ogc.GEOJSON),
                 ogc.link(collection_url, "collection", ogc.JSON)]
        response = Response(ogc.feature_with_links(found.row[0], links),
                            media_type=ogc.GEOJSON)
        response.headers["Content-Crs"] = f"<{crs.uri}>"
        count_use(request, RECORDS, ref.dataset_id, found.published.version, 1)
        return response

    return conditional(request, validator, feature)


# -- vector tiles -------------------------------------------------------------------------


@router.get("/tileMatrixSets", summary="Tile matrix sets", response_class=ORJSONResponse)
def tile_matrix_set_list(base: BaseUrlDep) -> dict[str, Any]:
    return tile_matrix_sets.tile_matrix_sets(base)


@router.get("/tileMatrixSets/{tile_matrix_set_id}",
            summary="A tile matrix set definition (TMS 2.0 JSON)", response_class=ORJSONResponse)
def tile_matrix_set(tile_matrix_set_id: str, base: BaseUrlDep) -> dict[str, Any]:
    if tile_matrix_set_id != tile_matrix_sets.ID:
        raise NotFound(f"tile matrix set '{tile_matrix_set_id}' does not exist: this hub "
                       f"serves {tile_matrix_sets.ID} only")
    return tile_matrix_sets.tile_matrix_set(base)


@router.get("/collections/{collection_id}/tiles", summary="Vector tilesets of a collection",
            response_class=ORJSONResponse)
def tilesets(collection_id: CollectionId, data: DataDep, base: BaseUrlDep) -> dict[str, Any]:
    return ogc.tilesets(_with_geometry(data, collection_id), base)


@router.get("/collections/{collection_id}/tiles/WebMercatorQuad",
            summary="Tileset metadata (WebMercatorQuad)", response_class=ORJSONResponse)
def tileset(collection_id: CollectionId, data: DataDep, base: BaseUrlDep) -> dict[str, Any]:
    return ogc.tileset(_with_geometry(data, collection_id), base)


@router.get("/collections/{collection_id}/tiles/WebMercatorQuad/tilejson.json",
            summary="TileJSON 3.0", response_class=ORJSONResponse)
def tilejson(collection_id: CollectionId, data: DataDep, base: BaseUrlDep) -> dict[str, Any]:
    return ogc.tilejson(_with_geometry(data, collection_id), base)


def _tile_source(request: Request) -> ArchivedTiles:
    """The app's tiles, from PMTiles archives where built (made on first use)."""
    source = getattr(request.app.state, "tile_source", None)
    if source is None:
        source = ArchivedTiles(request.app.state.tiles, get_exporter(request))
        request.app.state.tile_source = source
    return source


TileSourceDep = Annotated[ArchivedTiles, Depends(_tile_source)]


# Ranges documented here and checked by check_tile_ranges (400 naming the parameter).
TileMatrix = Annotated[int, Path(description="Zoom level (tile matrix).", examples=[14],
                                 json_schema_extra={"minimum": 0, "maximum": MAX_ZOOM})]
TileIndex = Annotated[int, Path(examples=[0],
                                description="Row (y, tileRow) or column (x, tileCol); below "
                                "2**z at zoom z, else 404.",
                                json_schema_extra={"minimum": 0, "maximum": MAX_TILE_INDEX})]


@router.get("/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{y}/{x}",
            summary="Mapbox vector tile (tileMatrix/tileRow/tileCol); 204 when empty",
            responses={200: {"content": {ogc.MVT: {}}}, 204: {"description": "Empty tile"}})
def tile(collection_id: CollectionId, z: TileMatrix, y: TileIndex, x: TileIndex,
         request: Request, data: DataDep, tiles: TileSourceDep) -> Response:
    check_tile_ranges(z, x, y)
    if not tile_exists(z, x, y):
        raise NotFound(f"tile {z}/{x}/{y} is outside WebMercatorQuad: at zoom {z} columns "
                       f"and rows run 0..{(1 << z) - 1}")
    with data.connection() as conn:  # one pooled connection for the whole request
        found = _with_geometry(data, collection_id, conn)
        # Tiles take the same filters as /items (property filters, filter=, datetime=),
        # parsed before the 304 like /items.
        query = _parse(request, found, OGC_TILES, data, conn)

        def vector_tile() -> Response:
            body = tiles.tile(found.published, query, found.base_id, z, x, y, conn)
            count_use(request, TILES, found.published.dataset_id, found.published.version)
            return Response(body, status_code=200 if body else 204,
                            media_type=ogc.MVT if body else None)

        return conditional(request, _validator(request, found, f"mvt/{z}/{y}/{x}", query),
                           vector_tile)


def _parse(request: Request, found: ogc.Collection, dialect: Dialect, data: Data,
           conn: Connection) -> FeatureQuery:
    """The request's records parameters against the collection, in ``dialect``."""
    return parse_records_query(
        request.query_params.multi_items(), found.published.schema,
        has_geometry=found.published.has_geometry, limits=page_limits(request, dialect),
        dialect=dialect, resolver=CatalogueReferences(data, conn),
    )


def _with_geometry(data: Data, raw_id: str, conn: Connection | None = None) -> ogc.Collection:
    found = resolve(data, raw_id, conn)
    if not found.published.has_geometry:
        raise NotFound(f"collection '{raw_id}' has no geometry, so no tiles")
    return found
