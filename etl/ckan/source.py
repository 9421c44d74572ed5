"""The hub's side of a push: each dataset with its current version and bulk files.

Bulk files are listed by whoever calls :func:`hub_datasets` (the CLI passes a function over
``hub.export.version_artifacts``; ``etl`` does not import ``hub.export``). Without one, or when
listing fails, resources are the pinned download URLs without size and hash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, select

from etl.ckan.plan import HubDataset, ResourceSpec
from hub.catalog import Licence, PublishedVersion
from hub.db.tables import datasets, versions

# Format of a bulk file -> (CKAN format label, title, media type). Labels are what CKAN's
# resource_formats.json canonicalises to, so CKAN stores what we send.
FORMAT_LABELS: dict[str, tuple[str, str, str]] = {
    "csv": ("CSV", "CSV (UTF-8)", "text/csv"),
    "excel.csv": ("CSV", "CSV for Excel (UTF-8 with BOM)", "text/csv"),
    "geojson": ("GeoJSON", "GeoJSON", "application/geo+json"),
    "parquet": ("Parquet", "GeoParquet", "application/vnd.apache.parquet"),
    "gpkg": ("GeoPackage", "GeoPackage", "application/geopackage+sqlite3"),
    "zip": ("ZIP", "Frictionless Data Package (zip)", "application/zip"),
}
DEFAULT_FORMATS = ("csv", "geojson", "parquet", "gpkg", "zip")

ArtifactLister = Callable[[dict[str, Any], PublishedVersion], Sequence[Any]]


def dataset_url(hub_url: str, dataset_id: str) -> str:
    return f"{hub_url.rstrip('/')}/v1/datasets/{dataset_id}"


def default_resources(hub_url: str, dataset_id: str, version: int,
                      formats: Iterable[str] = DEFAULT_FORMATS) -> tuple[ResourceSpec, ...]:
    """Resources from the download URL pattern, without size or hash."""
    base = f"{dataset_url(hub_url, dataset_id)}/versions/{version}"
    specs = []
    for fmt in formats:
        label, title, media_type = FORMAT_LABELS[fmt]
        specs.append(ResourceSpec(name=f"{dataset_id}-v{version}.{fmt}",
                                  url=f"{base}/download.{fmt}", format=label,
                                  description=f"{title}, version {version}",
                                  mimetype=media_type))
    return tuple(specs)


def resources_from_artifacts(hub_url: str, artifacts: Sequence[Any]) -> tuple[ResourceSpec, ...]:
    """Resources from ``hub.export.Artifact`` objects (duck-typed: format, layer, url_path,
    filename, bytes, sha256, media_type, version)."""
    specs = []
    for artifact in artifacts:
        label, title, media_type = FORMAT_LABELS.get(
            artifact.format, (artifact.format.upper(), artifact.format, artifact.media_type))
        layer = f" ({artifact.layer})" if getattr(artifact, "layer", None) else ""
        specs.append(ResourceSpec(
            name=artifact.filename,
            url=f"{hub_url.rstrip('/')}{artifact.url_path}",
            format=label,
            size=int(artifact.bytes),
            hash=f"sha256:{artifact.sha256}",
            description=f"{title}{layer}, version {artifact.version}",
            mimetype=media_type,
        ))
    return tuple(specs)


def hub_datasets(
    engine: Engine,
    hub_url: str,
    *,
    only: Sequence[str] | None = None,
    artifacts: ArtifactLister | None = None,
    on_artifact_error: Callable[[str, Exception], None] | None = None,
) -> list[HubDataset]:
    """Every dataset with a current, published (not withdrawn) version, sorted by id."""
    query = (
        select(datasets, versions)
        .join(versions, (versions.c.dataset_id == datasets.c.id)
              & (versions.c.version == datasets.c.current_version))
        .where(versions.c.status == "published")
        .order_by(datasets.c.id)
    )
    if only:
        query = query.where(datasets.c.id.in_(list(only)))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    found = []
    for row in rows:
        version = PublishedVersion.from_row(row)
        resources: tuple[ResourceSpec, ...] = ()
        if artifacts is not None:
            try:
                resources = resources_from_artifacts(hub_url, artifacts(dict(row), version))
            except Exception as exc:  # listing files must not stop the push: fall back
                if on_artifact_error:
                    on_artifact_error(row["id"], exc)
        if not resources:
            resources = default_resources(hub_url, row["id"], version.version)
        found.append(HubDataset(
            id=row["id"],
            title_ja=row["title_ja"],
            title_en=row["title_en"],
            description_ja=row["description_ja"] or "",
            description_en=row["description_en"] or "",
            organisation=row["organisation"],
            licence=Licence.from_columns(row),
            keywords=tuple(row["keywords"] or ()),
            version=version.version,
            content_sha256=version.content_sha256,
            url=dataset_url(hub_url, row["id"]),
            resources=resources,
        ))
    return found
