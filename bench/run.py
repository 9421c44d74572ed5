"""Benchmarks of the hub against its peers; see bench/README.md.

    .venv/bin/python -m bench.run --suite full            # make bench
    .venv/bin/python -m bench.run --suite smoke           # make bench-smoke
    .venv/bin/python -m bench.run --suite full --with-5m  # add the 5M-row scale

Runs under the hub's own environment (it uses the hub's cluster code); the peers, the chart and
py-spy come from bench/.venv. Everything runs on a throwaway PostGIS cluster on a free port and
on loopback; the cluster is removed at the end (--keep keeps it).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench import ingest, load, profiling, report, systems
from bench.generate import dataset_files, gtfs_dir
from hub.db.cluster import LocalCluster, free_port
from hub.db.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
DATA = BENCH / "data"
READER = "bench_reader"

SUITES: dict[str, dict[str, Any]] = {
    "full": {"ingest_rows": 1_000_000, "scales": [100_000, 1_000_000], "duration": 10.0,
             "concurrency": [1, 32], "samples": 64, "profile_seconds": 15, "warm_seconds": 20,
             "pool_warm_seconds": 2.0,
             "ingest_profile_rows": 250_000, "validate": True,
             "ingest_repeats": 2},
    "smoke": {"ingest_rows": 2_000, "scales": [2_000], "duration": 2.0, "concurrency": [1, 4],
              "samples": 8, "profile_seconds": 2, "warm_seconds": 3,
              "pool_warm_seconds": 0.5,
              "ingest_profile_rows": 2_000, "validate": False, "ingest_repeats": 1},
}


def log(message: str) -> None:
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {message}", flush=True)


# -- database ---------------------------------------------------------------------------------


class Cluster:
    """A throwaway PostGIS cluster with one migrated database per purpose."""

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        root = Path(tempfile.mkdtemp(prefix="hub-bench-pg-", dir="/tmp"))
        root.chmod(0o755)  # the server user must reach it when we are root
        self.cluster = LocalCluster(root=root, port=free_port(), database="postgres")
        self.reader_password = f"r{random.randrange(10**12)}"
        self.published: dict[int, tuple[str, float]] = {}  # rows -> (url, publish seconds)

    @property
    def postmaster(self) -> int:
        return int((self.cluster.pgdata / "postmaster.pid").read_text().split()[0])

    def __enter__(self) -> Cluster:
        self.cluster.start()
        admin = create_engine(self.cluster.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE ROLE {READER} LOGIN PASSWORD '{self.reader_password}'"))
            # The hub's migration creates PostGIS while connected as the role "hub", whose
            # default search_path is "$user", public: so the extension lands in the schema
            # "hub" and other roles only see the geometry type with hub on their path.
            conn.execute(text(f'ALTER ROLE {READER} SET search_path = "$user", public, hub'))
            # the hub's API runs with statement_timeout = HUB_STATEMENT_TIMEOUT_MS (15 s by
            # default): the peers get the same bound, so no system's backlog outlives a run
            conn.execute(text(f"ALTER ROLE {READER} SET statement_timeout = '15s'"))
        admin.dispose()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.keep:
            log(f"keeping the cluster in {self.cluster.root} (port {self.cluster.port})")
            return
        self.cluster.destroy()

    def database(self, name: str) -> str:
        """A fresh, migrated database; returns its SQLAlchemy URL."""
        admin = create_engine(self.cluster.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = self.cluster.url(name)
        upgrade(url)
        return url

    def drop(self, name: str) -> None:
        admin = create_engine(self.cluster.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    def grant_reader(self, url: str) -> systems.Database:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"GRANT USAGE ON SCHEMA data, hub TO {READER}"))
            conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA data TO {READER}"))
        engine.dispose()
        return systems.Database("127.0.0.1", self.cluster.port, url.rsplit("/", 1)[1], url,
                                READER, self.reader_password)

    def versions(self) -> dict[str, str]:
        engine = create_engine(self.cluster.url("postgres"))
        with engine.connect() as conn:
            pg = conn.execute(text("SHOW server_version")).scalar_one()
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
            geos = conn.execute(text("SELECT postgis_geos_version()")).scalar_one()
        engine.dispose()
        return {"postgresql": pg, "postgis": postgis, "geos": geos}


def sample_inputs(url: str, n: int, seed: int) -> systems.Sample:
    """Query inputs from real rows: points, ids, categories and the tiles around them."""
    engine = create_engine(url)
    with engine.connect() as conn:
        total = conn.execute(text(f'SELECT count(*) FROM data."{systems.TABLE}"')).scalar_one()
        rng = random.Random(seed)
        fids = sorted(rng.sample(range(1, total + 1), min(n, total)))
        rows = conn.execute(text(
            f'SELECT id, latitude, longitude FROM data."{systems.TABLE}" '
            "WHERE _fid = ANY(:f) ORDER BY _fid"), {"f": fids}).all()
        categories = [r[0] for r in conn.execute(text(
            f'SELECT category FROM data."{systems.TABLE}" GROUP BY category ORDER BY category'))]
    engine.dispose()
    ids = [r[0] for r in rows]
    rng.shuffle(ids)
    points = [(float(r[1]), float(r[2])) for r in rows]
    return systems.Sample(
        points=points, ids=ids, categories=categories,
        tiles14=[systems.tile_of(lat, lon, 14) for lat, lon in points],
        tiles16=[systems.tile_of(lat, lon, 16) for lat, lon in points],
    )


# -- CPU accounting ---------------------------------------------------------------------------


def _cpu_ticks(pids: list[int], children: bool = False) -> float:
    """CPU seconds (user + system) of ``pids``; with ``children`` also of their waited-for
    children (PostgreSQL's postmaster reaps every backend that ends)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            if children:
                total += int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK")


def _db_cpu(postmaster: int) -> float:
    """CPU seconds used so far by the cluster: the postmaster with its ended backends, plus
    the live backends and helpers."""
    live = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) == postmaster:
                    live.append(int(entry.name))
    return _cpu_ticks([postmaster], children=True) + _cpu_ticks(live)


# -- suites -----------------------------------------------------------------------------------


def run_ingest(cluster: Cluster, rows: int, seed: int, out: dict[str, Any],
               skip: dict[str, str], validate: bool, repeats: int) -> None:
    utf8, cp932 = dataset_files(rows, seed, DATA)
    out["files"] = {"utf8": {"path": report.shown(utf8), "bytes": utf8.stat().st_size},
                    "cp932": {"path": report.shown(cp932),
                              "bytes": cp932.stat().st_size}}
    results: dict[str, Any] = {}
    # ABBA order when repeated (UTF-8, CP932, CP932, UTF-8): the first big publish on a fresh
    # cluster pays for things the second does not (WAL segments, checkpoints, caches), so a
    # single UTF-8-then-CP932 pair would flatter CP932. Reported: the mean of each.
    order = [("UTF-8", utf8), ("CP932", cp932)]
    if repeats > 1:
        order = (order + order[::-1]) * (repeats // 2)
    samples: dict[str, list[dict[str, Any]]] = {"UTF-8": [], "CP932": []}

    def server_cpu() -> float:
        return _db_cpu(cluster.postmaster)

    for encoding, path in order:
        # the first UTF-8 table is kept: the query suite at this size reuses it
        keep = encoding == "UTF-8" and rows not in cluster.published
        name = f"scale_{rows}" if keep else "ingest"
        url = cluster.database(name)
        log(f"ingest: hub publish ({encoding}), {rows} rows")
        timed = ingest.hub_publish(url, path, server_cpu)
        entry = _with_load(timed.to_dict())
        entry.pop("output_tail", None)
        samples[encoding].append(entry)
        if keep:
            cluster.published[rows] = (url, timed.wall_s)
            log("ingest: index builds of the published table, one by one (rolled back)")
            out["index_breakdown_s"] = ingest.index_breakdown(url, systems.TABLE)
        else:
            cluster.drop(name)
    for encoding, entries in samples.items():
        mean = {k: sum(e[k] for e in entries) / len(entries)
                for k in ("wall_s", "user_s", "sys_s")}
        server = [e["server_cpu_s"] for e in entries if e.get("server_cpu_s") is not None]
        mean["server_cpu_s"] = sum(server) / len(server) if server else None
        commits = [e["detail"]["commit_s"] for e in entries if (e.get("detail") or {})
                   .get("commit_s") is not None]
        results[f"hub publish ({encoding})"] = {
            **mean, "peak_rss_mb": max(e["peak_rss_mb"] for e in entries), "exit_code": 0,
            "load_after": entries[-1]["load_after"],
            "samples_wall_s": [round(e["wall_s"], 1) for e in entries],
            "commit_s": sum(commits) / len(commits) if commits else None}
    if validate:
        log("ingest: hub validate (the prepare half alone, no database)")
        results["hub validate (UTF-8, no database)"] = _with_load(
            ingest.hub_validate(utf8).to_dict())
    reason = ingest.ogr2ogr_available()
    if reason:
        skip["ogr2ogr"] = reason
    else:
        url = cluster.database("ingest")
        log("ingest: ogr2ogr (PG driver, COPY mode), then the hub's other indexes")
        plain, indexed = ingest.ogr2ogr_with_indexes(url, utf8, server_cpu)
        results["ogr2ogr (PG_USE_COPY)"] = _with_load(plain.to_dict())
        results[ingest.OGR_INDEXED] = _with_load(indexed.to_dict())
        cluster.drop("ingest")
    if shutil.which("psql"):
        url = cluster.database("ingest")
        log("ingest: psql \\copy + GiST (raw text, no validation)")
        results["COPY (psql \\copy + GiST)"] = _with_load(
            ingest.copy_load(url, utf8, server_cpu=server_cpu).to_dict())
        cluster.drop("ingest")
    else:
        skip["COPY"] = "psql not installed"
    for value in results.values():
        value.pop("output_tail", None)
    out["rows"] = rows
    out["results"] = results


def _with_load(entry: dict[str, Any]) -> dict[str, Any]:
    entry["load_after"] = round(os.getloadavg()[0], 2)
    return entry


def run_queries(cluster: Cluster, rows: int, seed: int, settings: dict[str, Any],
                wanted: list[str], skip: dict[str, str], workdir: Path,
                profile_dir: Path | None, scale: dict[str, Any]) -> None:
    """Publish ``rows`` with the hub, serve it from every system, load each query; results
    go into ``scale`` as they come, so a failure half-way keeps what was measured."""
    utf8, _ = dataset_files(rows, seed, DATA)
    name = f"scale_{rows}"
    if rows in cluster.published:  # published by the ingest suite already
        url, publish_wall_s = cluster.published.pop(rows)
    else:
        url = cluster.database(name)
        log(f"scale {rows}: hub publish")
        publish_wall_s = ingest.hub_publish(url, utf8).wall_s
    db = cluster.grant_reader(url)
    sample = sample_inputs(url, settings["samples"], seed)
    scale.update(rows=rows, publish_wall_s=round(publish_wall_s, 2), runs=[], checks={})
    servers: dict[str, systems.Server] = {}
    try:
        peers = [p for p in systems.PEERS if p in wanted and p not in skip]
        with ThreadPoolExecutor(len(peers) + 2) as pool:  # start all at once
            hub_future = pool.submit(systems.start_hub, db, workdir, ingest.hub_env(url))
            futures = {p: pool.submit(systems.STARTERS[p], db, workdir) for p in peers}
            for peer, future in futures.items():
                try:
                    servers[peer] = future.result()
                except Exception as exc:  # a peer that cannot start is reported, not fatal
                    skip[peer] = f"could not start: {str(exc)[-1500:]}"
                    log(f"{peer}: {skip[peer]}")
            cold = pool.submit(systems.start_hub_cold, db, workdir,
                               ingest.hub_env(url)) if "hub-cold" in wanted else None
            exact = pool.submit(systems.start_hub_exact_count, db, workdir,
                                ingest.hub_env(url)) if "hub-ogc-exact" in wanted else None
            hub = hub_future.result()
            if cold is not None:
                servers["hub-cold"] = cold.result()
            if exact is not None:
                servers["hub-ogc-exact"] = exact.result()
        if "hub-pmtiles" in wanted:  # after the others: the build must not overlap a run
            log(f"scale {rows}: hub export (bulk files and PMTiles)")
            servers["hub-pmtiles"], build_s = systems.start_hub_pmtiles(
                db, workdir, ingest.hub_env(url))
            scale["files_build_s"] = round(build_s, 1)
            log(f"scale {rows}: files built in {build_s:.1f} s")
        servers["hub"] = hub
        servers["hub-ogc"] = hub
        for query in [q for q in systems.QUERIES if q in settings["queries"]]:
            for system in [s for s in systems.SYSTEMS if s in servers and s in wanted]:
                paths = systems.paths(system, query, sample)
                if paths is None:
                    continue
                server = servers[system]
                status, size = systems.check(server, paths[0])
                returned = systems.features_returned(server, paths[0]) \
                    if not query.startswith("tile") else None
                scale["checks"][f"{query}/{system}"] = {"status": status, "bytes": size,
                                                       "features": returned}
                if status not in (200, 204):
                    skip_key = f"{query}/{system}"
                    skip[skip_key] = f"HTTP {status} for {paths[0]}"
                    log(f"{skip_key}: {skip[skip_key]}")
                    continue
                if query.startswith("tile") and system in ("hub", *systems.TILE_ONLY):
                    # every tile once: the largest must be within the cap (HUB_TILE_MAX_KB)
                    sizes = [systems.check(server, path)[1] for path in paths]
                    scale["checks"][f"{query}/{system}"]["max_tile_bytes"] = max(sizes)
                warm_until = time.monotonic() + settings["warm_seconds"]
                for path in paths:  # warm: each path once (caches, pools, plans), bounded
                    systems.check(server, path)
                    if time.monotonic() > warm_until:
                        break
                for concurrency in settings["concurrency"]:
                    if concurrency > 1:  # fill every system's pool to this concurrency first
                        load.run_load(server.base_url, paths, connections=concurrency,
                                      duration_s=settings["pool_warm_seconds"])
                        _drain(server, url)
                    run = _measure(server, paths, concurrency, settings["duration"],
                                   cluster.postmaster, url)
                    run.update(query=query, system=system, concurrency=concurrency,
                               response_bytes=size)
                    scale["runs"].append(run)
                    log(f"{rows:>9} {query:<9} {system:<9} c={concurrency:<3} "
                        f"{run['rps']:8.1f} req/s  p50 {run['p50_ms']:7.2f}  "
                        f"p99 {run['p99_ms']:8.2f} ms  err {run['errors']}  "
                        f"load {run['load_before']:.2f}")
        if profile_dir is not None and "hub" in servers:
            scale["profile"] = profile_worst(scale, servers["hub"], sample, settings,
                                             profile_dir)
    finally:
        for server in {id(s): s for s in servers.values()}.values():
            server.stop()
        cluster.drop(name)


def _drain(server: systems.Server, url: str, limit_s: float = 45.0) -> float:
    """Wait until the server and PostgreSQL are idle after a run (a slow system keeps working
    through its queue after the load generator stops; that must not bleed into the next
    run). After ``limit_s`` the database's remaining queries are cancelled. Returns seconds."""
    started = time.monotonic()
    active_sql = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                      " AND state = 'active' AND pid <> pg_backend_pid()")
    cancel_sql = text("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = "
                      "current_database() AND state = 'active' AND pid <> pg_backend_pid()")
    # one session, autocommit: every statement sees a fresh pg_stat_activity snapshot
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            while True:
                cpu = _cpu_ticks([server.pid])
                time.sleep(0.3)
                busy = _cpu_ticks([server.pid]) - cpu > 0.03
                if not busy and not conn.execute(active_sql).scalar_one():
                    break
                if time.monotonic() - started > limit_s:
                    conn.execute(cancel_sql)
                    time.sleep(1)
                    break
    finally:
        engine.dispose()
    return time.monotonic() - started


def _sessions(url: str) -> int:
    """Sessions ever established to the database (pg_stat_database.sessions, PG 14+),
    not counting the one asking."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
            )).scalar_one())
    finally:
        engine.dispose()


def _measure(server: systems.Server, paths: list[str], concurrency: int,
             duration: float, postmaster: int, url: str) -> dict[str, Any]:
    sessions = _sessions(url)
    load_before = os.getloadavg()[0]
    server_cpu = _cpu_ticks([server.pid])
    db_cpu = _db_cpu(postmaster)
    result = load.run_load(server.base_url, paths, connections=concurrency,
                           duration_s=duration)
    server_cpu = _cpu_ticks([server.pid]) - server_cpu
    db_cpu = _db_cpu(postmaster) - db_cpu
    load_after = round(os.getloadavg()[0], 2)
    drained = _drain(server, url)  # also lets the statistics collector flush
    # sessions the run opened, less the two this bookkeeping opened itself (approximate:
    # backends report their statistics with a delay of up to a second)
    opened = _sessions(url) - sessions - 2
    run = result.to_dict()
    per = max(result.requests, 1)
    run.update(load_before=round(load_before, 2), load_after=load_after,
               drain_s=round(drained, 1),
               server_cpu_ms_per_req=round(1000 * server_cpu / per, 3),
               db_cpu_ms_per_req=round(1000 * db_cpu / per, 3),
               connections_opened=max(opened, 0))
    return run


def profile_worst(scale: dict[str, Any], hub: systems.Server, sample: systems.Sample,
                  settings: dict[str, Any], profile_dir: Path) -> dict[str, Any] | None:
    """py-spy on the hub while it serves the query where it does worst against tipg."""
    if profiling.py_spy() is None:
        return {"skipped": "py-spy not installed (bench/.venv)"}
    ratios = report.ratios(scale["runs"])
    concurrency = max(settings["concurrency"])
    candidates = [r for r in ratios if r["concurrency"] == concurrency
                  and r.get("rps_vs_tipg") is not None]
    if candidates:
        worst = min(candidates, key=lambda r: r["rps_vs_tipg"])
        query = worst["query"]
        why = f"lowest hub/tipg requests/s ratio at c={concurrency} ({worst['rps_vs_tipg']}x)"
    else:
        hub_runs = [r for r in scale["runs"] if r["system"] == "hub"
                    and r["concurrency"] == concurrency]
        if not hub_runs:
            return None
        query = min(hub_runs, key=lambda r: r["rps"])["query"]
        why = f"the hub's slowest query at c={concurrency} (no tipg in this run)"
    paths = systems.paths("hub", query, sample) or []
    seconds = settings["profile_seconds"]
    result: dict[str, Any] = {"query": query, "why": why, "concurrency": concurrency,
                              "seconds": seconds}
    for mode in ("wall", "gil"):
        raw = profile_dir / f"hub-{query}-{scale['rows']}-{mode}.txt"
        log(f"profiling the hub on {query} ({why}), {mode}, {seconds}s")
        spy = profiling.record_pid(hub.pid, seconds, raw, gil=mode == "gil")
        time.sleep(0.5)
        load.run_load(hub.base_url, paths, connections=concurrency, duration_s=seconds)
        _, err = spy.communicate(timeout=120)
        if not raw.exists():
            result[mode] = {"skipped": f"py-spy failed: {err.decode(errors='replace')[-500:]}"}
            continue
        result[mode] = {**profiling.summarise(raw), "raw": report.shown(raw)}
    return result


def profile_ingest(cluster: Cluster, rows: int, seed: int, profile_dir: Path) -> dict[str, Any]:
    if profiling.py_spy() is None:
        return {"skipped": "py-spy not installed (bench/.venv)"}
    utf8, _ = dataset_files(rows, seed, DATA)
    url = cluster.database("ingest_profile")
    raw = profile_dir / f"hub-publish-{rows}.txt"
    log(f"profiling hub publish of {rows} rows")
    artifacts = Path(tempfile.mkdtemp(prefix="hub-bench-artifacts-"))
    code = profiling.record_command(
        [str(systems.HUB_BIN / "python"), str(systems.HUB_BIN / "hub"), "publish",
         systems.DATASET_ID, str(utf8)], raw,
        {**os.environ, **ingest.hub_env(url, artifacts)}, ROOT)
    shutil.rmtree(artifacts, ignore_errors=True)
    cluster.drop("ingest_profile")
    if code != 0 or not raw.exists():
        return {"skipped": f"py-spy exited {code}"}
    summary = profiling.summarise(raw, top=20)
    summary.update(rows=rows, raw=report.shown(raw))
    return summary


# -- main -------------------------------------------------------------------------------------


def _beside_repository(path: Path) -> str:
    """A path as the results record it: relative to the repository (or to the folder the
    repository sits in, for the shared data beside it), never a machine's absolute path."""
    for base in (ROOT, ROOT.parent):
        if path.is_relative_to(base):
            return str(path.relative_to(base))
    return path.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmarks against the peers (bench/README.md)")
    parser.add_argument("--suite", choices=sorted(SUITES), default="full")
    parser.add_argument("--scales", help="comma-separated row counts for the query suite")
    parser.add_argument("--with-5m", action="store_true", help="add the 5,000,000-row scale")
    parser.add_argument("--queries", help="comma-separated subset of "
                        + ",".join(systems.QUERIES) + " (default: all)")
    parser.add_argument("--ingest-rows", type=int)
    parser.add_argument("--ingest-repeats", type=int,
                        help="publishes per encoding (2 = ABBA order; full default 2)")
    parser.add_argument("--duration", type=float, help="seconds per load run")
    parser.add_argument("--concurrency", help="comma-separated, e.g. 1,32")
    parser.add_argument("--systems", help=f"subset of {','.join(systems.SYSTEMS)} (default: "
                        "all)")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-queries", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the database cluster")
    parser.add_argument("--results", type=Path,
                        help="results folder (default bench/results; smoke: bench/results/smoke,"
                             " which git ignores)")
    args = parser.parse_args(argv)
    if args.results is None:
        args.results = RESULTS if args.suite == "full" else RESULTS / "smoke"

    settings = dict(SUITES[args.suite])
    if args.scales:
        settings["scales"] = [int(s) for s in args.scales.split(",")]
    settings["queries"] = args.queries.split(",") if args.queries else list(systems.QUERIES)
    unknown = set(settings["queries"]) - set(systems.QUERIES)
    if unknown:
        parser.error(f"unknown queries: {', '.join(sorted(unknown))}")
    if args.with_5m and 5_000_000 not in settings["scales"]:
        settings["scales"].append(5_000_000)
    if args.ingest_rows:
        settings["ingest_rows"] = args.ingest_rows
    if args.ingest_repeats:
        settings["ingest_repeats"] = args.ingest_repeats
    if args.duration:
        settings["duration"] = args.duration
    if args.concurrency:
        settings["concurrency"] = [int(c) for c in args.concurrency.split(",")]
    default_systems = list(systems.SYSTEMS)
    wanted = [s.strip() for s in args.systems.split(",") if s.strip()] if args.systems \
        else default_systems

    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    args.results.mkdir(parents=True, exist_ok=True)
    workdir = RESULTS / "work" / stamp
    workdir.mkdir(parents=True, exist_ok=True)
    profile_dir = None if args.no_profile else args.results / "profiles"
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)

    skip: dict[str, str] = {}
    for peer in systems.PEERS:
        if peer in wanted:
            reason = systems.peer_missing_reason(peer)
            if reason:
                skip[peer] = reason
                log(f"{peer} skipped: {reason}")
    out: dict[str, Any] = {
        "suite": args.suite,
        "command": " ".join([Path(sys.executable).name, "-m", "bench.run",
                             *(argv if argv is not None else sys.argv[1:])]),
        "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "settings": {**settings, "systems": wanted, "seed": args.seed,
                     "load_generator": load.generator_name(),
                     "servers": "uvicorn (uvloop, httptools), 1 worker process each, "
                                "no access log; peers connect as a read-only role",
                     "gtfs_shapes": _beside_repository(gtfs_dir())},
        "machine": report.machine(),
        "queries_asked_as": systems.describe_equivalents(),
        "skipped": skip,
        "load_start": [round(v, 2) for v in os.getloadavg()],
    }
    json_path = args.results / f"{args.suite}-{stamp}.json"

    def save(result: dict[str, Any]) -> None:  # after every phase: a crash keeps the rest
        json_path.write_text(json.dumps(result, ensure_ascii=False, indent=1))

    log(f"suite {args.suite}: load average {out['load_start']} on "
        f"{out['machine']['cores']} cores")
    with Cluster(args.keep) as cluster:
        out["machine"].update(cluster.versions())
        out["versions"] = report.versions()
        if not args.skip_ingest:
            out["ingest"] = {}
            run_ingest(cluster, settings["ingest_rows"], args.seed, out["ingest"], skip,
                       settings["validate"], settings["ingest_repeats"])
            if profile_dir:
                out["ingest"]["profile"] = profile_ingest(
                    cluster, min(settings["ingest_rows"], settings["ingest_profile_rows"]),
                    args.seed, profile_dir)
            save(out)
        if not args.skip_queries:
            out["scales"] = []
            main_scale = max(settings["scales"])
            for rows in sorted(settings["scales"]):
                target = profile_dir if rows == main_scale else None
                scale: dict[str, Any] = {"rows": rows, "runs": []}
                out["scales"].append(scale)
                try:
                    run_queries(cluster, rows, args.seed, settings, wanted, skip, workdir,
                                target, scale)
                except Exception as exc:  # keep what was measured; say what failed
                    skip[f"queries at {rows} rows"] = f"failed: {exc!r}"[:1500]
                    log(f"queries at {rows} rows failed: {exc!r}")
                save(out)
    out["finished"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    out["load_end"] = [round(v, 2) for v in os.getloadavg()]
    out["targets"] = report.targets(out)
    save(out)
    chart = report.chart(json_path, args.results / f"{args.suite}-{stamp}.png")
    out["chart"] = chart
    save(out)
    markdown = report.markdown(out, json_path)
    (args.results / ("latest.md" if args.suite == "full" else f"latest-{args.suite}.md")) \
        .write_text(markdown)
    if chart.get("path"):
        latest_png = args.results / ("latest.png" if args.suite == "full"
                                     else f"latest-{args.suite}.png")
        shutil.copyfile(ROOT / chart["path"], latest_png)  # absolute stays absolute
    shutil.rmtree(workdir, ignore_errors=True)
    log(f"results: {report.shown(json_path)}")
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
