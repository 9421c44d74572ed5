"""Bulk files of versions: writers, the per-version build, and the catalogue bundle.

Other surfaces (DCAT distributions, CKAN resources) list a version's files with
:func:`version_artifacts`; each :class:`Artifact` has format, media type, URL path, byte
size and SHA-256.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from hub.data.exports import ExportSource
from hub.data.read_routing import ReadRouting
from hub.data.tiles import Tiles
from hub.export.build import Artifact, Manifest, VersionExporter
from hub.export.formats import FORMATS, FileFormat
from hub.settings import Settings
from hub.storage import store_for

__all__ = ["FORMATS", "Artifact", "FileFormat", "Manifest", "VersionExporter",
           "exporter_for", "version_artifacts"]


def exporter_for(settings: Settings, engine: Engine,
                 reads: ReadRouting | None = None) -> VersionExporter:
    """The exporter of the configured store (``HUB_ARTIFACT_DIR``), batch size, tile cap and
    PMTiles zooms: the one way the CLI and the server make it. ``reads``: the server's read
    routing, so builds stream from a replica that has replayed the version (default: the
    primary only, as the CLI has no replicas configured to prefer)."""
    return VersionExporter(ExportSource(engine, settings.export_batch_rows, reads=reads),
                           store_for(settings),
                           Tiles(engine, reads=reads, max_bytes=settings.tile_max_kb * 1024),
                           settings.pmtiles_max_zoom)


def version_artifacts(exporter: VersionExporter, dataset: dict[str, Any],
                      version: Any) -> list[Artifact]:
    """Every bulk file of ``version`` (a :class:`hub.catalog.PublishedVersion`), built first
    when missing. In the API: ``request.app.state.exporter`` and ``Data.dataset(id)``."""
    return list(exporter.ensure(dataset, version).artifacts)
