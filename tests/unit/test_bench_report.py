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
    # 10 s ogr2ogr + 3 x 5 s (the GiST on geom is ogr2ogr's own and not added) = 25 s
    assert "is 25.0 s" in line and "took 2.40x that" in line and "Derived" in line


def test_served_like_hub_is_left_out_without_a_full_breakdown() -> None:
    assert _served_like_hub(_ingest({"ANALYZE": 1.0})) == []


def test_a_rerun_replaces_only_its_queries_scale_by_scale() -> None:
    from bench.merge import redo_queries

    def run(query: str, system: str, rps: float) -> dict:
        return {"query": query, "system": system, "concurrency": 1, "rps": rps}

    first = {"scales": [
        {"rows": 10, "runs": [run("bbox", "hub", 1.0), run("radius", "hub", 2.0)],
         "checks": {"bbox/hub": {"status": 200}, "radius/hub": {"status": 200, "n": 1}}},
        {"rows": 20, "runs": [run("radius", "hub", 3.0)], "checks": {}},
    ]}
    rerun = {"settings": {"queries": ["radius"]}, "scales": [
        {"rows": 10, "runs": [run("radius", "hub", 9.0), run("bbox", "hub", 99.0)],
         "checks": {"radius/hub": {"status": 200, "n": 2}}},
    ]}
    assert redo_queries(first, rerun) == ["radius"]
    ten, twenty = first["scales"]
    assert sorted((r["query"], r["rps"]) for r in ten["runs"]) == [("bbox", 1.0), ("radius", 9.0)]
    assert ten["checks"]["radius/hub"]["n"] == 2 and "bbox/hub" in ten["checks"]
    assert twenty["runs"] == [run("radius", "hub", 3.0)]  # no rerun at this scale: kept
