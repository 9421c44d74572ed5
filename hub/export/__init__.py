"""Bulk files of versions: writers, the per-version build, and the catalogue bundle.

Other surfaces (DCAT distributions, CKAN resources) list a version's files with
:func:`version_artifacts`; each :class:`Artifact` has format, media type, URL path, byte
size and SHA-256.
"""

from __future__ import annotations

from typing import Any

from hub.export.build import Artifact, Manifest, VersionExporter
from hub.export.formats import FORMATS, FileFormat

__all__ = ["FORMATS", "Artifact", "FileFormat", "Manifest", "VersionExporter",
           "version_artifacts"]


def version_artifacts(exporter: VersionExporter, dataset: dict[str, Any],
                      version: Any) -> list[Artifact]:
    """Every bulk file of ``version`` (a :class:`hub.catalog.PublishedVersion`), built first
    when missing. In the API: ``request.app.state.exporter`` and ``Data.dataset(id)``."""
    return list(exporter.ensure(dataset, version).artifacts)
