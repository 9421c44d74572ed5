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
