"""Bulk downloads: pinned files served from the artifact store with HTTP ranges, latest
redirects, the list of every current file, and the whole-catalogue bundle.

Pinned files are immutable: ``ETag`` is the file's SHA-256, ``Cache-Control`` says
``immutable``, ``Repr-Digest``/``Digest`` carry the same hash for integrity checks, and a
single byte range (``Range: bytes=...``) resumes an interrupted download (206; 416 when
unsatisfiable). ``latest`` URLs redirect (307) to the pinned URL, so caches and download
managers always hold a file that never changes under them.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from hub.api.caching import LATEST_CACHE, conditional, stored_file, version_tags
from hub.api.deps import BaseUrlDep, DataDep
from hub.api.routing import route_per_method
from hub.api.usage import count_use
from hub.api.v1 import VersionRef, version_number
from hub.catalog import PublishedVersion
from hub.data import Data, NotFound
from hub.export import FORMATS, VersionExporter, exporter_for
from hub.export.build import Artifact
from hub.export.bundle import BUNDLE_GROUP, BUNDLE_NAME, Bundle, ensure_bundle
from hub.export.formats import version_group
from hub.query.catalog import DatasetSearch
from hub.query.model import QueryError
from hub.storage import ArtifactStore
from hub.usage.counter import DOWNLOAD

router = APIRouter(prefix="/v1", tags=["downloads"])

GET_AND_HEAD = ("GET", "HEAD")  # HEAD: size and checksums without the bytes
RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file", "content": {m: {} for m in sorted(
        {f.media_type for f in FORMATS.values()})}},
    206: {"description": "One byte range of the file (Range request)"},
    304: {"description": "Not modified (If-None-Match)"},
    307: {"description": "latest: redirect to the pinned URL (no body)",
          "headers": {"Location": {"description": "The pinned URL of the same file",
                                   "schema": {"type": "string", "format": "uri"}},
                      "X-Hub-Version": {"description": "The version redirected to",
                                        "schema": {"type": "integer"}}}},
    404: {"description": "Unknown dataset, version, layer or format"},
    410: {"description": "The version was withdrawn (problem details give the reason)"},
    416: {"description": "Range not satisfiable"},
}
FORMAT_HELP = ("File format: `csv`, `excel.csv` (UTF-8 with BOM, formulas neutralised), "
               "`geojson`, `parquet` (GeoParquet), `gpkg` (GeoPackage), `zip` "
               "(Frictionless Data Package), `pmtiles` (vector tiles of a layer with "
               "geometry).")


def get_exporter(request: Request) -> VersionExporter:
    """The app's exporter over ``HUB_ARTIFACT_DIR``, made on first use."""
    exporter = getattr(request.app.state, "exporter", None)
    if exporter is None:
        data: Data = request.app.state.data
        exporter = exporter_for(request.app.state.settings, data.engine, data.reads)
        request.app.state.exporter = exporter
    return exporter


ExporterDep = Annotated[VersionExporter, Depends(get_exporter)]
DatasetId = Annotated[str, Path(description="Dataset id, e.g. `yaizu-aed`.",
                                examples=["yaizu-aed"])]
Ext = Annotated[str, Path(description=FORMAT_HELP, examples=["csv", "parquet"],
                          json_schema_extra={"enum": list(FORMATS)})]
Variant = Annotated[str | None, Query(description="`excel`: the Excel CSV (same as "
                                                  "`download.excel.csv`); of csv only, "
                                                  "else 404.",
                                      json_schema_extra={"anyOf": [
                                          {"type": "string", "enum": ["excel"]},
                                          {"type": "null"}]})]


# -- helpers ----------------------------------------------------------------------------------


def choose_format(ext: str, variant: str | None, *, layer: str | None) -> str:
    """The file format of ``download.{ext}?variant=``. A variant other than ``excel`` is
    invalid (400); ``excel`` of a format other than csv is a file that does not exist (404),
    which is how OpenAPI can state it: both parameters are valid alone."""
    fmt = "excel.csv" if ext == "csv" and variant == "excel" else ext
    if variant not in (None, "excel"):
        raise QueryError(f"variant must be 'excel', not {variant!r}", "variant")
    if variant == "excel" and ext != "csv":
        raise NotFound(f"there is no excel variant of '{ext}': variant=excel applies to csv")
    if fmt not in FORMATS:
        raise NotFound(f"no download format '{ext}'; formats are: {', '.join(FORMATS)}")
    if layer is not None and not FORMATS[fmt].per_layer:
        raise NotFound(f"'{fmt}' files hold every layer of a version: download it from "
                       "the version itself (.../versions/{n}/download." + fmt + ")")
    return fmt


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback plus ``filename*`` (RFC 8187) for any other name."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                       for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """One ``bytes=`` range -> (start, end) inclusive; False: unsatisfiable; None: ignore
    the header and send the whole file (several ranges, other units, malformed)."""
    match = RANGE.match(header)
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return False
        return max(0, size - length), size - 1
    start = int(first)
    if last != "" and int(last) < start:
        return None  # syntactically invalid: ignored, as RFC 9110 says
    if start >= size:
        return False
    end = size - 1 if last == "" else min(int(last), size - 1)
    return start, end


def _digest_headers(sha256: str) -> dict[str, str]:
    b64 = base64.b64encode(bytes.fromhex(sha256)).decode()
    return {"Repr-Digest": f"sha-256=:{b64}:", "Digest": f"sha-256={b64}"}


def serve_file(
    request: Request, store: ArtifactStore, group: str, name: str, *, size: int, sha256: str,
    media_type: str, filename: str, pinned: bool, extra: dict[str, str] | None = None,
    tags: tuple[str, ...] = (),
) -> Response:
    """A stored file with ETag, digests, Content-Disposition and single-range support;
    ``tags``: the cache tags of the version it belongs to (none for catalogue-wide files)."""
    validator = stored_file(sha256, pinned=pinned, tags=tags)
    about_the_file = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(filename),
        **_digest_headers(sha256),
        **(extra or {}),
    }
    return conditional(request, validator, lambda: _file_body(
        request, store, group, name, size=size, media_type=media_type, etag=validator.etag),
        headers=about_the_file)


def _file_body(request: Request, store: ArtifactStore, group: str, name: str, *, size: int,
               media_type: str, etag: str) -> Response:
    """The whole file, or the one byte range asked for (``If-Range``: only while the file
    is still the one the client holds part of)."""
    headers: dict[str, str] = {}
    start, end, status = 0, size - 1, 200
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if range_header and (if_range is None or if_range.strip() == etag):
        parsed = parse_range(range_header, size)
        if parsed is False:
            problem = {"type": "range-not-satisfiable", "title": "Range not satisfiable",
                       "status": 416,
                       "detail": f"the file has {size} bytes; asked for {range_header}"}
            return Response(orjson.dumps(problem), status_code=416,
                            media_type="application/problem+json",
                            headers={"Content-Range": f"bytes */{size}"})
        if isinstance(parsed, tuple):
            start, end = parsed
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(max(end - start + 1, 0))
    headers["Content-Type"] = media_type
    if request.method == "HEAD" or size == 0:
        return Response(status_code=status, headers=headers)
    body: Iterator[bytes] = store.open_range(group, name, start, end)
    return StreamingResponse(body, status_code=status, headers=headers, media_type=media_type)


def _artifact(exporter: VersionExporter, data: Data, version: PublishedVersion, fmt: str,
              layer: str | None) -> Artifact:
    manifest = exporter.ensure(data.dataset(version.dataset_id), version)
    artifact = manifest.find(fmt, layer)
    if artifact is None:
        raise NotFound(f"version {version.version} of '{version.dataset_id}' has no "
                       f"{fmt} file" + (f" for layer '{layer}'" if layer else ""))
    return artifact


def _serve_artifact(request: Request, exporter: VersionExporter, version: PublishedVersion,
                    artifact: Artifact) -> Response:
    response = serve_file(
        request, exporter.store, version_group(version.dataset_id, version.version),
        artifact.name, size=artifact.bytes, sha256=artifact.sha256,
        media_type=artifact.media_type, filename=artifact.filename, pinned=True,
        extra={"X-Hub-Version": str(version.version)},
        tags=version_tags(version.dataset_id, version.version, pinned=True),
    )
    if is_new_download(response):
        count_use(request, DOWNLOAD, version.dataset_id, version.version, fmt=artifact.format)
    return response


def is_new_download(response: Response) -> bool:
    """A download starts with the whole file (200) or its first bytes (206 from byte 0); a
    304 from ``conditional``, a 416 or the rest of a resumed download is not a new
    download. Decided on the answer's status, so no answer without a body can be counted
    (nor a HEAD: ``count_use``)."""
    if response.status_code == 206:
        return response.headers.get("content-range", "").startswith("bytes 0-")
    return response.status_code == 200


def _pinned(request: Request, data: Data, exporter: VersionExporter, dataset_id: str,
            number: int, layer: str | None, ext: str, variant: str | None) -> Response:
    fmt = choose_format(ext, variant, layer=layer)
    version = data.version(dataset_id, number)  # 404 / 410 Gone (withdrawn)
    layer_key = None
    if layer is not None:
        data.layer(dataset_id, number, layer)  # 404 for an unknown layer
        layer_key = None if layer == version.main_layer else layer
    return _serve_artifact(request, exporter, version, _artifact(exporter, data, version, fmt,
                                                                 layer_key))


def _redirect_latest(request: Request, data: Data, base: str, dataset_id: str,
                     layer: str | None, ext: str, variant: str | None) -> Response:
    choose_format(ext, variant, layer=layer)
    version = data.version(dataset_id, None)
    if layer is not None:
        data.layer(dataset_id, version.version, layer)
    layer_path = f"/layers/{layer}" if layer else ""
    target = (f"{base}/v1/datasets/{dataset_id}/versions/{version.version}{layer_path}"
              f"/download.{ext}" + (f"?{request.url.query}" if request.url.query else ""))
    return RedirectResponse(target, status_code=307,
                            headers={"Cache-Control": LATEST_CACHE,
                                     "X-Hub-Version": str(version.version)})


# -- routes -----------------------------------------------------------------------------------


@route_per_method(router, "/datasets/{dataset_id}/versions/{version}/download.{ext}",
                  GET_AND_HEAD, responses=DOWNLOAD_RESPONSES,
                  summary="Download a pinned version (immutable, resumable)")
def version_download(dataset_id: DatasetId, version: VersionRef, ext: Ext, request: Request,
                     data: DataDep, exporter: ExporterDep, base: BaseUrlDep,
                     variant: Variant = None) -> Response:
    number = version_number(version)
    if number is None:
        return _redirect_latest(request, data, base, dataset_id, None, ext, variant)
    return _pinned(request, data, exporter, dataset_id, number, None, ext, variant)


@route_per_method(router,
                  "/datasets/{dataset_id}/versions/{version}/layers/{layer}/download.{ext}",
                  GET_AND_HEAD, responses=DOWNLOAD_RESPONSES,
                  summary="Download one layer of a pinned version")
def layer_download(dataset_id: DatasetId, version: VersionRef, layer: str, ext: Ext,
                   request: Request, data: DataDep, exporter: ExporterDep, base: BaseUrlDep,
                   variant: Variant = None) -> Response:
    number = version_number(version)
    if number is None:
        return _redirect_latest(request, data, base, dataset_id, layer, ext, variant)
    return _pinned(request, data, exporter, dataset_id, number, layer, ext, variant)


@route_per_method(router, "/datasets/{dataset_id}/download.{ext}", GET_AND_HEAD,
                  responses=DOWNLOAD_RESPONSES, status_code=307, response_class=RedirectResponse,
                  summary="Download the latest version (redirects to the pinned URL)")
def latest_download(dataset_id: DatasetId, ext: Ext, request: Request, data: DataDep,
                    base: BaseUrlDep, variant: Variant = None) -> Response:
    return _redirect_latest(request, data, base, dataset_id, None, ext, variant)


@route_per_method(router, "/datasets/{dataset_id}/layers/{layer}/download.{ext}",
                  GET_AND_HEAD, responses=DOWNLOAD_RESPONSES, status_code=307,
                  response_class=RedirectResponse,
                  summary="Download one layer of the latest version (redirect)")
def latest_layer_download(dataset_id: DatasetId, layer: str, ext: Ext, request: Request,
                          data: DataDep, base: BaseUrlDep, variant: Variant = None) -> Response:
    return _redirect_latest(request, data, base, dataset_id, layer, ext, variant)


def current_versions(data: Data) -> list[tuple[dict[str, Any], PublishedVersion]]:
    """(dataset row, current version) of every dataset that has one, by id."""
    rows, _total, _facets = data.search_datasets(DatasetSearch(limit=1_000_000))
    return [(row, data.version(row["id"], row["current_version"])) for row in rows]


@router.get("/downloads", summary="Every current bulk file, with sizes and checksums")
def list_downloads(data: DataDep, exporter: ExporterDep, base: BaseUrlDep) -> dict[str, Any]:
    current = current_versions(data)
    datasets = []
    for dataset, version in current:
        manifest = exporter.ensure(dataset, version)
        datasets.append({
            "dataset": version.dataset_id,
            "version": version.version,
            "title": {"ja": dataset["title_ja"], "en": dataset["title_en"]},
            "content_sha256": version.content_sha256,
            "files": [_file_entry(a, base) for a in manifest.artifacts],
        })
    bundle = ensure_bundle(exporter, current)
    return {"datasets": datasets, "bundle": _bundle_entry(bundle, base)}


def _file_entry(artifact: Artifact, base: str) -> dict[str, Any]:
    return {"format": artifact.format, "layer": artifact.layer, "title": FORMATS[
        artifact.format].title, "media_type": artifact.media_type,
        "url": f"{base}{artifact.url_path}", "filename": artifact.filename,
        "bytes": artifact.bytes, "sha256": artifact.sha256, "rows": artifact.rows}


def _bundle_entry(bundle: Bundle, base: str) -> dict[str, Any]:
    entry = bundle.to_dict()
    entry["url"] = f"{base}{entry.pop('url_path')}"
    return entry


@route_per_method(router, "/downloads/catalogue.zip", GET_AND_HEAD,
                  responses=DOWNLOAD_RESPONSES,
                  summary="The whole catalogue (every current version) in one zip")
def catalogue_bundle(request: Request, data: DataDep, exporter: ExporterDep) -> Response:
    bundle = ensure_bundle(exporter, current_versions(data))
    return serve_file(request, exporter.store, BUNDLE_GROUP, BUNDLE_NAME, size=bundle.bytes,
                      sha256=bundle.sha256, media_type="application/zip",
                      filename="catalogue.zip", pinned=False,
                      extra={"X-Hub-Catalogue-State": bundle.state})


