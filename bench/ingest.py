"""Ingest: `hub publish` vs ogr2ogr vs plain COPY, each into a fresh database.

Wall time is measured around the whole command; peak RSS and CPU time of the command come from
``wait4``'s rusage (the kernel's own high-water mark, no sampling). PostgreSQL's work (COPY,
index builds) happens in the server, outside the client's rusage: wall time is what counts,
and the server's CPU seconds during the command (``server_cpu_s``, when the caller can read
them) are recorded beside it. Client plus server CPU is the work a load costs whatever else
the machine is doing; wall time on a shared machine moves with the load, CPU work much less.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.systems import DATASET_ID, HUB_BIN, ROOT

LAT, LON = "緯度", "経度"
ServerCpu = Callable[[], float]  # CPU seconds the database server has used so far


@dataclass
class Timed:
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mb: float
    exit_code: int
    output_tail: str = ""
    detail: dict[str, float] | None = None
    server_cpu_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_timed(cmd: list[str], env: dict[str, str] | None = None,
              timeout_s: float = 3600, server_cpu: ServerCpu | None = None) -> Timed:
    """Run ``cmd``; wall time, the child's rusage (peak RSS, CPU) and, given ``server_cpu``,
    the database server's CPU seconds while it ran."""
    server_before = server_cpu() if server_cpu else None
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-cmd-{os.getpid()}.log"
    with log.open("wb") as handle:
        started = time.perf_counter()
        process = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=handle,
                                   stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = started + timeout_s
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    server = (server_cpu() - server_before
              if server_cpu and server_before is not None else None)
    tail = log.read_text(errors="replace")[-3000:]
    log.unlink(missing_ok=True)
    return Timed(wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024,
                 process.returncode, tail, server_cpu_s=server)


def hub_env(database_url: str, artifact_dir: Path | None = None) -> dict[str, str]:
    """The hub's settings for the bench: its database, the bench dataset, and an artifact
    store of its own (never the checkout's .hub/: every publish builds its bulk files from
    scratch, as a first publish does, and nothing is left behind)."""
    return {
        "HUB_DATABASE_URL": database_url,
        "HUB_DATASETS_DIR": str(ROOT / "bench" / "datasets"),
        "HUB_SCHEMAS_DIR": str(ROOT / "bench" / "schemas"),
        "HUB_PUBLISHER": "bench",
        # one load generator on one address measures the server, not the quota
        "HUB_RATE_LIMIT_ANONYMOUS": "0",
        "HUB_ARTIFACT_DIR": str(artifact_dir or Path(tempfile.gettempdir())
                                / "hub-bench-artifacts-unused"),
    }


def _watch_commit(database_url: str, started: float, stop: threading.Event,
                  found: list[float]) -> None:
    """Record when the new version row becomes visible: the moment the publish committed
    (what follows is `hub publish` writing the version's bulk files)."""
    engine = create_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            while not stop.is_set():
                if conn.execute(text("SELECT 1 FROM hub.versions WHERE dataset_id = :d"),
                                {"d": DATASET_ID}).first():
                    found.append(time.perf_counter() - started)
                    return
                stop.wait(0.2)
    finally:
        engine.dispose()


def hub_publish(database_url: str, csv: Path, server_cpu: ServerCpu | None = None) -> Timed:
    """`hub publish` of the file: read, normalise, validate, COPY, index, register, commit;
    then (since the bulk-files hook) write the version's bulk files. ``detail`` has
    ``commit_s``: the time until the version was committed and visible."""
    artifacts = Path(tempfile.mkdtemp(prefix="hub-bench-artifacts-"))
    stop, found = threading.Event(), []
    watcher = threading.Thread(target=_watch_commit,
                               args=(database_url, time.perf_counter(), stop, found))
    watcher.start()
    try:
        result = run_timed([str(HUB_BIN / "hub"), "publish", DATASET_ID, str(csv)],
                           env=hub_env(database_url, artifacts), server_cpu=server_cpu)
    finally:
        stop.set()
        watcher.join()
        shutil.rmtree(artifacts, ignore_errors=True)
    if result.exit_code != 0:
        raise RuntimeError(f"hub publish failed ({result.exit_code}): {result.output_tail}")
    result.detail = {"commit_s": round(found[0], 2) if found else None}
    return result


def hub_validate(csv: Path) -> Timed:
    """`hub validate`: the prepare half of a publish (no database)."""
    result = run_timed([str(HUB_BIN / "hub"), "validate", DATASET_ID, str(csv)],
                       env=hub_env("postgresql+psycopg://unused@127.0.0.1:1/unused"))
    if result.exit_code != 0:
        raise RuntimeError(f"hub validate failed ({result.exit_code}): {result.output_tail}")
    return result


def _libpq(url: str) -> dict[str, str]:
    parts = urlsplit(url.replace("postgresql+psycopg", "postgresql"))
    return {"host": parts.hostname or "127.0.0.1", "port": str(parts.port or 5432),
            "dbname": parts.path.lstrip("/"), "user": unquote(parts.username or ""),
            "password": unquote(parts.password or "")}


def ogr2ogr_available() -> str | None:
    """None when ogr2ogr can run, else why not."""
    return None if shutil.which("ogr2ogr") else "ogr2ogr not installed (apt-get install gdal-bin)"


def ogr2ogr_load(database_url: str, csv: Path, table: str = "places",
                 server_cpu: ServerCpu | None = None) -> Timed:
    """GDAL's CSV -> PostGIS path, the tool people reach for: COPY mode, one transaction,
    types autodetected, a point from the latitude/longitude columns, GiST index (default)."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS ogr"))
    engine.dispose()
    pg = _libpq(database_url)
    conn_string = "PG:" + " ".join(f"{k}={v}" for k, v in pg.items() if k != "password")
    cmd = [
        "ogr2ogr", "-f", "PostgreSQL", conn_string, str(csv),
        "-nln", f"ogr.{table}", "-overwrite", "-gt", "unlimited",
        "-oo", f"X_POSSIBLE_NAMES={LON}", "-oo", f"Y_POSSIBLE_NAMES={LAT}",
        "-oo", "KEEP_GEOM_COLUMNS=YES", "-oo", "AUTODETECT_TYPE=YES",
        "-a_srs", "EPSG:4326", "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST",
        "--config", "PG_USE_COPY", "YES",
    ]
    result = run_timed(cmd, env={"PGPASSWORD": pg["password"]}, server_cpu=server_cpu)
    if result.exit_code != 0:
        raise RuntimeError(f"ogr2ogr failed ({result.exit_code}): {result.output_tail}")
    return result


OGR_INDEXED = "ogr2ogr + the hub's indexes (one by one)"
# The bench schema's x-search fields (bench/schemas/bench-places.json) by their CSV headers,
# which ogr2ogr keeps as column names: the text the hub's trigram index covers.
SEARCH_HEADERS = ("名称", "名称_カナ", "種別", "住所", "区")


def ogr2ogr_with_indexes(database_url: str, csv: Path,
                         server_cpu: ServerCpu | None = None) -> tuple[Timed, Timed]:
    """ogr2ogr's load, then the indexes the hub builds that ogr2ogr does not, one after
    another as a person with psql would: trigram GIN on the same search fields, unique
    B-tree on the id, then ANALYZE (ogr2ogr builds the GiST on ``geom`` itself, and the hub
    serves radius searches from that one: hub.query.geodesic). They get the publish's
    ``maintenance_work_mem`` (etl.load.INDEX_BUILD_MEMORY), so the comparison is of the
    work and its order, not of a memory setting. Returns (ogr2ogr alone, ogr2ogr + indexes);
    ``detail`` of the second has the seconds of each build."""
    from etl.load import INDEX_BUILD_MEMORY

    plain = ogr2ogr_load(database_url, csv, server_cpu=server_cpu)
    search = " || ' ' || ".join(f'coalesce("{h}"::text, \'\')' for h in SEARCH_HEADERS)
    statements = {
        "GIN trigram (search fields)":
            f"CREATE INDEX ON ogr.places USING gin (({search}) gin_trgm_ops)",
        "unique B-tree (id)": "CREATE UNIQUE INDEX ON ogr.places (id)",
        "ANALYZE": "ANALYZE ogr.places",
    }
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    server_before = server_cpu() if server_cpu else None
    try:
        with engine.connect() as conn:
            conn.execute(text("SET search_path = hub, public"))
            conn.execute(text(f"SET maintenance_work_mem = '{INDEX_BUILD_MEMORY}'"))
            for name, sql in statements.items():
                began = time.perf_counter()
                conn.execute(text(sql))
                timings[name] = round(time.perf_counter() - began, 2)
    finally:
        engine.dispose()
    extra = time.perf_counter() - started
    server = None
    if server_cpu and server_before is not None and plain.server_cpu_s is not None:
        server = plain.server_cpu_s + server_cpu() - server_before
    indexed = Timed(plain.wall_s + extra, plain.user_s, plain.sys_s, plain.peak_rss_mb,
                    plain.exit_code, detail={"ogr2ogr_s": round(plain.wall_s, 2), **timings},
                    server_cpu_s=server)
    return plain, indexed


def copy_load(database_url: str, csv: Path, table: str = "places_copy",
              server_cpu: ServerCpu | None = None) -> Timed:
    """The floor: psql's \\copy of the raw text into a table with a generated point column
    (no validation, no normalisation: era dates and full-width digits stay as written),
    then a GiST index and ANALYZE, in one transaction."""
    pg = _libpq(database_url)
    columns = ("id, name, name_kana, category, address, ward, postal_code, phone, website, "
               "opened, floors, rating, step_free, latitude, longitude, updated")
    script = f"""
BEGIN;
CREATE SCHEMA IF NOT EXISTS raw;
DROP TABLE IF EXISTS raw.{table};
CREATE TABLE raw.{table} (
  id text, name text, name_kana text, category text, address text, ward text,
  postal_code text, phone text, website text, opened text, floors text, rating text,
  step_free text, latitude double precision, longitude double precision, updated text,
  geom geometry(Point, 4326)
    GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(longitude, latitude), 4326)) STORED
);
\\copy raw.{table} ({columns}) FROM '{csv}' WITH (FORMAT csv, HEADER true)
CREATE INDEX ON raw.{table} USING gist (geom);
ANALYZE raw.{table};
COMMIT;
"""
    script_file = csv.parent / f".copy-{os.getpid()}.sql"
    script_file.write_text(script)
    try:
        cmd = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-q", "-h", pg["host"], "-p", pg["port"],
               "-U", pg["user"], "-d", pg["dbname"], "-f", str(script_file)]
        result = run_timed(cmd, env={"PGPASSWORD": pg["password"]}, server_cpu=server_cpu)
    finally:
        script_file.unlink(missing_ok=True)
    if result.exit_code != 0:
        raise RuntimeError(f"COPY failed ({result.exit_code}): {result.output_tail}")
    return result


def index_breakdown(database_url: str, table: str) -> dict[str, float]:
    """Seconds each of the publish's index builds (and ANALYZE) takes on the loaded table,
    rebuilt under other names in a transaction that is rolled back: which part of the
    server-side work dominates a publish. Mirrors etl.load.index_jobs, with the trigram index
    built whole (the sum of its parts)."""
    qualified = f'data."{table}"'
    statements = {
        "GiST (geom)": f"CREATE INDEX bench_ix_geom ON {qualified} USING gist (geom)",
        "GIN trigram (_search)":
            f"CREATE INDEX bench_ix_search ON {qualified} USING gin (_search gin_trgm_ops)",
        "unique B-tree (id)": f"CREATE UNIQUE INDEX bench_ix_pk ON {qualified} (id)",
        "unique B-tree (_fid)": f"CREATE UNIQUE INDEX bench_ix_fid ON {qualified} (_fid)",
        "ANALYZE": f"ANALYZE {qualified}",
        "count + extent": f"SELECT count(*), ST_Extent(geom) FROM {qualified}",
    }
    engine = create_engine(database_url)
    timings: dict[str, float] = {}
    try:
        with engine.connect() as conn:
            conn.execute(text("SET search_path = hub, public"))
            for name, sql in statements.items():
                started = time.perf_counter()
                conn.execute(text(sql))
                timings[name] = round(time.perf_counter() - started, 2)
            conn.rollback()
    finally:
        engine.dispose()
    return timings
