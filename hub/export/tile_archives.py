"""Where a tile comes from: a version layer's PMTiles archive when one is built and covers
the zoom, else PostGIS (:class:`hub.data.tiles.Tiles`). The one place that decides it.

Only unfiltered tiles are archived (a filter makes another tile). An archive is found
through its version's manifest; once found it is kept open for the life of the process (a
pinned version's files never change; a withdrawn version is refused before any tile is
asked for). Until the files are built, every request looks again (a file-existence check),
so tiles move to the archive as soon as the background build commits it.
"""

from __future__ import annotations

import threading

from sqlalchemy import Connection

from hub.catalog import PublishedVersion
from hub.data.tiles import Tiles
from hub.export.build import VersionExporter
from hub.export.formats import version_group
from hub.export.pmtiles_archive import PMTilesArchive
from hub.query.model import FeatureQuery

LayerKey = tuple[str, int, str | None]  # dataset, version, layer (None: the main layer)


def layer_key(layer: PublishedVersion) -> str | None:
    """The layer's key in the version's files (None for the main layer)."""
    name = layer.meta.get("layer") or layer.main_layer
    return None if name == layer.main_layer else str(name)


class ArchivedTiles:
    """Tiles from the PMTiles archive where it answers, else computed."""

    def __init__(self, tiles: Tiles, exporter: VersionExporter) -> None:
        self.tiles = tiles
        self.exporter = exporter
        self._archives: dict[LayerKey, PMTilesArchive | None] = {}
        self._lock = threading.Lock()

    def tile(self, layer: PublishedVersion, query: FeatureQuery, name: str, z: int, x: int,
             y: int, conn: Connection | None = None) -> bytes:
        """The MVT bytes (empty: no feature), the same whichever source answers."""
        if query.is_unfiltered:
            archive = self.archive(layer)
            if archive is not None and z <= archive.max_zoom:
                return archive.tile(z, x, y)
        return self.tiles.tile(layer, query, name, z, x, y, conn)

    def archive(self, layer: PublishedVersion) -> PMTilesArchive | None:
        """The layer's archive, or None (files not built yet, or no archive: no tiles)."""
        key = (layer.dataset_id, layer.version, layer_key(layer))
        if key in self._archives:
            return self._archives[key]
        manifest = self.exporter.manifest(layer)
        if manifest is None:
            return None  # not built yet: look again next time
        artifact = manifest.find("pmtiles", key[2])
        found = None if artifact is None else PMTilesArchive(
            self.exporter.store, version_group(layer.dataset_id, layer.version), artifact.name)
        with self._lock:
            self._archives[key] = found
        return found
