"""DCAT-AP 3 documents: ``/catalog.jsonld`` (``/catalog.ttl``, or ``Accept: text/turtle``)
and one per dataset, ``/v1/datasets/{id}/dcat.jsonld`` / ``.ttl``.

Built from the same catalogue rows as ``/v1`` and the bulk files of :mod:`hub.export`;
:func:`catalogue_entries` is shared with the CKAN-compatible API so both describe the same
files the same way.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from hub.api.caching import LATEST_CACHE
from hub.api.deps import BaseUrlDep, DataDep, SettingsDep
from hub.api.downloads import ExporterDep
from hub.catalog import PublishedVersion
from hub.data import Data
from hub.export import FORMATS, VersionExporter, version_artifacts
from hub.query.catalog import DatasetSearch
from hub.serialise import dcat

router = APIRouter(tags=["DCAT-AP"])

# Without a manifest, distributions follow the download URL pattern (no size/checksum).
PATTERN_FORMATS = ("csv", "geojson", "parquet", "gpkg", "zip")


def distributions(exporter: VersionExporter, dataset: dict[str, Any], version: PublishedVersion,
                  base: str, *, build: bool) -> tuple[dcat.Distribution, ...]:
    """The version's bulk files with size and SHA-256. ``build``: make the files when they do
    not exist yet (current versions); otherwise use what is built, else the URL pattern."""
    artifacts = None
    if build:
        artifacts = version_artifacts(exporter, dataset, version)
    else:
        manifest = exporter.manifest(version)
        artifacts = list(manifest.artifacts) if manifest is not None else None
    if artifacts is not None:
        return tuple(
            dcat.Distribution(format=a.format, title=FORMATS[a.format].title,
                              media_type=a.media_type, url=f"{base}{a.url_path}", layer=a.layer,
                              bytes=a.bytes, sha256=a.sha256)
            for a in artifacts
        )
    url = f"{base}/v1/datasets/{version.dataset_id}/versions/{version.version}"
    return tuple(
        dcat.Distribution(format=fmt, title=FORMATS[fmt].title,
                          media_type=FORMATS[fmt].media_type, url=f"{url}/download.{fmt}")
        for fmt in PATTERN_FORMATS
    )


def dataset_entry(data: Data, exporter: VersionExporter, row: dict[str, Any], base: str,
                  *, with_versions: bool = True) -> dcat.DatasetEntry:
    """One dataset: its current version's files and (optionally) every published version."""
    current = data.version(row["id"], None)
    current_entry = dcat.VersionEntry(
        current.version, current.meta.get("published_at"), current.row_count,
        current.content_sha256, distributions(exporter, row, current, base, build=True))
    versions: list[dcat.VersionEntry] = []
    if with_versions:
        for meta in data.versions(row["id"]):
            if meta["status"] != "published":
                continue
            if meta["version"] == current.version:
                versions.append(current_entry)
                continue
            pinned = PublishedVersion.from_row(meta)
            versions.append(dcat.VersionEntry(
                pinned.version, meta.get("published_at"), pinned.row_count,
                pinned.content_sha256, distributions(exporter, row, pinned, base, build=False)))
    return dcat.DatasetEntry(row, current_entry, tuple(versions), current.bbox)


def catalogue_rows(data: Data) -> list[dict[str, Any]]:
    rows, _total, _facets = data.search_datasets(DatasetSearch(limit=1_000_000))
    return rows


def catalogue_entries(data: Data, exporter: VersionExporter, base: str,
                      *, with_versions: bool = True) -> list[dcat.DatasetEntry]:
    return [dataset_entry(data, exporter, row, base, with_versions=with_versions)
            for row in catalogue_rows(data)]


def _rdf_response(graph: Any, fmt: str) -> Response:
    _name, media_type = dcat.RDF_FORMATS[fmt]
    return Response(dcat.serialise(graph, fmt), media_type=media_type,
                    headers={"Cache-Control": LATEST_CACHE, "Vary": "Accept"})


def _negotiated(request: Request, default: str) -> str:
    accept = request.headers.get("accept", "")
    if "text/turtle" in accept and "application/ld+json" not in accept:
        return "ttl"
    return default


def _catalogue(data: Data, exporter: VersionExporter, settings: Any, base: str, fmt: str
               ) -> Response:
    graph = dcat.catalogue_graph(
        catalogue_entries(data, exporter, base), base, title_ja=settings.catalogue_title,
        title_en=settings.catalogue_title, publisher=settings.catalogue_publisher)
    return _rdf_response(graph, fmt)


@router.get("/catalog.jsonld", summary="The catalogue as DCAT-AP 3 (JSON-LD; Turtle with "
            "Accept: text/turtle)",
            responses={200: {"content": {"application/ld+json": {}, "text/turtle": {}}}})
def catalogue_jsonld(request: Request, data: DataDep, exporter: ExporterDep,
                     settings: SettingsDep, base: BaseUrlDep) -> Response:
    return _catalogue(data, exporter, settings, base, _negotiated(request, "jsonld"))


@router.get("/catalog.ttl", summary="The catalogue as DCAT-AP 3 (Turtle)",
            responses={200: {"content": {"text/turtle": {}}}})
def catalogue_turtle(data: DataDep, exporter: ExporterDep, settings: SettingsDep,
                     base: BaseUrlDep) -> Response:
    return _catalogue(data, exporter, settings, base, "ttl")


DatasetId = Annotated[str, Path(description="Dataset id", examples=["kobe-aed"])]


@router.get("/v1/datasets/{dataset_id}/dcat.{ext}",
            summary="One dataset as DCAT-AP 3 (ext: jsonld or ttl)",
            responses={200: {"content": {"application/ld+json": {}, "text/turtle": {}}}})
def dataset_document(dataset_id: DatasetId, ext: str, request: Request, data: DataDep,
                     exporter: ExporterDep, base: BaseUrlDep) -> Response:
    from hub.data import NotFound

    if ext not in dcat.RDF_FORMATS:
        raise NotFound(f"no DCAT document dcat.{ext}; use dcat.jsonld or dcat.ttl")
    row = data.dataset(dataset_id)
    if row.get("current_version") is None:
        raise NotFound(f"dataset '{dataset_id}' has no published version")
    entry = dataset_entry(data, exporter, row, base)
    fmt = _negotiated(request, ext) if ext == "jsonld" else ext
    return _rdf_response(dcat.dataset_graph(entry, base), fmt)
