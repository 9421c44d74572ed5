"""What counting usage costs the hot path: the bbox and by-id workloads against two hubs on
the same data, one counting (``HUB_USAGE_STATS=true``, the default) and one not, in the same
session, runs interleaved (on, off, on, off, ...) so drift in the machine's load hits both.

    .venv/bin/python -m bench.usage_overhead                       # 100,000 rows, 10 s runs
    .venv/bin/python -m bench.usage_overhead --rows 2000 --duration 2 --repeats 1   # smoke

Reuses bench/run.py's machinery (throwaway cluster, `hub publish`, sampled inputs, wrk or the
built-in generator, server and PostgreSQL CPU per request). Prints a table and writes
bench/results/usage-overhead-<time>.json. The counting server is then stopped (its shutdown
writes the last counts) and the stored request count is compared with what it answered.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench import ingest, systems
from bench.generate import dataset_files
from bench.load import generator_name
from bench.run import DATA, RESULTS, Cluster, _measure, log, sample_inputs
from hub.usage.counter import RECORDS, UsageCounter

QUERIES = ("bbox", "by_id")


def start_pair(db: systems.Database, url: str, workdir: Path
               ) -> dict[str, systems.Server]:
    """Two hub processes on the same database: counting on and off."""
    servers = {}
    for name, counting in (("on", "true"), ("off", "false")):
        env = {**ingest.hub_env(url), "HUB_USAGE_STATS": counting}
        (workdir / name).mkdir(parents=True, exist_ok=True)  # each server its own log
        servers[name] = systems.start_hub(db, workdir / name, env)
    return servers


def add_cost_us(calls: int = 50_000, rounds: int = 5) -> float:
    """Microseconds of one ``UsageCounter.add`` (hash, lock, dict), in this process: the
    whole of what counting adds to a request, measured without the noise of HTTP. The best
    of a few rounds, as ``timeit`` reports, since other processes only ever add time."""
    counter = UsageCounter()
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            counter.add("127.0.0.1", systems.DATASET_ID, 1, RECORDS, 100)
        best = min(best, time.perf_counter() - started)
    return round(best / calls * 1e6, 2)


def stored_requests(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT coalesce(sum(requests), 0) FROM hub.usage_daily")
                             ).scalar_one()
    engine.dispose()
    return int(total)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--repeats", type=int, default=3, help="on/off pairs per case")
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    started = dt.datetime.now(dt.UTC)
    result: dict[str, Any] = {
        "started": started.isoformat(), "rows": args.rows, "duration_s": args.duration,
        "repeats": args.repeats, "generator": generator_name(), "cpus": os.cpu_count(),
        "command": "python -m bench.usage_overhead " + " ".join(argv or []), "runs": [],
        "add_us": add_cost_us(), "load_before": round(os.getloadavg()[0], 2),
    }
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-usage-"))
    with Cluster(keep=False) as cluster:
        url = cluster.database("usage_overhead")
        utf8, _ = dataset_files(args.rows, args.seed, DATA)
        log(f"publishing {args.rows} rows")
        ingest.hub_publish(url, utf8)
        db = cluster.grant_reader(url)
        sample = sample_inputs(url, args.samples, args.seed)
        servers = start_pair(db, url, workdir)
        answered_on = 0
        try:
            for query in QUERIES:
                paths = systems.paths("hub", query, sample)
                assert paths is not None
                for server in servers.values():  # warm both the same way
                    for path in paths:
                        systems.check(server, path)
                answered_on += len(paths)
                for concurrency in args.concurrency:
                    for repeat in range(args.repeats):
                        for name in ("on", "off") if repeat % 2 == 0 else ("off", "on"):
                            run = _measure(servers[name], paths, concurrency, args.duration,
                                           cluster.postmaster, url)
                            run.update(query=query, counting=name, concurrency=concurrency,
                                       repeat=repeat)
                            result["runs"].append(run)
                            if name == "on":
                                answered_on += run["requests"] - run["errors"]
                            log(f"{query:<6} c={concurrency:<3} counting {name:<3} "
                                f"{run['rps']:8.1f} req/s  p50 {run['p50_ms']:6.2f} ms  "
                                f"server {run['server_cpu_ms_per_req']:.3f} ms CPU/req")
        finally:
            for server in servers.values():
                server.stop()  # the counting server writes its last counts on shutdown
        result["counted"] = {"stored_requests": stored_requests(url),
                             "answered_by_counting_server": answered_on}
        cluster.drop("usage_overhead")
    result["summary"] = summarise(result["runs"])
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"usage-overhead-{started:%Y%m%d-%H%M}.json"
    out.write_text(json.dumps(result, indent=2))
    print(table(result))
    log(f"written {out}")
    return 0


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (query, concurrency): medians of on and off, and on/off ratios."""
    cases = sorted({(r["query"], r["concurrency"]) for r in runs})
    out = []
    for query, concurrency in cases:
        def median(name: str, key: str, q: str = query, c: int = concurrency) -> float:
            return round(statistics.median(r[key] for r in runs if r["query"] == q
                                           and r["concurrency"] == c
                                           and r["counting"] == name), 3)
        rps_on, rps_off = median("on", "rps"), median("off", "rps")
        cpu_on = median("on", "server_cpu_ms_per_req")
        cpu_off = median("off", "server_cpu_ms_per_req")
        out.append({"query": query, "concurrency": concurrency,
                    "rps_on": round(rps_on, 1), "rps_off": round(rps_off, 1),
                    "throughput_cost_pct": round(100 * (1 - rps_on / rps_off), 2),
                    "cpu_on_ms": cpu_on, "cpu_off_ms": cpu_off,
                    "cpu_cost_pct": round(100 * (cpu_on / cpu_off - 1), 2),
                    "p50_on_ms": median("on", "p50_ms"), "p50_off_ms": median("off", "p50_ms")})
    return out


def table(result: dict[str, Any]) -> str:
    lines = ["| query | c | req/s on | req/s off | throughput cost | server CPU/req on | off "
             "| CPU cost | p50 on | p50 off |", "|---|---|---|---|---|---|---|---|---|---|"]
    for s in result["summary"]:
        lines.append(f"| {s['query']} | {s['concurrency']} | {s['rps_on']} | {s['rps_off']} "
                     f"| {s['throughput_cost_pct']}% | {s['cpu_on_ms']} ms | {s['cpu_off_ms']} "
                     f"ms | {s['cpu_cost_pct']}% | {s['p50_on_ms']} ms | {s['p50_off_ms']} ms |")
    counted = result["counted"]
    lines.append(f"\none UsageCounter.add: {result['add_us']} us (load average "
                 f"{result['load_before']} before the runs)")
    lines.append(f"\nstored requests {counted['stored_requests']}, answered by the counting "
                 f"server {counted['answered_by_counting_server']}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
