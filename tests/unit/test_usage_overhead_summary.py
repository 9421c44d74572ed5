"""The usage-overhead bench's read-out: medians per case and on/off ratios."""

from __future__ import annotations

from bench.usage_overhead import summarise


def _run(counting: str, rps: float, cpu: float) -> dict[str, object]:
    return {"query": "by_id", "concurrency": 1, "counting": counting, "rps": rps,
            "server_cpu_ms_per_req": cpu, "p50_ms": 1.0}


def test_costs_are_medians_of_interleaved_runs() -> None:
    runs = [_run("on", 95, 1.05), _run("off", 100, 1.0), _run("on", 190, 1.05),
            _run("off", 100, 1.0), _run("on", 90, 1.1), _run("off", 200, 0.5)]
    [case] = summarise(runs)
    assert (case["rps_on"], case["rps_off"]) == (95, 100)
    assert case["throughput_cost_pct"] == 5.0
    assert case["cpu_cost_pct"] == 5.0
