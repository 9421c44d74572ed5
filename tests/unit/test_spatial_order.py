"""Rows are written along a Z-order curve: neighbours end up next to each other."""

from __future__ import annotations

import math
import random
from itertools import pairwise

import numpy as np
import pandas as pd

from etl.spatial_order import morton_keys, spatial_order


def _path_length(points: list[tuple[float, float]]) -> float:
    return sum(math.dist(a, b) for a, b in pairwise(points))


def test_spatial_order_walks_the_grid_far_shorter_than_file_order() -> None:
    rng = random.Random(3)
    points = [(139.6 + rng.random() * 0.1, 35.6 + rng.random() * 0.1) for _ in range(4000)]
    wkt = pd.Series([f"POINT ({x} {y})" for x, y in points])
    order = spatial_order(wkt)
    assert sorted(order.tolist()) == list(range(len(points)))  # a permutation: nothing lost
    ordered = [points[i] for i in order]
    # random order walks ~n * 0.05 degrees; a space-filling curve a small fraction of it
    assert _path_length(ordered) < _path_length(points) / 10


def test_missing_geometries_go_last_and_ties_keep_file_order() -> None:
    wkt = pd.Series(["POINT (1 1)", None, "POINT (0 0)", "POINT (1 1)",
                     "LINESTRING (0 0, 0.2 0.2)"])
    order = spatial_order(wkt).tolist()
    assert order[-1] == 1
    assert order.index(0) < order.index(3)  # same point: file order
    assert order[0] in (2, 4)


def test_morton_keys_interleave_x_and_y_bits() -> None:
    x = np.array([0.0, 1.0, 0.0, 1.0, np.nan])
    y = np.array([0.0, 0.0, 1.0, 1.0, 0.5])
    keys = morton_keys(x, y)
    top = (1 << 16) - 1
    assert keys[0] == 0
    assert keys[1] == int("01" * 16, 2) & sum(1 << (2 * i) for i in range(16))  # x bits only
    assert keys[2] == keys[1] << 1  # y bits only
    assert keys[3] == keys[1] | keys[2]
    assert keys[4] == np.iinfo(np.uint64).max and top > 0


def test_point_layers_are_read_without_geos_and_order_the_same(monkeypatch) -> None:
    """The Arrow path for plain points must give exactly the GEOS path's order (the publish
    checksum covers the row order), including missing rows and exponent notation."""
    import etl.spatial_order as module

    rng = random.Random(5)
    cells = [f"POINT ({139.6 + rng.random() * 0.1!r} {35.6 + rng.random() * 0.1!r})"
             for _ in range(3000)]
    cells[10] = None
    cells[20] = "POINT (1e-05 -2.5)"
    wkt = pd.Series(cells, dtype=object)
    x, y = module._point_coordinates(wkt)
    assert math.isnan(x[10]) and (x[20], y[20]) == (1e-05, -2.5)
    fast = spatial_order(wkt)
    monkeypatch.setattr(module, "_point_coordinates", lambda _wkt: None)  # GEOS path only
    assert np.array_equal(fast, spatial_order(wkt))


def test_layers_with_other_geometries_take_the_general_path() -> None:
    import etl.spatial_order as module

    for other in ("LINESTRING (0 0, 1 1)", "POINT Z (1 2 3)", "POINT EMPTY"):
        assert module._point_coordinates(pd.Series(["POINT (1 2)", other])) is None
