"""The one tile matrix set the hub serves, WebMercatorQuad (OGC 17-083r4, TMS 2.0), as the
JSON documents of ``/ogc/tileMatrixSets`` (pure).

Written out here rather than linked to the OGC's copy, so that clients (GDAL's OGCAPI
driver) read the definition from the hub itself and a map needs no other host. The numbers
are the standard's: 256-pixel tiles, origin at the top left of the EPSG:3857 square, cell
size halving with each zoom level, scale denominators at 0.28 mm per pixel.

The definition carries the TMS 1.0 JSON members too (``type``, ``identifier``,
``supportedCRS``, ``boundingBox``, ``tileMatrix``) beside the 2.0 ones, for readers of 1.0
only, such as GDAL 3.6's tile matrix set parser (GDAL 3.8 reads 2.0). The two sets of
members have different names, so a 2.0 reader sees a 2.0 document with extra members.
"""

from __future__ import annotations

from typing import Any

from hub.query.tiles import MAX_ZOOM

ID = "WebMercatorQuad"
URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
CRS = "http://www.opengis.net/def/crs/EPSG/0/3857"
HALF_WORLD = 20037508.3427892  # metres from the EPSG:3857 origin to the edge of the square
TILE_PIXELS = 256
PIXEL_METRES = 0.00028  # the "standardized rendering pixel size" of OGC scale denominators


def tile_matrix_set(base: str) -> dict[str, Any]:
    """``/ogc/tileMatrixSets/WebMercatorQuad``: every tile matrix 0..MAX_ZOOM."""
    matrices, matrices_1_0 = [], []
    for zoom in range(MAX_ZOOM + 1):
        cell = 2 * HALF_WORLD / TILE_PIXELS / (1 << zoom)
        size = {"tileWidth": TILE_PIXELS, "tileHeight": TILE_PIXELS,
                "matrixWidth": 1 << zoom, "matrixHeight": 1 << zoom}
        matrices.append({
            "id": str(zoom), "scaleDenominator": cell / PIXEL_METRES, "cellSize": cell,
            "cornerOfOrigin": "topLeft", "pointOfOrigin": [-HALF_WORLD, HALF_WORLD], **size,
        })
        matrices_1_0.append({
            "type": "TileMatrixType", "identifier": str(zoom),
            "scaleDenominator": cell / PIXEL_METRES,
            "topLeftCorner": [-HALF_WORLD, HALF_WORLD], **size,
        })
    return {
        "id": ID,
        "title": "Google Maps Compatible for the World",
        "uri": URI,
        "crs": CRS,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "links": [{"href": url(base), "rel": "self", "type": "application/json",
                   "title": "This tile matrix set"}],
        "tileMatrices": matrices,
        # TMS 1.0 (see the module doc)
        "type": "TileMatrixSetType",
        "identifier": ID,
        "supportedCRS": CRS,
        "boundingBox": {"type": "BoundingBoxType", "crs": CRS,
                        "lowerCorner": [-HALF_WORLD, -HALF_WORLD],
                        "upperCorner": [HALF_WORLD, HALF_WORLD]},
        "tileMatrix": matrices_1_0,
    }


def tile_matrix_sets(base: str) -> dict[str, Any]:
    """``/ogc/tileMatrixSets``: the list (one entry)."""
    return {
        "links": [{"href": f"{base}/ogc/tileMatrixSets", "rel": "self",
                   "type": "application/json", "title": "Tile matrix sets"}],
        "tileMatrixSets": [{
            "id": ID, "title": "Google Maps Compatible for the World", "uri": URI,
            "crs": CRS,
            "links": [{"href": url(base), "rel": "self", "type": "application/json",
                       "title": "WebMercatorQuad definition"}],
        }],
    }


def url(base: str) -> str:
    return f"{base}/ogc/tileMatrixSets/{ID}"
