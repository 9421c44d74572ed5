"""Frictionless Data Package: ``datapackage.json`` (Table Schema, licence, sources, per
resource path, bytes and ``sha256:`` hash) zipped with the CSV file of every layer.

The zip is deterministic: entries are stored in a fixed order with the version's publication
time as their timestamp, so rebuilding a version's package yields the same bytes.
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, BinaryIO

import orjson

from hub.catalog import Licence, PublishedVersion

PROFILE = "data-package"
RESOURCE_PROFILE = "tabular-data-resource"
# Constraints that describe the normalised values we publish. ``pattern`` and ``enum`` are
# written for the source files (before normalisation) and are therefore left out.
KEPT_CONSTRAINTS = ("required", "unique", "minimum", "maximum", "minLength", "maxLength")
# DEFLATE level of the zip's members. Level 1 compresses the 1M-row benchmark CSV (96 MiB)
# in ~1 s instead of ~2.9 s at zlib's default 6, for a zip of 16.5 MiB instead of 14.3: the
# zip stays a sixth of its CSV and is written at nearly the speed of COPY.
ZIP_LEVEL = 1


def table_schema(version: PublishedVersion) -> dict[str, Any]:
    """The layer's Table Schema as the CSV files carry it (geometry as WKT text last)."""
    fields = []
    for raw in version.schema.raw.get("fields", []):
        field: dict[str, Any] = {"name": raw["name"], "type": raw.get("type", "string")}
        for key in ("title", "description"):
            if raw.get(key):
                field[key] = raw[key]
        constraints = {k: v for k, v in (raw.get("constraints") or {}).items()
                       if k in KEPT_CONSTRAINTS}
        if constraints:
            field["constraints"] = constraints
        if field["type"] == "boolean":
            field["trueValues"], field["falseValues"] = ["true"], ["false"]
        fields.append(field)
    if version.has_geometry:
        fields.append({"name": "geometry", "type": "string", "format": "wkt",
                       "description": "Geometry as WKT, EPSG:4326 (longitude latitude)."})
    schema: dict[str, Any] = {"fields": fields, "missingValues": [""]}
    if version.schema.primary_key:
        schema["primaryKey"] = list(version.schema.primary_key)
    return schema


def descriptor(
    dataset: dict[str, Any], version: PublishedVersion, resources: list[dict[str, Any]],
    *, base_url: str = "",
) -> dict[str, Any]:
    """``datapackage.json`` for one version; ``resources`` carry name, path, bytes, hash."""
    definition = dataset.get("definition") or {}
    stated = Licence.from_columns(dataset)
    # ``name`` is the licence id (SPDX where it has one), ``path`` its text, ``title`` for people.
    licence: dict[str, Any] = {"name": stated.id, "title": stated.label}
    if stated.document_url:
        licence["path"] = stated.document_url
    source = definition.get("source") or {}
    sources = [{"title": version.meta.get("source_name") or "source"}]
    if source.get("url"):
        sources[0]["path"] = source["url"]
    if version.meta.get("source_sha256"):
        sources[0]["x-sha256"] = version.meta["source_sha256"]
    published = version.meta.get("published_at")
    url = f"{base_url}/v1/datasets/{version.dataset_id}/versions/{version.version}"
    return {
        "profile": PROFILE,
        "name": version.dataset_id,
        "id": url if base_url else f"{version.dataset_id}/v{version.version}",
        "title": dataset["title_en"],
        "x-title-ja": dataset["title_ja"],
        "description": dataset.get("description_en") or dataset.get("description_ja") or "",
        "version": str(version.version),
        "created": published.isoformat() if isinstance(published, datetime) else published,
        "keywords": list(dataset.get("keywords") or []),
        "licenses": [licence],
        "sources": sources,
        "contributors": [{"title": dataset["organisation"], "role": "publisher"}],
        "x-content-sha256": version.content_sha256,
        "resources": resources,
    }


def resource(version: PublishedVersion, name: str, path: str, size: int, sha256: str,
             title: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "path": path,
        "profile": RESOURCE_PROFILE,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "bytes": size,
        "hash": f"sha256:{sha256}",
        "dialect": {"delimiter": ",", "doubleQuote": True, "header": True},
        "schema": table_schema(version),
    }
    if title:
        entry["title"] = title
    return entry


def zip_time(version: PublishedVersion) -> tuple[int, int, int, int, int, int]:
    published = version.meta.get("published_at")
    if isinstance(published, datetime):
        return published.timetuple()[:6]  # type: ignore[return-value]
    return (1980, 1, 1, 0, 0, 0)


def write_zip(
    out: BinaryIO,
    members: list[tuple[str, Callable[[], AbstractContextManager[BinaryIO]]]],
    descriptor_json: dict[str, Any],
    when: tuple[int, int, int, int, int, int],
) -> None:
    """``datapackage.json`` first, then each member streamed from its opener (bounded memory)."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=ZIP_LEVEL) as zf:
        info = _info("datapackage.json", when)
        zf.writestr(info, orjson.dumps(descriptor_json, option=orjson.OPT_INDENT_2))
        for arcname, opener in members:
            with opener() as source, zf.open(_info(arcname, when), "w",
                                             force_zip64=True) as target:
                shutil.copyfileobj(source, target, 1024 * 1024)


def _info(name: str, when: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when)
    info.compress_type = zipfile.ZIP_DEFLATED
    # A ZipInfo handed to ZipFile.open() keeps its own level (None: zlib's default, 6), not
    # the ZipFile's; the attribute became public in Python 3.13.
    if sys.version_info >= (3, 13):
        info.compress_level = ZIP_LEVEL
    else:
        info._compresslevel = ZIP_LEVEL
    info.external_attr = 0o644 << 16
    return info
