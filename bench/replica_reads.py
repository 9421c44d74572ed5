"""Read throughput of one hub process on the primary alone vs. the primary plus one streaming
replica (``HUB_DATABASE_REPLICA_URLS``), in one run, on one machine.

Both servers are on this machine, so the replica adds database processes, not CPUs: the
figure says what routing costs or saves here, not what a replica on its own host would add.
The tile cache is off in both runs (every tile computed by PostGIS), so tile reads reach the
database as record pages do.

    .venv/bin/python -m bench.replica_reads --rows 100000 --duration 10 --concurrency 16
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench import ingest, load, systems
from bench.generate import dataset_files
from bench.run import DATA, RESULTS, log, sample_inputs
from hub.db.cluster import LocalCluster, free_port
from hub.db.engine import REPLICA_APPLICATION_NAME
from hub.db.migrate import upgrade
from hub.db.replicas import add_replica

QUERIES = ("bbox", "filter", "tile_z14")


def _wait_replayed(primary_url: str, replica_url: str, timeout_s: float = 120) -> None:
    primary, replica = create_engine(primary_url), create_engine(replica_url)
    try:
        with primary.connect() as conn:
            target = conn.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar_one()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with replica.connect() as conn:
                if conn.execute(text("SELECT pg_last_wal_replay_lsn() >= :t"),
                                {"t": target}).scalar_one():
                    return
            time.sleep(0.2)
        raise RuntimeError("the replica did not catch up")
    finally:
        primary.dispose()
        replica.dispose()


def _replica_sessions(replica_url: str) -> int:
    engine = create_engine(replica_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :a"),
                {"a": REPLICA_APPLICATION_NAME}).scalar_one())
    finally:
        engine.dispose()


def _measure_all(server: systems.Server, paths: dict[str, list[str]], concurrency: int,
                 duration: float) -> dict[str, Any]:
    runs: dict[str, Any] = {}
    for query, query_paths in paths.items():
        load.run_load(server.base_url, query_paths, connections=concurrency,
                      duration_s=min(2.0, duration))  # fill the pools, unmeasured
        before = os.getloadavg()[0]
        result = load.run_load(server.base_url, query_paths, connections=concurrency,
                               duration_s=duration)
        runs[query] = {**result.to_dict(), "load_before": round(before, 2),
                       "load_after": round(os.getloadavg()[0], 2)}
        log(f"  {server.name} {query}: {result.rps:.1f} req/s, p99 {result.p99_ms:.0f} ms, "
            f"errors {result.errors}")
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per query run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="hub-bench-replica-", dir="/tmp"))
    root.chmod(0o755)  # the server user must reach it when we are root
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-replica-work-"))
    primary = LocalCluster(root=root, port=free_port(), database="hub")
    out: dict[str, Any] = {"rows": args.rows, "duration_s": args.duration,
                           "concurrency": args.concurrency, "generator": load.generator_name(),
                           "cpus": os.cpu_count(), "started": dt.datetime.now(dt.UTC).isoformat()}
    replica = None
    try:
        primary.start()
        admin = create_engine(primary.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "hub"'))
        admin.dispose()
        url = primary.url()
        upgrade(url)
        replica, _ = add_replica(primary, free_port())  # replica-level WAL before the publish
        utf8, _ = dataset_files(args.rows, args.seed, DATA)
        log(f"hub publish of {args.rows} rows")
        ingest.hub_publish(url, utf8)
        replica_url = replica.url("hub")
        _wait_replayed(url, replica_url)
        sample = sample_inputs(url, args.samples, args.seed)
        paths = {q: systems.paths("hub", q, sample) or [] for q in QUERIES}
        db = systems.Database("127.0.0.1", primary.port, "hub", url, "", "")
        env = {**ingest.hub_env(url), "HUB_TILE_CACHE_MB": "0", "HUB_USAGE_STATS": "false"}
        for name, extra in (("primary", {}),
                            ("primary+replica", {"HUB_DATABASE_REPLICA_URLS": replica_url})):
            server = systems.start_hub(db, workdir, {**env, **extra})
            try:
                out[name] = _measure_all(server, paths, args.concurrency, args.duration)
                if extra:
                    out["replica_sessions_after"] = _replica_sessions(replica_url)
            finally:
                server.stop()
        out["ratio_replica_over_primary"] = {
            q: round(out["primary+replica"][q]["rps"] / max(out["primary"][q]["rps"], 1e-9), 2)
            for q in QUERIES}
    finally:
        if replica is not None:
            replica.destroy()
        primary.destroy()
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    result_file = RESULTS / f"replica-reads-{stamp}.json"
    result_file.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    log(f"ratios (primary+replica / primary): {out['ratio_replica_over_primary']}")
    log(f"written {result_file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
