"""OGC API - Features documents (pure): landing, conformance, collections, queryables, the
OpenAPI 3.0 description, tileset metadata and TileJSON.

Inputs are catalogue rows and :class:`PublishedVersion` objects; outputs are JSON-ready
dicts. Feature pages are framed by :mod:`hub.serialise.records` (the text of every feature is
written by PostGIS), so nothing here touches a record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from hub.catalog import Licence, PublishedVersion, SchemaField
from hub.query.ogc_params import BBOX_LENGTHS, CRS84, SUPPORTED_CRS, temporal_field
from hub.query.tiles import MAX_TILE_INDEX, MAX_ZOOM, tiles_over, vector_layer_fields
from hub.query.values import BIGINT_MAX, BIGINT_MIN
from hub.serialise import tile_matrix_sets

GEOJSON = "application/geo+json"
JSON = "application/json"
SCHEMA_JSON = "application/schema+json"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"
MVT = "application/vnd.mapbox-vector-tile"

CONFORMANCE = (
    # Part 1: Core, GeoJSON, OpenAPI 3.0
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    # Part 2: Coordinate Reference Systems by Reference
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    # Part 3: Filtering, with CQL2
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    # OGC API - Tiles core with Mapbox vector tiles per collection, in WebMercatorQuad
    # (whose definition /ogc/tileMatrixSets serves, TMS 2.0 JSON).
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
)

_BIGINT = {"type": "integer", "minimum": BIGINT_MIN, "maximum": BIGINT_MAX}
JSON_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": _BIGINT,
    "year": _BIGINT,
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "time": {"type": "string", "format": "time"},
}


@dataclass(frozen=True)
class Collection:
    """One OGC collection: a dataset's layer, current (``version`` None) or pinned."""

    id: str
    dataset: dict[str, Any]  # catalogue row of the dataset
    published: PublishedVersion  # the version (and layer) it serves
    pinned: bool

    @property
    def base_id(self) -> str:
        """The id without the version pin (what the current collection is called)."""
        return self.id.split("@", 1)[0]


def link(href: str, rel: str, media_type: str, title: str | None = None) -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": media_type}
    if title:
        out["title"] = title
    return out


def landing(base: str) -> dict[str, Any]:
    ogc = f"{base}/ogc"
    return {
        "title": "Co-Creation Hub — OGC API - Features",
        "description": "The hub's datasets as OGC API - Features collections (Part 1 core, "
                       "Part 2 CRS, Part 3 CQL2 filtering) with vector tiles.",
        "links": [
            link(ogc, "self", JSON, "This document"),
            link(f"{ogc}/api", "service-desc", OPENAPI_30, "OpenAPI 3.0 description"),
            link(f"{base}/docs", "service-doc", "text/html", "Interactive API documentation"),
            link(f"{ogc}/conformance", "conformance", JSON, "Conformance classes"),
            link(f"{ogc}/collections", "data", JSON, "Collections"),
            link(f"{ogc}/tileMatrixSets", "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
                 JSON, "Tile matrix sets"),
        ],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": list(CONFORMANCE)}


def _title(collection: Collection, lang: str) -> str:
    row = collection.dataset
    title = row[f"title_{lang}"]
    layer = collection.published.meta.get("layer")
    if layer:
        title = f"{title} — {layer}"
    if collection.pinned:
        title = f"{title} (v{collection.published.version})"
    return title


def collection_document(collection: Collection, base: str) -> dict[str, Any]:
    """``/collections/{id}``: extent from the stored bbox, CRS list, links."""
    url = f"{base}/ogc/collections/{collection.id}"
    row, published = collection.dataset, collection.published
    links = [
        link(url, "self", JSON, "This collection"),
        link(f"{url}/items", "items", GEOJSON, "Features (GeoJSON)"),
        link(f"{url}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
             SCHEMA_JSON, "Queryable properties"),
        link(f"{base}/v1/datasets/{published.dataset_id}", "about", JSON,
             "Dataset metadata"),
        link(f"{base}/v1/datasets/{published.dataset_id}/versions", "version-history", JSON,
             "All versions"),
        link(f"{base}/v1/datasets/{published.dataset_id}/dcat.jsonld", "alternate",
             "application/ld+json", "DCAT-AP metadata"),
    ]
    licence = Licence.from_columns(row)
    if licence.document_url:
        links.append(link(licence.document_url, "license", "text/html", licence.label))
    if published.has_geometry:
        links.append(link(f"{url}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                          JSON, "Vector tilesets"))
    if collection.pinned:
        links.append(link(f"{base}/ogc/collections/{collection.base_id}", "latest-version", JSON,
                          "The current version of this collection"))
    else:
        links.append(link(f"{url}@v{published.version}", "alternate", JSON,
                          f"Version {published.version} pinned (immutable, cacheable)"))
    description = row.get("description_en") or row.get("description_ja") or ""
    document: dict[str, Any] = {
        "id": collection.id,
        "title": _title(collection, "ja"),
        "description": description,
        "keywords": list(row.get("keywords") or []),
        "itemType": "feature",
        "crs": [c.uri for c in SUPPORTED_CRS] if published.has_geometry else [CRS84],
        "storageCrs": CRS84,
        "links": links,
        # Our extension members: version and licence, for clients that show them.
        "version": published.version,
        "license": licence.id,
        "numberOfFeatures": published.row_count,
    }
    if published.bbox:
        document["extent"] = {"spatial": {"bbox": [list(published.bbox)], "crs": CRS84}}
    field = temporal_field(published.schema)
    if field is not None:
        document["x-temporal-property"] = field.name
    return document


def collections_document(collections: list[Collection], base: str) -> dict[str, Any]:
    return {
        "links": [link(f"{base}/ogc/collections", "self", JSON, "Collections")],
        "collections": [collection_document(c, base) for c in collections],
    }


def _field_schema(field: SchemaField) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": field.title_ja or field.title or field.name,
                              **JSON_TYPES[field.type]}
    if field.description:
        schema["description"] = field.description
    if field.enum:
        schema["enum"] = list(field.enum)
    return schema


def queryables(collection: Collection, base: str) -> dict[str, Any]:
    """JSON Schema of the properties a filter may name (every schema field + geometry)."""
    published = collection.published
    properties: dict[str, Any] = {}
    if published.has_geometry:
        properties["geometry"] = {"title": "Geometry", "format": "geometry-any",
                                  "x-ogc-role": "primary-geometry"}
    temporal = temporal_field(published.schema)
    for field in published.schema.fields:
        properties[field.name] = _field_schema(field)
        if temporal is not None and field.name == temporal.name:
            properties[field.name]["x-ogc-role"] = "primary-instant"
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/ogc/collections/{collection.id}/queryables",
        "type": "object",
        "title": _title(collection, "ja"),
        "properties": properties,
        "additionalProperties": False,
    }


def items_links(self_url: str, next_url: str | None, collection_url: str) -> list[dict[str, str]]:
    links = [link(self_url, "self", GEOJSON, "This page"),
             link(collection_url, "collection", JSON, "The collection")]
    if next_url:
        links.append(link(next_url, "next", GEOJSON, "Next page"))
    return links


def feature_with_links(feature_json: str, links: list[dict[str, str]]) -> bytes:
    """A PostGIS-written Feature with ``links`` spliced in (the feature is not re-encoded)."""
    body = feature_json.encode("utf-8")
    return body[:-1] + b',"links":' + orjson.dumps(links) + b"}"


# -- OpenAPI 3.0 -----------------------------------------------------------------------------


def _param(name: str, description: str, schema: dict[str, Any], *, style: str | None = None,
           explode: bool | None = None, location: str = "query") -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": location, "description": description,
                             "required": location == "path", "schema": schema}
    if style:
        param["style"] = style
    if explode is not None:
        param["explode"] = explode
    return param


# An RFC 3339 date or date-time, as the datetime parser (hub.query.ogc_params) reads one.
_INSTANT = (r"(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
            r"-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
            r"(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]0[0-9]:00))?")
DATETIME_PARAM = _param(
    "datetime", "Instant or interval (`start/end`, `../end`, `start/..`) on the collection's "
    "temporal property; only collections that have one take it.",
    {"type": "string", "pattern": rf"^({_INSTANT}|({_INSTANT}|\.\.)/({_INSTANT}|\.\.))$"})
CRS_PARAM = _param("crs", "CRS of the returned geometries.",
                   {"type": "string", "format": "uri", "enum": [c.uri for c in SUPPORTED_CRS]})

# Four corners, or six with heights, as hub.query.ogc_params.parse_bbox reads them (the
# standard's own minItems 4 / maxItems 6 would allow five, which is neither).
BBOX_SCHEMA = {"type": "array", "items": {"type": "number"},
               "anyOf": [{"minItems": count, "maxItems": count} for count in BBOX_LENGTHS]}

COMMON_ITEMS_PARAMS: list[dict[str, Any]] = [
    _param("limit", "Page size (clamped to the server maximum).",
           {"type": "integer", "minimum": 1, "default": 100}),
    _param("bbox", "minx,miny,maxx,maxy in bbox-crs (CRS84 by default: lon,lat), or six "
           "numbers with heights (not five).", BBOX_SCHEMA, style="form", explode=False),
    _param("bbox-crs", "CRS of bbox (ignored without bbox).", {"type": "string", "format": "uri",
                                        "enum": [c.uri for c in SUPPORTED_CRS]}),
    CRS_PARAM,
    _param("filter", "CQL2 filter.", {"type": "string", "minLength": 1}),
    # 'cql-text' is the pre-1.0 name, kept because GDAL 3.6 looks for it to push filters down.
    _param("filter-lang", "Encoding of filter (ignored without filter).",
           {"type": "string", "enum": ["cql2-text", "cql2-json", "cql-text"],
            "default": "cql2-text"}),
    _param("filter-crs", "CRS of geometries in filter (ignored without filter).",
           {"type": "string", "format": "uri", "enum": [c.uri for c in SUPPORTED_CRS]}),
    _param("cursor", "Opaque page position from a 'next' link.", {"type": "string"}),
]


# New items go to a dataset's current collection (its id alone), never to a pinned version
# (`id@2`) or a layer (`id.layer`), which are a 400.
CURRENT_COLLECTION_ID = _param("collectionId", "A dataset's current collection",
                               {"type": "string", "pattern": "^[^@.]+$"}, location="path")


def _json_response(description: str, media_type: str = JSON) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "object"}}}}


ERROR_RESPONSES = {
    "400": _json_response("Invalid parameter (RFC 9457 problem)", "application/problem+json"),
    "404": _json_response("Not found (RFC 9457 problem)", "application/problem+json"),
}


def openapi(collections: list[Collection], base: str, version: str,
            create_item: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0 description of ``/ogc``: generic paths plus one ``/items`` path per
    collection listing its properties as query parameters (how GDAL finds queryables).
    ``create_item`` is the POST every ``/items`` path answers (a proposed record), declared
    where the route is; without it a client reading this document would expect a 405."""
    collection_id = _param("collectionId", "Collection id", {"type": "string"}, location="path")
    paths: dict[str, Any] = {
        "/": {"get": {"summary": "Landing page", "operationId": "getLandingPage",
                      "responses": {"200": _json_response("Landing page")}}},
        "/conformance": {"get": {"summary": "Conformance classes",
                                 "operationId": "getConformance",
                                 "responses": {"200": _json_response("Conformance")}}},
        "/collections": {"get": {"summary": "Collections", "operationId": "getCollections",
                                 "responses": {"200": _json_response("Collections")}}},
        "/collections/{collectionId}": {"get": {
            "summary": "One collection", "operationId": "describeCollection",
            "parameters": [collection_id],
            "responses": {"200": _json_response("Collection"), **ERROR_RESPONSES}}},
        "/collections/{collectionId}/queryables": {"get": {
            "summary": "Queryable properties", "operationId": "getQueryables",
            "parameters": [collection_id],
            "responses": {"200": _json_response("JSON Schema", SCHEMA_JSON), **ERROR_RESPONSES}}},
        "/collections/{collectionId}/items": {"get": {
            "summary": "Features", "operationId": "getFeatures",
            "parameters": [collection_id, *COMMON_ITEMS_PARAMS],
            "responses": {"200": _json_response("Features", GEOJSON), **ERROR_RESPONSES}},
            "post": {**create_item, "operationId": "createFeature",
                     "parameters": [CURRENT_COLLECTION_ID, *create_item["parameters"]]}},
        "/collections/{collectionId}/items/{featureId}": {"get": {
            "summary": "One feature", "operationId": "getFeature",
            "parameters": [collection_id, _param("featureId", "Feature id", {"type": "string"},
                                                 location="path"),
                           CRS_PARAM],
            "responses": {"200": _json_response("Feature", GEOJSON), **ERROR_RESPONSES}}},
        "/tileMatrixSets": {"get": {
            "summary": "Tile matrix sets", "operationId": "getTileMatrixSetsList",
            "responses": {"200": _json_response("Tile matrix sets")}}},
        "/tileMatrixSets/{tileMatrixSetId}": {"get": {
            "summary": "A tile matrix set definition (TMS 2.0)",
            "operationId": "getTileMatrixSet",
            "parameters": [_param("tileMatrixSetId", "Tile matrix set id",
                                  {"type": "string", "enum": [tile_matrix_sets.ID]},
                                  location="path")],
            "responses": {"200": _json_response("Tile matrix set"), **ERROR_RESPONSES}}},
        "/collections/{collectionId}/tiles": {"get": {
            "summary": "Vector tilesets of a collection",
            "operationId": "getCollectionTileSetsList", "parameters": [collection_id],
            "responses": {"200": _json_response("Tilesets"), **ERROR_RESPONSES}}},
        "/collections/{collectionId}/tiles/WebMercatorQuad": {"get": {
            "summary": "Tileset metadata", "operationId": "getCollectionTileSet",
            "parameters": [collection_id],
            "responses": {"200": _json_response("Tileset"), **ERROR_RESPONSES}}},
        "/collections/{collectionId}/tiles/WebMercatorQuad/{z}/{y}/{x}": {"get": {
            "summary": "Mapbox vector tile (tileMatrix/tileRow/tileCol: z/y/x)",
            "operationId": "getTile",
            "parameters": [collection_id,
                           _param("z", "Zoom level (tile matrix)",
                                  {"type": "integer", "minimum": 0, "maximum": MAX_ZOOM},
                                  location="path"),
                           *(_param(n, f"{n}: below 2**z at zoom z, else 404",
                                    {"type": "integer", "minimum": 0,
                                     "maximum": MAX_TILE_INDEX}, location="path")
                             for n in ("y", "x"))],
            "responses": {"200": {"description": "Tile", "content": {MVT: {}}},
                          "204": {"description": "Empty tile"}, **ERROR_RESPONSES,
                          "422": _json_response("A z, x or y that is not an integer in its "
                                                "range (RFC 9457 problem)",
                                                "application/problem+json")}}},
    }
    for collection in collections:
        fields = [_param(f.name, f"Equality filter on '{f.name}'.", JSON_TYPES[f.type])
                  for f in collection.published.schema.fields]
        paths[f"/collections/{collection.id}/items"] = {"get": {
            "summary": f"Features of {collection.id}",
            "operationId": f"getFeatures-{collection.id}",
            "tags": [collection.id],
            "parameters": [*COMMON_ITEMS_PARAMS, *fields,
                           *([DATETIME_PARAM] if temporal_field(collection.published.schema)
                             else [])],
            "responses": {"200": _json_response("Features", GEOJSON), **ERROR_RESPONSES}},
            "post": {**create_item, "operationId": f"createFeature-{collection.id}",
                     "tags": [collection.id]}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Co-Creation Hub — OGC API - Features", "version": version,
                 "description": "OGC API - Features Parts 1-3 over the hub's catalogue."},
        "servers": [{"url": f"{base}/ogc"}],
        "paths": paths,
    }


# -- tiles -----------------------------------------------------------------------------------


def tilesets(collection: Collection, base: str) -> dict[str, Any]:
    url = f"{base}/ogc/collections/{collection.id}/tiles"
    return {
        "links": [link(url, "self", JSON, "Vector tilesets")],
        "tilesets": [tileset(collection, base)],
    }


def tileset(collection: Collection, base: str, min_zoom: int = 0,
            max_zoom: int = 22) -> dict[str, Any]:
    """Tileset metadata (OGC API - Tiles style) for the one tile matrix set we serve."""
    url = f"{base}/ogc/collections/{collection.id}/tiles/WebMercatorQuad"
    published = collection.published
    document: dict[str, Any] = {
        "title": _title(collection, "ja"),
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": tile_matrix_sets.URI,
        "links": [
            link(url, "self", JSON, "Tileset metadata"),
            link(tile_matrix_sets.url(base),
                 "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", JSON,
                 "WebMercatorQuad tile matrix set"),
            {**link(f"{url}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}", "item", MVT,
                    "Mapbox vector tiles"), "templated": True},
            link(f"{url}/tilejson.json", "alternate", JSON, "TileJSON"),
        ],
        "layers": [{"id": collection.base_id, "dataType": "vector",
                    "geometryDimension": None,
                    "minTileMatrix": str(min_zoom), "maxTileMatrix": str(max_zoom),
                    "propertiesSchema": {"type": "object", "properties": {
                        f.name: JSON_TYPES[f.type] for f in published.schema.fields}}}],
    }
    if published.bbox:
        document["boundingBox"] = {"lowerLeft": list(published.bbox[:2]),
                                   "upperRight": list(published.bbox[2:]), "crs": CRS84}
        document["tileMatrixSetLimits"] = tile_matrix_set_limits(published.bbox, min_zoom,
                                                                 max_zoom)
    return document


def tile_matrix_set_limits(bbox: tuple[float, float, float, float], min_zoom: int,
                           max_zoom: int) -> list[dict[str, Any]]:
    """The tiles of each zoom that can hold a feature (TMS 2.0 ``tileMatrixSetLimits``):
    clients such as GDAL's OGCAPI driver offer only these zooms and request only these
    tiles."""
    limits = []
    for zoom in range(min_zoom, max_zoom + 1):
        first_col, first_row, last_col, last_row = tiles_over(bbox, zoom)
        limits.append({"tileMatrix": str(zoom), "minTileRow": first_row,
                       "maxTileRow": last_row, "minTileCol": first_col,
                       "maxTileCol": last_col})
    return limits


def tilejson(collection: Collection, base: str, min_zoom: int = 0,
             max_zoom: int = 22) -> dict[str, Any]:
    """TileJSON 3.0 for MapLibre/Mapbox GL and QGIS's vector tile source."""
    url = f"{base}/ogc/collections/{collection.id}/tiles/WebMercatorQuad"
    published = collection.published
    document: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": collection.id,
        "description": _title(collection, "en"),
        "version": str(published.version),
        "attribution": str(collection.dataset.get("organisation", "")),
        "scheme": "xyz",
        "tiles": [f"{url}/{{z}}/{{y}}/{{x}}"],
        "minzoom": min_zoom,
        "maxzoom": max_zoom,
        "vector_layers": [{"id": collection.base_id,
                           "fields": vector_layer_fields(published.schema),
                           "minzoom": min_zoom, "maxzoom": max_zoom}],
    }
    if published.bbox:
        document["bounds"] = list(published.bbox)
        document["center"] = [(published.bbox[0] + published.bbox[2]) / 2,
                              (published.bbox[1] + published.bbox[3]) / 2, 14]
    return document
