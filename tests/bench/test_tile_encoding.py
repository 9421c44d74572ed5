"""`bench/tile_encoding.py` at tiny size keeps working: it publishes the bench table, finds
the bench sample's tiles and times each of them six ways (no timing is asserted), the
hub's own statement and render among them; the hub's full tile must be tipg's very bytes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_each_sampled_tile_is_timed_six_ways(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "bench.tile_encoding", "--rows", "2000", "--tiles", "4",
         "--repeats", "1", "--results", str(tmp_path)],
        cwd=ROOT, check=True, capture_output=True, timeout=600)
    [written] = tmp_path.glob("encoding-z16-2000-*.json")
    result = json.loads(written.read_text())
    tiles = result["tiles"]
    assert len(tiles) == 4
    # each tile is the one around a sampled row, so it holds that row at least
    assert all(t["features"] >= 1 for t in tiles), tiles
    assert all(t[k] > 0 for t in tiles
               for k in ("full_ms", "full_parallel_ms", "hub_full_ms", "hub_render_ms",
                         "encode_ms", "id_only_ms"))
    assert all(t["hub_same_bytes"] for t in tiles), tiles  # the hub's tile is tipg's bytes
    summary = result["summary"]
    assert summary["fields"] == 16 and summary["tiles"] == 4
    assert summary["encode_share"] > 0
