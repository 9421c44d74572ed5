"""Smoke run of bench/export_bench.py (2,000 rows): every format is measured against COPY."""

from __future__ import annotations

import importlib.util
import json

from tests.conftest import ROOT


def test_export_benchmark_smoke(db_url, tmp_path) -> None:
    path = ROOT / "bench" / "export_bench.py"
    spec = importlib.util.spec_from_file_location("export_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.run(2_000, db_url, tmp_path, batch_rows=500)
    formats = [r["format"] for r in result["results"]]
    assert formats == list(bench.FORMATS)
    assert all(r["bytes"] > 0 and r["peak_rss_mib"] > 0 for r in result["results"])
    assert result["results"][0]["time_ratio"] == 1.0
    written = json.loads(next(tmp_path.glob("exports-*.json")).read_text())
    assert written["rows"] == 2_000
    assert "| parquet |" in next(tmp_path.glob("exports-*.md")).read_text()
