"""How much of a full vector tile is ``ST_AsMVT``'s own encoding: the floor under any server.

A tile that holds every feature of its area with every attribute is the same bytes whoever
builds it, and ``ST_AsMVT`` over those rows is work no query around it can skip. This script
publishes the bench table into a throwaway cluster, takes the bench's own tile sample (the
tiles around 64 random rows, as ``bench/run.py`` cycles them), and for each tile times, best
of ``--repeats``:

- **full**: the whole tile as tipg builds it: rows in the buffered envelope,
  ``ST_AsMVTGeom(ST_Transform(geom, 3857))``, every schema field, then ``ST_AsMVT``;
- **full, parallel**: the same statement with PostgreSQL's default parallel settings (tipg
  leaves them as they are): the planner gives this statement a parallel worker, whose start
  costs more than the rows it reads on a z16 tile;
- **hub full**: the hub's full-tile statement (``TileStatements.full``), which must write
  tipg's very bytes;
- **hub render**: what a request costs the hub (``hub.data.tiles.Tiles.render``: its
  statements and its size rule, on the same connection): the full tile in one round trip
  with its count, or, for a tile over ``HUB_TILE_MAX_KB`` (500 KiB), the thinned tile;
- **encode**: ``ST_AsMVT`` alone over the same rows, already materialised in a temporary table
  (geometry in tile coordinates, every field);
- **id only**: the same, with the id and geometry and no other field.

Every timing but "full, parallel" runs as the hub's API connections do, with
``max_parallel_workers_per_gather = 0`` (``HUB_API_PARALLEL_WORKERS``, default 0).
``full / encode`` is the most any server could gain over tipg on such a tile by a better
query: the encoding is left even if finding and transforming the rows cost nothing.

    .venv/bin/python -m bench.tile_encoding --rows 1000000 --zoom 16
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, text

from bench import ingest, systems
from bench.generate import dataset_files
from bench.run import DATA, Cluster, log, sample_inputs
from hub.catalog import PublishedVersion
from hub.data.tiles import Tiles
from hub.db.engine import BINARY_RESULTS
from hub.query import catalog as catalog_q
from hub.query.model import FeatureQuery
from hub.query.tiles import tile_parameters

RESULTS = Path(__file__).parent / "results" / "tiles"
EXTENT, BUFFER = 4096, 64


def _best_ms(conn: Connection, sql: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        conn.execute(text(sql)).scalar()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def _render_best_ms(conn: Connection, tiles: Tiles, version: PublishedVersion, z: int,
                    x: int, y: int, repeats: int) -> tuple[float, bool]:
    """Best time of the hub's own render of the tile (``Tiles.render`` on ``conn``), and
    whether the tile was thinned (over the cap)."""
    times, thinned = [], False
    for _ in range(repeats):
        started = time.perf_counter()
        thinned = tiles.render(version, FeatureQuery(), "places", z, x, y, conn).thinned
        times.append(time.perf_counter() - started)
    return min(times) * 1000, thinned


def _full_best_ms(conn: Connection, tiles: Tiles, version: PublishedVersion, z: int, x: int,
                  y: int, repeats: int) -> tuple[float, bytes]:
    """Best time of the hub's full-tile statement, and the tile's bytes."""
    statement = tiles.statements(version, FeatureQuery(), "places").full
    parameters = tile_parameters(z, x, y)
    times, body = [], b""
    for _ in range(repeats):
        started = time.perf_counter()
        value = conn.execute(statement, parameters,
                             execution_options={BINARY_RESULTS: True}).scalar()
        times.append(time.perf_counter() - started)
        body = bytes(value) if value else b""
    return min(times) * 1000, body


def _parallel_workers(conn: Connection, workers: int | None) -> None:
    """``max_parallel_workers_per_gather`` of ``conn``: ``None`` for PostgreSQL's default."""
    conn.execute(text("RESET max_parallel_workers_per_gather" if workers is None
                      else f"SET max_parallel_workers_per_gather = {int(workers)}"))


def _fields(conn: Connection, table: str) -> list[str]:
    return [name for (name,) in conn.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'data' "
        "AND table_name = :t AND column_name NOT IN ('_fid', 'geom', '_search', '_rowhash') "
        "ORDER BY ordinal_position"), {"t": table})]


def measure_tile(conn: Connection, table: str, fields: list[str], tiles: Tiles,
                 version: PublishedVersion, z: int, x: int, y: int,
                 repeats: int) -> dict[str, Any]:
    """The timings of one tile, its feature count, and whether the hub's tile is tipg's
    bytes (it must be: the same features, attributes, ids and coordinates)."""
    envelope = f"ST_TileEnvelope({z}, {x}, {y})"
    properties = ", ".join(f'"{f}"' for f in fields)
    rows = (f"SELECT _fid, ST_AsMVTGeom(ST_Transform(geom, 3857), {envelope}, {EXTENT}, "
            f"{BUFFER}, true) AS mvt_geom, {properties} FROM data.\"{table}\" "
            f"WHERE geom && ST_Transform(ST_TileEnvelope({z}, {x}, {y}, "
            f"margin => {BUFFER / EXTENT}), 4326) ORDER BY _fid OFFSET 0")
    encode = "SELECT ST_AsMVT(r, 'places', {e}, 'mvt_geom', '_fid') FROM ({src}) r " \
             "WHERE mvt_geom IS NOT NULL"
    conn.execute(text("DROP TABLE IF EXISTS tile_rows"))
    conn.execute(text(f"CREATE TEMPORARY TABLE tile_rows AS {rows}"))
    features = conn.execute(text(
        "SELECT count(*) FROM tile_rows WHERE mvt_geom IS NOT NULL")).scalar_one()
    _parallel_workers(conn, None)
    full_parallel = _best_ms(conn, encode.format(e=EXTENT, src=rows), repeats)
    _parallel_workers(conn, 0)
    hub_full_ms, hub_tile = _full_best_ms(conn, tiles, version, z, x, y, repeats)
    hub_render_ms, thinned = _render_best_ms(conn, tiles, version, z, x, y, repeats)
    reference = conn.execute(text(encode.format(e=EXTENT, src=rows))).scalar()
    return {
        "tile": [z, x, y], "features": features,
        "full_ms": _best_ms(conn, encode.format(e=EXTENT, src=rows), repeats),
        "full_parallel_ms": full_parallel,
        "hub_full_ms": hub_full_ms,
        "hub_same_bytes": hub_tile == (bytes(reference) if reference else b""),
        "hub_render_ms": hub_render_ms,
        "hub_thinned": thinned,
        "encode_ms": _best_ms(conn, encode.format(e=EXTENT, src="TABLE tile_rows"), repeats),
        "id_only_ms": _best_ms(conn, encode.format(
            e=EXTENT, src="SELECT _fid, mvt_geom FROM tile_rows"), repeats),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--zoom", type=int, choices=(14, 16), default=16)
    parser.add_argument("--tiles", type=int, default=64, help="tiles of the bench sample")
    parser.add_argument("--repeats", type=int, default=5, help="best of this many runs")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="folder for the JSON file (default bench/results/tiles)")
    args = parser.parse_args(argv)
    utf8, _ = dataset_files(args.rows, args.seed, DATA)
    started = datetime.now(UTC)
    with Cluster(keep=False) as cluster:
        url = cluster.database("tile_encoding")
        log(f"publishing {args.rows:,} rows")
        published = ingest.hub_publish(url, utf8)
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            table = conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'data'")).scalar_one()
            fields = _fields(conn, table)
            version = PublishedVersion.from_row(conn.execute(
                catalog_q.version_by_number(systems.DATASET_ID, 1)).mappings().one())
        hub_tiles = Tiles(engine)  # the hub's renderer, with its default size cap
        systems.TABLE = table
        sample = sample_inputs(url, args.tiles, args.seed)
        tiles = sample.tiles16 if args.zoom == 16 else sample.tiles14
        log(f"timing {len(tiles)} z{args.zoom} tiles, best of {args.repeats}")
        with engine.connect() as conn:
            measured = [measure_tile(conn, table, fields, hub_tiles, version, args.zoom, x, y,
                                     args.repeats)
                        for x, y in tiles]
        engine.dispose()
    total = {k: sum(m[k] for m in measured)
             for k in ("full_ms", "full_parallel_ms", "hub_full_ms", "hub_render_ms", "encode_ms",
                       "id_only_ms")}
    summary = {
        "rows": args.rows, "zoom": args.zoom, "tiles": len(measured), "fields": len(fields),
        "features_median": statistics.median(m["features"] for m in measured),
        "features_max": max(m["features"] for m in measured),
        **{f"{k}_median": round(statistics.median(m[k] for m in measured), 2) for k in total},
        "encode_share": round(total["encode_ms"] / total["full_ms"], 3),
        "most_gain_over_tipg": round(total["full_ms"] / total["encode_ms"], 2),
        "hub_full_over_encode": round(total["hub_full_ms"] / total["encode_ms"], 2),
        "hub_same_bytes": sum(m["hub_same_bytes"] for m in measured),
        "hub_thinned": sum(m["hub_thinned"] for m in measured),
    }
    result = {"started": started.isoformat(timespec="seconds"),
              "load_end": list(os.getloadavg()), "publish_s": round(published.wall_s, 1),
              "summary": summary, "tiles": measured}
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"encoding-z{args.zoom}-{args.rows}-{started:%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(summary, indent=1))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
