"""A GeoPackage R-tree (SQLite's ``rtree`` module) bulk-loaded while the rows stream in.

Inserting 1M boxes through the ``rtree`` virtual table one by one took 13-15 s (each insert
walks and splits nodes); GDAL's own loader, which builds the tree in memory and writes the
nodes, took ~2 s on a filled table (``CreateSpatialIndex``). The writer sees every box as
the rows go past, so the tree is packed here and written straight into the virtual table's
three tables, in the format SQLite itself reads and writes (sqlite/ext/rtree/rtree.c,
stable since 2008):

- ``<name>_node(nodeno, data)``: node 1 is the root; ``data`` is 2 bytes of tree depth
  (root only), 2 bytes of cell count, then cells of an 8-byte id (the row's id in a leaf,
  the child node's number above) and the box as minx, maxx, miny, maxy, 32-bit floats; all
  big-endian, every node the root's size, the rest zeros;
- ``<name>_rowid(rowid, nodeno)``: the leaf holding each row;
- ``<name>_parent(nodeno, parentnode)``: the parent of every node but the root.

Packing is Sort-Tile-Recursive (STR: boxes sorted into vertical slices by x, each slice by
y, runs of a node's capacity become nodes, level by level up to the root). So that SQLite
writes the leaves while it waits for the next rows rather than after the last one (~0.8 s
at 1M rows), boxes are packed :data:`CHUNK_LEAVES` leaves at a time
(:class:`StreamingRTree`): leaves are tight within a chunk, chunks of rows in file order may
overlap in space, so a small window reads a few leaves per chunk (at most ~10 chunks at 1M
rows) rather than one or two; the levels above are packed over all leaves at the end.

Boxes are stored as 32-bit floats rounded outwards (min down, max up, as SQLite does), so a
stored box always contains the geometry. ``SELECT rtreecheck(...)`` (SQLite's own checker)
passes on the result; tests/integration/test_gpkg_bulk.py runs it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from hub.export.arrow_values import int64_array, valid_mask
from hub.export.wkb import point_coordinates

CELL = np.dtype([("id", ">i8"), ("minx", ">f4"), ("maxx", ">f4"),
                 ("miny", ">f4"), ("maxy", ">f4")])
NODE_HEADER_BYTES = 4
# Leaves packed and written at a time: 2048 x 51 = 104,448 boxes with 4 KiB pages.
CHUNK_LEAVES = 2048
# Well-known binary of a 2D point in little-endian order: byte order, uint32 type 1, x, y.


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
    points = point_coordinates(column)
    if points is not None:
        x, y = points
        return Bounds(x, x, y, y, np.isnan(x) & valid_mask(column))
    import shapely

    # to_pylist, not to_numpy: that imports pandas (hub.export.arrow_values)
    geometries = shapely.from_wkb(column.to_pylist())
    box = shapely.bounds(geometries)
    empty = shapely.is_empty(geometries) & ~shapely.is_missing(geometries)
    return Bounds(box[:, 0], box[:, 2], box[:, 1], box[:, 3], empty)


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


class Extent:
    """The exact (double) extent of the geometries seen."""

    def __init__(self) -> None:
        self.bounds = [math.inf, math.inf, -math.inf, -math.inf]

    def add(self, minx: np.ndarray, miny: np.ndarray, maxx: np.ndarray,
            maxy: np.ndarray) -> None:
        b = self.bounds
        self.bounds = [min(b[0], float(minx.min())), min(b[1], float(miny.min())),
                       max(b[2], float(maxx.max())), max(b[3], float(maxy.max()))]

    def get(self) -> tuple[float, float, float, float] | None:
        """(min x, min y, max x, max y), or None when no geometry was seen."""
        b = self.bounds
        return None if b[0] > b[2] else (b[0], b[1], b[2], b[3])


@dataclass(frozen=True)
class Level:
    """Consecutively numbered nodes from ``first``: their cells in order, ``capacity`` a
    node (the last may hold fewer)."""

    ids: np.ndarray  # row ids in leaves, child node numbers above
    boxes: np.ndarray  # (minx, maxx, miny, maxy) per cell, float32
    capacity: int
    first: int

    @property
    def node_count(self) -> int:
        return max(1, math.ceil(len(self.ids) / self.capacity))

    def numbers(self) -> np.ndarray:
        return self.first + np.arange(self.node_count, dtype=np.int64)

    def node_of_cell(self) -> np.ndarray:
        return self.first + np.arange(len(self.ids), dtype=np.int64) // self.capacity

    def node_boxes(self) -> np.ndarray:
        """Each node's box: the union of its cells' boxes."""
        starts = np.arange(0, len(self.ids), self.capacity)
        return np.column_stack([np.minimum.reduceat(self.boxes[:, 0], starts),
                                np.maximum.reduceat(self.boxes[:, 1], starts),
                                np.minimum.reduceat(self.boxes[:, 2], starts),
                                np.maximum.reduceat(self.boxes[:, 3], starts)])


def packed_level(ids: np.ndarray, boxes: np.ndarray, capacity: int, first: int) -> Level:
    """The cells in STR order, as consecutive nodes numbered from ``first``."""
    order = str_order(boxes, capacity)
    return Level(ids[order], boxes[order], capacity, first)


def node_batch(level: Level, node_bytes: int, depth: int = 0) -> pa.RecordBatch:
    """(nodeno, data) of the level's nodes; ``depth`` goes into the root's header."""
    capacity, count, filled = level.capacity, level.node_count, len(level.ids)
    cells = np.zeros(count * capacity, dtype=CELL)
    cells["id"][:filled] = level.ids
    for column, name in enumerate(("minx", "maxx", "miny", "maxy")):
        cells[name][:filled] = level.boxes[:, column]
    data = np.zeros((count, node_bytes), dtype=np.uint8)
    data[:, NODE_HEADER_BYTES:NODE_HEADER_BYTES + capacity * CELL.itemsize] = (
        cells.view(np.uint8).reshape(count, capacity * CELL.itemsize))
    per_node = np.clip(filled - np.arange(count) * capacity, 0, capacity)
    data[:, 2:4] = per_node.astype(">u2").view(np.uint8).reshape(count, 2)
    if depth:
        data[0, 0:2] = np.array([depth], dtype=">u2").view(np.uint8)
    offsets = pa.py_buffer(np.arange(count + 1, dtype=np.int32) * node_bytes)
    blobs = pa.Array.from_buffers(pa.binary(), count, [None, offsets, pa.py_buffer(data)])
    return pa.RecordBatch.from_arrays([int64_array(level.numbers()), blobs],
                                      names=["nodeno", "data"])


def rowid_batch(leaves: Level, next_rowid: int | None = None) -> pa.RecordBatch:
    """(rowid, nodeno): the leaf of every row, in row id order (appends to the B-tree).
    When the row ids are ``next_rowid``, ``next_rowid + 1``... (every row of the chunk has
    a geometry and the table ends just before), the ids are left for SQLite to assign: an
    explicit one costs a uniqueness lookup per row (~25% of this insert)."""
    order = np.argsort(leaves.ids, kind="stable")
    ids, nodes = leaves.ids[order], int64_array(leaves.node_of_cell()[order])
    if len(ids) and ids[0] == next_rowid and ids[-1] - ids[0] == len(ids) - 1:
        return pa.RecordBatch.from_arrays([nodes], names=["nodeno"])
    return pa.RecordBatch.from_arrays([int64_array(ids), nodes], names=["rowid", "nodeno"])


def parent_batch(upper: Level) -> pa.RecordBatch:
    """(nodeno, parentnode) of the children of ``upper``'s nodes."""
    return pa.RecordBatch.from_arrays(
        [int64_array(upper.ids), int64_array(upper.node_of_cell())],
        names=["nodeno", "parentnode"])


class StreamingRTree:
    """Packs boxes into leaves as they arrive and says what to write to which table.

    :meth:`add` and :meth:`finish` return (table suffix, batch) pairs: the ``_rowid`` and
    ``_node`` rows of each completed chunk of leaves, then at the end the last leaves, the
    levels above and every ``_parent`` row. Leaves are numbered from 2 in the order they
    are made, inner nodes after them, the root 1 (when everything fits in one node, the
    root is the only leaf)."""

    def __init__(self, node_bytes: int, chunk_leaves: int | None = None) -> None:
        self.node_bytes = node_bytes
        self.capacity = (node_bytes - NODE_HEADER_BYTES) // CELL.itemsize
        self.chunk = (chunk_leaves or CHUNK_LEAVES) * self.capacity
        self.extent = Extent()
        self._ids: list[np.ndarray] = []
        self._boxes: list[np.ndarray] = []
        self._pending = 0
        self._next_node = 2
        self._leaf_numbers: list[np.ndarray] = []
        self._leaf_boxes: list[np.ndarray] = []
        self._next_rowid = 1  # the rowid SQLite would give the next row of ``_rowid``

    def add(self, ids: np.ndarray, bounds: Bounds) -> list[tuple[str, pa.RecordBatch]]:
        """Take the boxes of rows ``ids`` (NULL and empty geometries are left out)."""
        keep = ~np.isnan(bounds.minx)
        if not keep.any():
            return []
        minx, maxx = bounds.minx[keep], bounds.maxx[keep]
        miny, maxy = bounds.miny[keep], bounds.maxy[keep]
        self.extent.add(minx, miny, maxx, maxy)
        self._ids.append(ids[keep])
        self._boxes.append(np.column_stack([_down(minx), _up(maxx), _down(miny), _up(maxy)]))
        self._pending += int(keep.sum())
        writes: list[tuple[str, pa.RecordBatch]] = []
        while self._pending >= self.chunk:
            writes += self._leaves(*self._take(self.chunk))
        return writes

    def finish(self) -> list[tuple[str, pa.RecordBatch]]:
        """The rest: the last leaves, the levels above them, every node's parent."""
        ids, boxes = self._take(self._pending)
        if not self._leaf_numbers and len(ids) <= self.capacity:
            root = Level(ids, boxes, self.capacity, 1)
            return [("_rowid", self._rowids(root)), ("_node", node_batch(root, self.node_bytes))]
        writes = self._leaves(ids, boxes) if len(ids) else []
        numbers = np.concatenate(self._leaf_numbers)
        boxes = np.concatenate(self._leaf_boxes)
        levels: list[Level] = []
        while len(numbers) > self.capacity:
            level = packed_level(numbers, boxes, self.capacity, self._next_node)
            self._next_node += level.node_count
            levels.append(level)
            numbers, boxes = level.numbers(), level.node_boxes()
        levels.append(Level(numbers, boxes, self.capacity, 1))  # the root
        for level in levels[:-1]:
            writes += [("_node", node_batch(level, self.node_bytes)),
                       ("_parent", parent_batch(level))]
        root = levels[-1]
        return [*writes, ("_node", node_batch(root, self.node_bytes, depth=len(levels))),
                ("_parent", parent_batch(root))]

    def _take(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The first ``count`` pending boxes (in arrival order); the rest stay pending."""
        if not self._ids:
            return np.empty(0, np.int64), np.empty((0, 4), np.float32)
        ids, boxes = np.concatenate(self._ids), np.concatenate(self._boxes)
        self._ids, self._boxes = [ids[count:]], [boxes[count:]]
        self._pending -= count
        return ids[:count], boxes[:count]

    def _leaves(self, ids: np.ndarray, boxes: np.ndarray) -> list[tuple[str, pa.RecordBatch]]:
        leaves = packed_level(ids, boxes, self.capacity, self._next_node)
        self._next_node += leaves.node_count
        self._leaf_numbers.append(leaves.numbers())
        self._leaf_boxes.append(leaves.node_boxes())
        return [("_rowid", self._rowids(leaves)),
                ("_node", node_batch(leaves, self.node_bytes))]

    def _rowids(self, leaves: Level) -> pa.RecordBatch:
        batch = rowid_batch(leaves, self._next_rowid)
        if len(leaves.ids):
            self._next_rowid = max(self._next_rowid, int(leaves.ids.max()) + 1)
        return batch


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
