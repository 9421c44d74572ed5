"""A GeoPackage R-tree (SQLite's ``rtree`` module) bulk-loaded from known boxes.

Inserting 1M boxes through the ``rtree`` virtual table one by one took 13-15 s (each insert
walks and splits nodes); GDAL's own loader, which builds the tree in memory and writes the
nodes, took ~2 s on a filled table (``CreateSpatialIndex``). The writer knows every box as
the rows stream past, so the tree is packed here with Sort-Tile-Recursive (STR: boxes sorted
into vertical slices by x, each slice by y, runs of a node's capacity become nodes, level by
level up to the root) and written straight into the virtual table's three tables, in the
format SQLite itself reads and writes (sqlite/ext/rtree/rtree.c, stable since 2008):

- ``<name>_node(nodeno, data)``: node 1 is the root; ``data`` is 2 bytes of tree depth (root
  only), 2 bytes of cell count, then cells of an 8-byte id (the row's id in a leaf, the child
  node's number above) and the box as minx, maxx, miny, maxy, 32-bit floats; all big-endian,
  every node the root's size, the rest zeros;
- ``<name>_rowid(rowid, nodeno)``: the leaf holding each row;
- ``<name>_parent(nodeno, parentnode)``: the parent of every node but the root.

Boxes are stored as 32-bit floats rounded outwards (min down, max up, as SQLite does), so a
stored box always contains the geometry. ``SELECT rtreecheck(...)`` (SQLite's own checker)
passes on the result; tests/integration/test_gpkg_bulk.py runs it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from hub.export.arrow_values import int64_array, valid_mask

CELL = np.dtype([("id", ">i8"), ("minx", ">f4"), ("maxx", ">f4"),
                 ("miny", ">f4"), ("maxy", ">f4")])
NODE_HEADER_BYTES = 4
NODES_AT_ONCE = 1024
# Well-known binary of a 2D point in little-endian order: byte order, uint32 type 1, x, y.
POINT_WKB_BYTES = 21


@dataclass(frozen=True)
class Bounds:
    """Per-geometry boxes of one batch (NaN where the geometry is NULL or empty)."""

    minx: np.ndarray
    maxx: np.ndarray
    miny: np.ndarray
    maxy: np.ndarray
    empty: np.ndarray  # True for empty (not NULL) geometries


def wkb_bounds(column: pa.Array) -> Bounds:
    """Boxes of a binary Arrow array of WKB values. 2D little-endian points (what PostGIS
    sends for point layers) are read straight from the bytes; anything else goes through
    shapely (GEOS)."""
    points = _point_coordinates(column)
    if points is not None:
        x, y = points
        return Bounds(x, x, y, y, np.isnan(x) & valid_mask(column))
    import shapely

    geometries = shapely.from_wkb(column.to_numpy(zero_copy_only=False))
    box = shapely.bounds(geometries)
    empty = shapely.is_empty(geometries) & ~shapely.is_missing(geometries)
    return Bounds(box[:, 0], box[:, 2], box[:, 1], box[:, 3], empty)


def _point_coordinates(column: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """x and y of every value if all non-null values are 2D little-endian WKB points (NaN
    for NULL), else None. NULLs take no bytes, so the points are 21-byte records back to
    back in the data buffer: a reshape, no per-value indexing."""
    column = column.cast(pa.binary())
    valid = valid_mask(column)
    _validity, offsets_buffer, data_buffer = column.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[
        column.offset:column.offset + len(column) + 1]
    if not np.all(np.diff(offsets)[valid] == POINT_WKB_BYTES):
        return None
    x = np.full(len(column), np.nan)
    y = np.full(len(column), np.nan)
    if not valid.any():
        return x, y
    records = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0]:offsets[-1]].reshape(
        -1, POINT_WKB_BYTES)
    if not (np.all(records[:, 0] == 1) and np.all(records[:, 1:5] == [1, 0, 0, 0])):
        return None
    coordinates = records[:, 5:].copy().view("<f8")
    x[valid], y[valid] = coordinates[:, 0], coordinates[:, 1]
    return x, y


def _down(values: np.ndarray) -> np.ndarray:
    """The largest 32-bit floats <= ``values``."""
    single = values.astype(np.float32)
    above = single.astype(np.float64) > values
    single[above] = np.nextafter(single[above], np.float32(-np.inf))
    return single


def _up(values: np.ndarray) -> np.ndarray:
    """The smallest 32-bit floats >= ``values``."""
    single = values.astype(np.float32)
    below = single.astype(np.float64) < values
    single[below] = np.nextafter(single[below], np.float32(np.inf))
    return single


class Boxes:
    """The boxes of a layer's non-empty geometries by row id, collected batch by batch:
    32-bit, rounded outwards, for the tree; the exact extent in double precision."""

    def __init__(self) -> None:
        self._ids: list[np.ndarray] = []
        self._boxes: list[np.ndarray] = []
        self._extent = [math.inf, math.inf, -math.inf, -math.inf]

    def add(self, ids: np.ndarray, bounds: Bounds) -> None:
        keep = ~np.isnan(bounds.minx)
        if not keep.any():
            return
        minx, maxx = bounds.minx[keep], bounds.maxx[keep]
        miny, maxy = bounds.miny[keep], bounds.maxy[keep]
        self._ids.append(ids[keep])
        self._boxes.append(np.column_stack([_down(minx), _up(maxx), _down(miny), _up(maxy)]))
        extent = self._extent
        self._extent = [min(extent[0], float(minx.min())), min(extent[1], float(miny.min())),
                        max(extent[2], float(maxx.max())), max(extent[3], float(maxy.max()))]

    def extent(self) -> tuple[float, float, float, float] | None:
        """(min x, min y, max x, max y) of every geometry, or None when there is none."""
        if self._extent[0] > self._extent[2]:
            return None
        return self._extent[0], self._extent[1], self._extent[2], self._extent[3]

    def take(self) -> tuple[np.ndarray, np.ndarray]:
        """Row ids and their (minx, maxx, miny, maxy) boxes; the batches' copies are
        dropped (at 1M rows they are 24 MB)."""
        if not self._ids:
            return np.empty(0, np.int64), np.empty((0, 4), np.float32)
        ids, boxes = np.concatenate(self._ids), np.concatenate(self._boxes)
        self._ids, self._boxes = [], []
        return ids, boxes


@dataclass(frozen=True)
class Level:
    """One level of the packed tree: its cells in order, ``capacity`` per node."""

    ids: np.ndarray  # row ids (leaves) or child indexes within the level below
    boxes: np.ndarray
    capacity: int

    @property
    def node_count(self) -> int:
        return max(1, math.ceil(len(self.ids) / self.capacity))

    def node_of_cell(self) -> np.ndarray:
        return np.arange(len(self.ids)) // self.capacity


@dataclass(frozen=True)
class Packed:
    """A packed R-tree: levels from the leaves (0) to the root, and the node size in bytes."""

    levels: list[Level]
    node_bytes: int

    def first_node(self, level: int) -> int:
        """Node number of the level's first node: the root is 1, then level by level down."""
        number = 1
        for upper in range(len(self.levels) - 1, level, -1):
            number += self.levels[upper].node_count
        return number

    def nodes(self) -> Iterator[tuple[int, bytes]]:
        """(nodeno, data) of every node, root first; made :data:`NODES_AT_ONCE` at a time
        (the leaves of 1M rows take 24 MB)."""
        depth = len(self.levels) - 1
        for index in range(depth, -1, -1):
            level = self.levels[index]
            child_base = self.first_node(index - 1) if index > 0 else 0
            first = self.first_node(index)
            for start in range(0, level.node_count, NODES_AT_ONCE):
                data = self._node_data(level, start, child_base, depth if index == depth else 0)
                for offset, row in enumerate(data, start):
                    yield first + offset, row.tobytes()

    def _node_data(self, level: Level, first_node: int, child_base: int,
                   depth: int) -> np.ndarray:
        """Nodes ``first_node``.. (up to :data:`NODES_AT_ONCE`) of ``level`` as bytes."""
        capacity = level.capacity
        count = min(NODES_AT_ONCE, level.node_count - first_node)
        begin = first_node * capacity
        end = min(len(level.ids), begin + count * capacity)
        cells = np.zeros(count * capacity, dtype=CELL)
        cells["id"][:end - begin] = level.ids[begin:end] + child_base
        for column, name in enumerate(("minx", "maxx", "miny", "maxy")):
            cells[name][:end - begin] = level.boxes[begin:end, column]
        data = np.zeros((count, self.node_bytes), dtype=np.uint8)
        data[:, NODE_HEADER_BYTES:NODE_HEADER_BYTES + capacity * CELL.itemsize] = (
            cells.view(np.uint8).reshape(count, capacity * CELL.itemsize))
        per_node = np.clip(end - begin - np.arange(count) * capacity, 0, capacity)
        data[:, 2:4] = per_node.astype(">u2").view(np.uint8).reshape(count, 2)
        if depth:  # the root alone records the depth of the tree
            data[0, 0:2] = np.array([depth], dtype=">u2").view(np.uint8)
        return data

    def parents(self) -> Iterator[tuple[int, int]]:
        """(nodeno, parentnode) of every node below the root."""
        for index in range(len(self.levels) - 1):
            upper = self.levels[index + 1]
            parent = np.empty(self.levels[index].node_count, dtype=np.int64)
            parent[upper.ids] = upper.node_of_cell() + self.first_node(index + 1)
            first = self.first_node(index)
            for offset, number in enumerate(parent.tolist()):
                yield first + offset, number

    def leaf_of_rows(self) -> pa.RecordBatchReader:
        """(rowid, nodeno): the leaf of every row, in row id order (appends to the B-tree)."""
        leaves = self.levels[0]
        order = np.argsort(leaves.ids, kind="stable")
        batch = pa.RecordBatch.from_arrays(
            [int64_array(leaves.ids[order]),
             int64_array(leaves.node_of_cell()[order] + self.first_node(0))],
            names=["rowid", "nodeno"])
        return pa.RecordBatchReader.from_batches(batch.schema, [batch])


def pack(boxes: Boxes, node_bytes: int) -> Packed:
    """Sort-Tile-Recursive packing of ``boxes`` into nodes of ``node_bytes`` bytes."""
    capacity = (node_bytes - NODE_HEADER_BYTES) // CELL.itemsize
    ids, box = boxes.take()
    levels: list[Level] = []
    while True:
        order = str_order(box, capacity)
        level = Level(ids[order], box[order], capacity)
        levels.append(level)
        if level.node_count == 1:
            return Packed(levels, node_bytes)
        starts = np.arange(0, len(level.ids), capacity)
        box = np.column_stack([
            np.minimum.reduceat(level.boxes[:, 0], starts),
            np.maximum.reduceat(level.boxes[:, 1], starts),
            np.minimum.reduceat(level.boxes[:, 2], starts),
            np.maximum.reduceat(level.boxes[:, 3], starts)])
        ids = np.arange(level.node_count, dtype=np.int64)


def str_order(box: np.ndarray, capacity: int) -> np.ndarray:
    """The order in which boxes fill nodes: by centre x into slices of about sqrt(nodes)
    nodes each, by centre y within a slice (Leutenegger et al., 1997)."""
    count = len(box)
    if count <= capacity:
        return np.arange(count)
    centre_x = box[:, 0] + box[:, 1]  # twice the centre; float32 is precise enough to sort
    centre_y = box[:, 2] + box[:, 3]
    slab = math.ceil(math.sqrt(math.ceil(count / capacity))) * capacity
    by_x = np.argsort(centre_x, kind="stable")
    slice_of = np.arange(count) // slab
    return by_x[np.lexsort((centre_y[by_x], slice_of))]
