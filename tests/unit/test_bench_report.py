"""The benchmark report's derived ingest line: arithmetic and when it is left out."""

from __future__ import annotations

from bench.report import EXTRA_INDEXES, _served_like_hub


def _ingest(breakdown: dict[str, float]) -> dict:
    return {"results": {"ogr2ogr (PG_USE_COPY)": {"wall_s": 10.0},
                        "hub publish (UTF-8)": {"wall_s": 60.0}},
            "index_breakdown_s": breakdown}


def test_served_like_hub_adds_the_missing_index_builds_to_ogr2ogr() -> None:
    breakdown = dict.fromkeys(EXTRA_INDEXES, 5.0) | {"GiST (geom)": 99.0}
    [line, _blank] = _served_like_hub(_ingest(breakdown))
    # 10 s ogr2ogr + 4 x 5 s (the GiST on geom is ogr2ogr's own and not added) = 30 s
    assert "is 30.0 s" in line and "took 2.00x that" in line and "Derived" in line


def test_served_like_hub_is_left_out_without_a_full_breakdown() -> None:
    assert _served_like_hub(_ingest({"ANALYZE": 1.0})) == []
