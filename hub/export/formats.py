"""Bulk file formats, their media types, and how files are named in the store and for users.

Naming (store keys mirror the URLs):

* ``<dataset>/v<n>/download.<ext>``                 the main layer (or the whole version)
* ``<dataset>/v<n>/layers/<layer>/download.<ext>``  another layer of a multi-layer version
* ``<dataset>/v<n>/manifest.json``                   sizes and checksums, written last

CSV, Excel CSV, GeoJSON and GeoParquet exist per layer, and PMTiles (vector tiles) per layer
with geometry; the GeoPackage (one table per layer) and the Data Package zip (one resource
per layer) hold the whole version.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileFormat:
    name: str  # what follows "download." in URLs and store keys
    media_type: str
    per_layer: bool
    title: str


FORMATS: dict[str, FileFormat] = {
    "csv": FileFormat("csv", "text/csv; charset=utf-8; header=present", True,
                      "CSV (UTF-8)"),
    "excel.csv": FileFormat("excel.csv", "text/csv; charset=utf-8; header=present", True,
                            "CSV for Excel (UTF-8 with BOM, formulas neutralised)"),
    "geojson": FileFormat("geojson", "application/geo+json", True, "GeoJSON"),
    "parquet": FileFormat("parquet", "application/vnd.apache.parquet", True, "GeoParquet"),
    "gpkg": FileFormat("gpkg", "application/geopackage+sqlite3", False,
                       "GeoPackage (all layers)"),
    "zip": FileFormat("zip", "application/zip", False,
                      "Frictionless Data Package (zip, all layers)"),
    # Layers with geometry only (hub.export.pmtiles_archive).
    "pmtiles": FileFormat("pmtiles", "application/vnd.pmtiles", True,
                          "PMTiles (Mapbox vector tiles)"),
}
MANIFEST = "manifest.json"


def version_group(dataset_id: str, version: int) -> str:
    """Store group of one version's files."""
    return f"{dataset_id}/v{version}"


def member_name(fmt: str, layer: str | None = None) -> str:
    """Store name of a file within its version group (``layer`` None: main/whole version)."""
    if layer is None:
        return f"download.{fmt}"
    return f"layers/{layer}/download.{fmt}"


def url_path(dataset_id: str, version: int, fmt: str, layer: str | None = None) -> str:
    """The pinned download URL path."""
    base = f"/v1/datasets/{dataset_id}/versions/{version}"
    return f"{base}/{member_name(fmt, layer)}"


def download_filename(dataset_id: str, version: int, fmt: str, layer: str | None = None) -> str:
    """What the user's browser saves: ``kobe-aed-v3.csv``, ``bus-v2-stops.parquet``,
    ``kobe-aed-v3-excel.csv``."""
    stem = f"{dataset_id}-v{version}" + (f"-{layer}" if layer else "")
    if fmt == "excel.csv":
        return f"{stem}-excel.csv"
    return f"{stem}.{fmt}"


def resource_name(dataset_id: str, layer: str, main_layer: str) -> str:
    """Table/resource name of a layer inside the GeoPackage and the Data Package: the
    dataset's id (``-`` -> ``_``) for a single-layer version's default layer, else the layer."""
    if layer == main_layer and layer == "records":
        return dataset_id.replace("-", "_")
    return layer
