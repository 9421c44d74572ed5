"""A version layer's vector tiles as one PMTiles archive: written with the bulk files, read
back tile by tile with range reads.

A pinned version never changes, so its tiles never do: the archive holds the very bytes the
live tile route computes (:meth:`hub.data.tiles.Tiles.render`, same cap and thinning, no
compression), for zooms 0..N, where N is the first zoom at which no tile had to be thinned
(every feature is present from there on), or ``HUB_PMTILES_MAX_ZOOM`` if that comes first.
Deeper zooms, filtered tiles and versions whose files are not built yet are computed live.
Every tile that can hold a feature is visited: the tiles over the layer's bounding box and
one more on each side (a feature near the edge shows in the neighbour's buffer); empty tiles
are left out of the archive, which is how PMTiles says "empty".

The same file is offered as ``download.pmtiles``, which MapLibre reads straight from a CDN
with the ``pmtiles`` protocol. The format is written and read by the ``pmtiles`` package
(header, Hilbert tile ids, directories); this module only chooses the tiles and caches the
directories of the archives it reads (they never change).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from pmtiles.tile import (
    Compression,
    TileType,
    deserialize_directory,
    deserialize_header,
    find_tile,
    zxy_to_tileid,
)
from pmtiles.writer import Writer

from hub.catalog import PublishedVersion
from hub.data.tiles import RenderedTile
from hub.query.tiles import MAX_ZOOM, tiles_over, vector_layer_fields
from hub.storage import ArtifactStore

Render = Callable[[int, int, int], RenderedTile]  # z, x, y -> the live tile


def tile_range(bbox: tuple[float, float, float, float], z: int) -> Iterator[tuple[int, int]]:
    """(x, y) of the tiles at zoom ``z`` that can hold a feature of ``bbox`` (lon/lat)."""
    first_x, first_y, last_x, last_y = tiles_over(bbox, z)
    for x in range(first_x, last_x + 1):
        for y in range(first_y, last_y + 1):
            yield x, y


def write_archive(out: BinaryIO, layer: PublishedVersion, layer_name: str, render: Render,
                  max_zoom: int) -> int | None:
    """Write the layer's archive to ``out``; the deepest zoom written, or None when the layer
    has no tile at all (then ``out`` holds nothing worth keeping)."""
    if layer.bbox is None:
        return None
    writer = Writer(out)
    deepest = None
    for z in range(0, min(max_zoom, MAX_ZOOM) + 1):
        thinned = False
        for tile_id, x, y in sorted((zxy_to_tileid(z, x, y), x, y)
                                    for x, y in tile_range(layer.bbox, z)):
            tile = render(z, x, y)
            if tile.body:
                writer.write_tile(tile_id, tile.body)
                deepest = z
            thinned = thinned or tile.thinned
        if not thinned:
            break  # every feature is present at this zoom: deeper tiles are computed live
    if deepest is None:
        return None
    west, south, east, north = layer.bbox
    e7 = 10_000_000
    header = {
        "tile_type": TileType.MVT, "tile_compression": Compression.NONE,
        "min_lon_e7": int(west * e7), "min_lat_e7": int(south * e7),
        "max_lon_e7": int(east * e7), "max_lat_e7": int(north * e7),
        "center_zoom": deepest, "center_lon_e7": int((west + east) / 2 * e7),
        "center_lat_e7": int((south + north) / 2 * e7),
    }
    metadata = {
        "name": f"{layer.dataset_id} v{layer.version} {layer_name}",
        "vector_layers": [{"id": layer_name, "fields": vector_layer_fields(layer.schema),
                           "minzoom": 0, "maxzoom": deepest}],
    }
    writer.finalize(header, metadata)
    return deepest


class PMTilesArchive:
    """One stored archive, read with range reads; header and directories are kept once
    read (the file never changes)."""

    def __init__(self, store: ArtifactStore, group: str, name: str) -> None:
        self.store, self.group, self.name = store, group, name
        self.header = deserialize_header(self._bytes(0, 127))
        self.max_zoom: int = self.header["max_zoom"]
        self._directories: dict[tuple[int, int], list[Any]] = {}
        self._lock = threading.Lock()

    def _bytes(self, offset: int, length: int) -> bytes:
        return b"".join(self.store.open_range(self.group, self.name, offset,
                                              offset + length - 1))

    def _directory(self, offset: int, length: int) -> list[Any]:
        key = (offset, length)
        found = self._directories.get(key)
        if found is None:
            found = deserialize_directory(self._bytes(offset, length))
            with self._lock:
                self._directories[key] = found
        return found

    def tile(self, z: int, x: int, y: int) -> bytes:
        """The tile's bytes; empty when the archive has no such tile (an empty tile)."""
        tile_id = zxy_to_tileid(z, x, y)
        offset, length = self.header["root_offset"], self.header["root_length"]
        for _depth in range(4):  # the format's deepest directory nesting
            entry = find_tile(self._directory(offset, length), tile_id)
            if entry is None:
                return b""
            if entry.run_length:
                return self._bytes(self.header["tile_data_offset"] + entry.offset, entry.length)
            offset = self.header["leaf_directory_offset"] + entry.offset
            length = entry.length
        return b""
