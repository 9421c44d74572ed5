"""One worker, two workers, and two workers behind Varnish, on the suite's read workloads.

The hub's own request sets of bench/run.py (bbox, radius, nearest, by id, filter, z14 and z16
tiles over the generated Tokyo places; 64 distinct requests per query, cycled by wrk) are
loaded against three set-ups of the same database, in one run, interleaved query by query so
the machine's load drifts across all three alike:

* ``1w``: ``uvicorn hub.api.asgi:app``, one process (what bench/run.py calls ``hub``);
* ``2w``: the same with ``--workers 2`` (``hub serve --workers 2``);
* ``varnish``: Varnish with deploy/varnish/hub.vcl in front of that ``2w`` server.

Figures are requests per second and latency percentiles; ratios are against ``1w`` at the
same query and concurrency. The bench's requests follow ``latest`` (as a map does), so behind
Varnish they are cached for Surrogate-Control's five minutes: after the warm-up pass every
measured request is a cache hit, which is what a cache in front of a hub serves to a crowd.

    .venv/bin/python -m bench.scale --rows 100000 --duration 5 --concurrency 1,16
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import Any

from bench import ingest, load, report, systems
from bench.generate import dataset_files
from bench.run import RESULTS, Cluster, _drain, log, sample_inputs
from hub.db.cluster import free_port
from hub.http_cache.varnish import start_varnish

ROOT = Path(__file__).resolve().parents[1]
VCL = ROOT / "deploy" / "varnish" / "hub.vcl"
SETUPS = ("1w", "2w", "varnish")


def start_workers(db: systems.Database, workdir: Path, env: dict[str, str],
                  workers: int) -> systems.Server:
    """The hub as `hub serve --workers N` runs it (uvicorn's own workers), no access log."""
    port = free_port()
    command = [*systems._uvicorn(systems.HUB_BIN, "hub.api.asgi:app", port),
               "--workers", str(workers)]
    server = systems._spawn(f"hub-{workers}w", command,
                            env, port, workdir)
    systems._wait_ready(server, f"/v1/datasets/{systems.DATASET_ID}")
    return server


def warm(base_url: str, paths: list[str]) -> None:
    """Each path once: plans, pools, the tile cache and, behind Varnish, the HTTP cache."""
    for path in paths:
        with urllib.request.urlopen(base_url + path, timeout=60) as response:
            response.read()


def measure(base_url: str, paths: list[str], concurrency: int, duration: float,
            drain: Any) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    result = load.run_load(base_url, paths, connections=concurrency, duration_s=duration)
    run = result.to_dict()
    run.update(load_before=round(load_before, 2), load_after=round(os.getloadavg()[0], 2))
    drain()
    return run


def ratios(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Requests per second of each set-up over ``1w``'s, per query and concurrency."""
    base = {(r["query"], r["concurrency"]): r["rps"] for r in runs if r["setup"] == "1w"}
    out = []
    for run in runs:
        reference = base.get((run["query"], run["concurrency"]))
        if run["setup"] != "1w" and reference:
            out.append({"query": run["query"], "concurrency": run["concurrency"],
                        "setup": run["setup"], "rps_vs_1w": round(run["rps"] / reference, 2)})
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = [f"Rows {result['rows']:,}, {result['duration']} s per run, load average "
             f"{result['load_start']} at the start, {result['load_end']} at the end "
             f"({result['machine']['cores']} cores, shared).", "",
             "| query | c | 1w req/s | 2w req/s | 2w / 1w | Varnish req/s | Varnish / 1w "
             "| p99 1w / 2w / Varnish ms |", "|---|---|---|---|---|---|---|---|"]
    by = {(r["query"], r["concurrency"], r["setup"]): r for r in result["runs"]}
    for query in result["queries"]:
        for c in result["concurrency"]:
            row = [by.get((query, c, s)) for s in SETUPS]
            if not all(row):
                continue
            one, two, cached = row
            lines.append(
                f"| {query} | {c} | {one['rps']:.0f} | {two['rps']:.0f} | "
                f"{two['rps'] / one['rps']:.2f}x | {cached['rps']:.0f} | "
                f"{cached['rps'] / one['rps']:.2f}x | {one['p99_ms']:.1f} / "
                f"{two['p99_ms']:.1f} / {cached['p99_ms']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load run")
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--queries", default=",".join(systems.QUERIES))
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    concurrency = [int(c) for c in args.concurrency.split(",")]
    queries = [q for q in args.queries.split(",") if q]
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    workdir = RESULTS / "work" / f"scale-{stamp}"
    workdir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {
        "command": " ".join(["python", "-m", "bench.scale",
                             *(argv if argv is not None else sys.argv[1:])]),
        "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "rows": args.rows, "duration": args.duration, "concurrency": concurrency,
        "queries": queries, "load_generator": load.generator_name(),
        "machine": report.machine(), "load_start": [round(v, 2) for v in os.getloadavg()],
        "runs": [],
    }
    path = RESULTS / f"scale-{stamp}.json"
    utf8, _ = dataset_files(args.rows, args.seed, ROOT / "bench" / "data")
    with Cluster(keep=False) as cluster:
        url = cluster.database("scale")
        log(f"publishing {args.rows} rows")
        ingest.hub_publish(url, utf8)
        db = cluster.grant_reader(url)
        sample = sample_inputs(url, args.samples, args.seed)
        env = ingest.hub_env(url)
        one = start_workers(db, workdir, env, 1)
        two = start_workers(db, workdir, env, 2)
        varnish_port = free_port()
        varnish = start_varnish(VCL, varnish_port, two.port)
        bases = {"1w": one.base_url, "2w": two.base_url,
                 "varnish": f"http://127.0.0.1:{varnish_port}"}

        def drain() -> None:  # both hub servers and PostgreSQL idle before the next run
            _drain(one, url)
            _drain(two, url)

        try:
            for query in queries:
                paths = systems.paths("hub", query, sample)
                if not paths:
                    continue
                for setup in SETUPS:
                    warm(bases[setup], paths)
                    for c in concurrency:
                        run = measure(bases[setup], paths, c, args.duration, drain)
                        run.update(query=query, setup=setup, concurrency=c)
                        out["runs"].append(run)
                        log(f"{query:<9} {setup:<8} c={c:<3} {run['rps']:8.1f} req/s  "
                            f"p99 {run['p99_ms']:8.2f} ms  err {run['errors']}  "
                            f"load {run['load_before']:.2f}")
                path.write_text(json.dumps(out, indent=1))
        finally:
            varnish.stop()
            two.stop()
            one.stop()
    out["finished"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    out["load_end"] = [round(v, 2) for v in os.getloadavg()]
    out["ratios"] = ratios(out["runs"])
    path.write_text(json.dumps(out, indent=1))
    log(f"results: {path.relative_to(ROOT)}")
    print(markdown(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
