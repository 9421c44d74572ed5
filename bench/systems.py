"""The systems under test, each serving the hub's version table ``data.<base>__v1``.

* ``hub``      the hub's native API (``/v1`` records, GeoJSON) and its ``/ogc`` vector tiles
* ``hub-ogc``  the hub's OGC API - Features surface (``/ogc/collections/{id}/items``)
* ``tipg``     tipg (FastAPI + asyncpg), from bench/.venv
* ``pygeoapi`` pygeoapi's Starlette app with the PostgreSQL and MVT-postgresql providers
* ``hub-cold`` the same hub with its tile cache off (``HUB_TILE_CACHE_MB=0``), tiles only:
  every tile computed by PostGIS, as the peers do (the hub's own figures are with the cache,
  which the warm-up pass fills)
* ``hub-ogc-exact`` the hub's ``/ogc`` items with ``HUB_COUNT_CAP`` lifted past the table's
  size, so every filtered page counts every match as tipg and pygeoapi do: the like-for-like
  counting figure beside ``hub-ogc``'s default (exact up to 1,000 matches, else left out)
* ``hub-pmtiles`` the hub with its tile cache off, after `hub export` has built the version's
  files: tiles up to the PMTiles archive's deepest zoom (``HUB_PMTILES_MAX_ZOOM``, 14 by
  default) are range reads of the archive, deeper ones are computed as in ``hub-cold``

Every server is the same ASGI server (uvicorn with uvloop/httptools, one worker process, no
access log) on a free loopback port. The peers connect as a read-only role.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

from hub.db.cluster import free_port

ROOT = Path(__file__).resolve().parents[1]
HUB_BIN = ROOT / ".venv" / "bin"
BENCH_BIN = ROOT / "bench" / ".venv" / "bin"
DATASET_ID = "bench-tokyo-places"
TABLE = "bench_tokyo_places__v1"
FIELDS = ["id", "name", "name_kana", "category", "address", "ward", "postal_code", "phone",
          "website", "opened", "floors", "rating", "step_free", "latitude", "longitude",
          "updated"]
SYSTEMS = ("hub", "hub-ogc", "hub-ogc-exact", "tipg", "pygeoapi", "hub-cold", "hub-pmtiles")
TILE_ONLY = ("hub-cold", "hub-pmtiles")  # hub variants that differ only in where tiles come from
PEERS = ("tipg", "pygeoapi")
QUERIES = ("bbox", "bbox_300m", "radius", "nearest", "by_id", "filter", "tile_z14", "tile_z16")
# Queries no peer can answer: measured for the hub alone (how they scale), no target.
HUB_ONLY = frozenset({"nearest"})
PAGE = 100
RADIUS_M = 500
EXACT_COUNT_CAP = 1_000_000_000  # past any bench table: every match counted


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@dataclass
class Database:
    """Where the systems read from: admin URL for the hub, reader credentials for peers."""

    host: str
    port: int
    name: str
    admin_url: str  # SQLAlchemy URL (psycopg 3) of the superuser
    reader: str
    reader_password: str

    def reader_dsn(self) -> str:
        return (f"postgresql://{self.reader}:{quote(self.reader_password, safe='')}@"
                f"{self.host}:{self.port}/{self.name}")


def peer_missing_reason(name: str) -> str | None:
    """Why a peer cannot run here (None: it can)."""
    python = BENCH_BIN / "python"
    if not python.exists():
        return "bench/.venv is not installed (make bench-venv installs tipg and pygeoapi)"
    module = {"tipg": "tipg", "pygeoapi": "pygeoapi"}[name]
    probe = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True,
                           text=True, check=False)
    if probe.returncode != 0:
        return f"{module} does not import in bench/.venv: {probe.stderr.strip()[-300:]}"
    return None


def _wait_ready(server: Server, path: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    url = server.base_url + path
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited (code {server.process.returncode}); "
                               f"log: {server.log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{server.name} did not answer {url} within {timeout_s:.0f}s; "
                       f"log: {server.log.read_text(errors='replace')[-2000:]}")


def _spawn(name: str, cmd: list[str], env: dict[str, str], port: int, workdir: Path) -> Server:
    log = workdir / f"{name}.log"
    handle = log.open("wb")
    process = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=handle,
                               stderr=subprocess.STDOUT, cwd=ROOT)
    handle.close()
    return Server(name, process, port, log)


def _uvicorn(bin_dir: Path, app: str, port: int) -> list[str]:
    return [str(bin_dir / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--log-level", "warning"]


def start_hub(db: Database, workdir: Path, hub_env: dict[str, str]) -> Server:
    """The hub as `hub serve` runs it (uvicorn, one process), minus the access log."""
    port = free_port()
    env = {**hub_env, "HUB_DATABASE_URL": f"{db.admin_url.rsplit('/', 1)[0]}/{db.name}"}
    server = _spawn("hub", _uvicorn(HUB_BIN, "hub.api.asgi:app", port), env, port, workdir)
    _wait_ready(server, f"/v1/datasets/{DATASET_ID}")
    return server


def start_hub_cold(db: Database, workdir: Path, hub_env: dict[str, str]) -> Server:
    """The hub with its tile cache off: what every tile costs when computed afresh."""
    port = free_port()
    env = {**hub_env, "HUB_DATABASE_URL": f"{db.admin_url.rsplit('/', 1)[0]}/{db.name}",
           "HUB_TILE_CACHE_MB": "0"}
    server = _spawn("hub-cold", _uvicorn(HUB_BIN, "hub.api.asgi:app", port), env, port, workdir)
    _wait_ready(server, f"/v1/datasets/{DATASET_ID}")
    return server


def start_hub_exact_count(db: Database, workdir: Path, hub_env: dict[str, str]) -> Server:
    """The hub counting every match of every filtered page, as the peers do."""
    port = free_port()
    env = {**hub_env, "HUB_DATABASE_URL": f"{db.admin_url.rsplit('/', 1)[0]}/{db.name}",
           "HUB_COUNT_CAP": str(EXACT_COUNT_CAP)}
    server = _spawn("hub-ogc-exact", _uvicorn(HUB_BIN, "hub.api.asgi:app", port), env, port,
                    workdir)
    _wait_ready(server, f"/v1/datasets/{DATASET_ID}")
    return server
def start_hub_pmtiles(db: Database, workdir: Path,
                      hub_env: dict[str, str]) -> tuple[Server, float]:
    """The hub with its tile cache off and the version's files (PMTiles included) built
    first by `hub export`; also the wall time of that build."""
    port = free_port()
    env = {**hub_env, "HUB_DATABASE_URL": f"{db.admin_url.rsplit('/', 1)[0]}/{db.name}",
           "HUB_TILE_CACHE_MB": "0", "HUB_ARTIFACT_DIR": str(workdir / "artifacts-pmtiles")}
    started = time.monotonic()
    subprocess.run([str(HUB_BIN / "hub"), "export", DATASET_ID, "--format", "pmtiles",
                    "--output", str(workdir / "bench.pmtiles")],
                   env={**os.environ, **env}, check=True, capture_output=True, timeout=1800)
    build_s = time.monotonic() - started
    server = _spawn("hub-pmtiles", _uvicorn(HUB_BIN, "hub.api.asgi:app", port), env, port,
                    workdir)
    _wait_ready(server, f"/v1/datasets/{DATASET_ID}")
    return server, build_s


def start_tipg(db: Database, workdir: Path) -> Server:
    port = free_port()
    env = {
        "DATABASE_URL": db.reader_dsn(),  # tipg reads it without a prefix
        "TIPG_DB_SCHEMAS": json.dumps(["data"]),
        "TIPG_DB_TABLES": json.dumps([f"data.{TABLE}"]),
        # the hub's id as feature id, and the schema's fields as properties (not _search etc.)
        "TIPG_TABLE_CONFIG": json.dumps({f"data_{TABLE}": {"pk": "id", "properties": FIELDS}}),
        "TIPG_DEBUG": "false",
        # tipg stops a tile at 10,000 features by default and says nothing: the bench's dense
        # z14 tiles hold ~30,000 places, so by default it would do a third of the hub's work
        # and serve an incomplete tile. The hub has no per-tile cap; neither does tipg here.
        "TIPG_MAX_FEATURES_PER_TILE": "10000000",
    }
    server = _spawn("tipg", _uvicorn(BENCH_BIN, "tipg.main:app", port), env, port, workdir)
    _wait_ready(server, f"/collections/data.{TABLE}")
    return server


def _pygeoapi_config(db: Database, port: int) -> dict[str, object]:
    data = {"host": db.host, "port": db.port, "dbname": db.name, "user": db.reader,
            "password": db.reader_password, "search_path": ["data", "hub", "public"]}
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": f"http://127.0.0.1:{port}",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "limits": {"default_items": 10, "max_items": 10000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                    "attribution": "OpenStreetMap"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {"title": "bench", "description": "bench", "keywords": ["bench"],
                               "keywords_type": "theme", "terms_of_service": "none",
                               "url": "http://127.0.0.1"},
            "license": {"name": "CC0-1.0", "url": "http://127.0.0.1"},
            "provider": {"name": "bench", "url": "http://127.0.0.1"},
            "contact": {"name": "bench"},
        },
        "resources": {
            "places": {
                "type": "collection",
                "title": "places",
                "description": "bench places",
                "keywords": ["places"],
                "extents": {"spatial": {
                    "bbox": [139.4, 35.4, 140.1, 35.95],
                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
                "providers": [
                    {"type": "feature", "name": "PostgreSQL", "data": data, "id_field": "id",
                     "table": TABLE, "geom_field": "geom"},
                    {"type": "tile", "name": "MVT-postgresql", "data": data, "id_field": "id",
                     "table": TABLE, "geom_field": "geom",
                     # no "schemes" list: pygeoapi 0.21 passes non-dict options on to the
                     # database driver as connect arguments (and a list breaks its cache)
                     "options": {"zoom": {"min": 0, "max": 22}},
                     "format": {"name": "pbf",
                                "mimetype": "application/vnd.mapbox-vector-tile"}},
                ],
            }
        },
    }


def start_pygeoapi(db: Database, workdir: Path) -> Server:
    port = free_port()
    config = workdir / "pygeoapi-config.yml"
    openapi = workdir / "pygeoapi-openapi.yml"
    # JSON is YAML: no YAML writer needed in the hub's environment
    config.write_text(json.dumps(_pygeoapi_config(db, port), indent=1))
    env = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    generated = subprocess.run(
        [str(BENCH_BIN / "pygeoapi"), "openapi", "generate", str(config), "--output-file",
         str(openapi)], env={**os.environ, **env}, capture_output=True, text=True, check=False)
    if generated.returncode != 0:
        raise RuntimeError(f"pygeoapi openapi generate failed: {generated.stderr[-2000:]}")
    server = _spawn("pygeoapi", _uvicorn(BENCH_BIN, "pygeoapi.starlette_app:APP", port), env,
                    port, workdir)
    _wait_ready(server, "/collections/places?f=json")
    return server


STARTERS = {"tipg": start_tipg, "pygeoapi": start_pygeoapi}


# -- the queries ----------------------------------------------------------------------------


@dataclass
class Sample:
    """Deterministic query inputs taken from the loaded data (so every query hits data)."""

    points: list[tuple[float, float]]  # (lat, lon) of real rows
    ids: list[str]
    categories: list[str]
    tiles14: list[tuple[int, int]] = field(default_factory=list)
    tiles16: list[tuple[int, int]] = field(default_factory=list)


def tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    """WebMercatorQuad (x, y) of the tile containing a point."""
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def bbox_around(lat: float, lon: float, half_m: float) -> tuple[float, float, float, float]:
    dlat = half_m / 110_574.0
    dlon = half_m / (111_320.0 * math.cos(math.radians(lat)))
    return (round(lon - dlon, 6), round(lat - dlat, 6), round(lon + dlon, 6), round(lat + dlat, 6))


def _bbox_text(box: tuple[float, float, float, float]) -> str:
    return ",".join(f"{v:.6f}" for v in box)


# An 800 m square (a map viewport at street level) and a 300 m one: the larger box holds
# ~7x the rows, which a peer that counts every match pays for and the hub does not.
BBOX_HALF_M = {"bbox": 400.0, "bbox_300m": 150.0}


def paths(system: str, query: str, sample: Sample) -> list[str] | None:
    """The request paths of ``query`` for ``system`` (None: the system has no equivalent)."""
    if system in TILE_ONLY:
        if query not in ("tile_z14", "tile_z16"):
            return None  # only the tile cache differs from "hub"
        system = "hub"
    if system == "hub-ogc-exact":
        if query not in ("bbox", "bbox_300m", "filter"):
            return None  # only counting differs from "hub-ogc": the queries that count
        system = "hub-ogc"
    props = ",".join(FIELDS)
    hub_records = f"/v1/datasets/{DATASET_ID}/records"
    hub_items = f"/ogc/collections/{DATASET_ID}/items"
    tipg_items = f"/collections/data.{TABLE}/items"
    pygeo_items = "/collections/places/items"

    def items(base: str, params: dict[str, object]) -> str:
        return f"{base}?{urlencode(params)}"

    out: list[str] = []
    if query in ("bbox", "bbox_300m", "radius"):
        half = BBOX_HALF_M.get(query, RADIUS_M)
        for lat, lon in sample.points:
            box = _bbox_text(bbox_around(lat, lon, half))
            if query == "radius" and system == "hub":
                out.append(items(hub_records, {"near": f"{lat:.6f},{lon:.6f}",
                                               "radius": RADIUS_M, "limit": PAGE,
                                               "f": "geojson"}))
            elif system == "hub":
                out.append(items(hub_records, {"bbox": box, "limit": PAGE, "f": "geojson"}))
            elif system == "hub-ogc":
                # /ogc has no radius: like the peers, the box around the circle
                out.append(items(hub_items, {"bbox": box, "limit": PAGE}))
            elif system == "tipg":
                # tipg has no radius and cql2 has no S_DWITHIN: the box around the circle
                out.append(items(tipg_items, {"bbox": box, "limit": PAGE, "properties": props}))
            else:
                out.append(items(pygeo_items, {"bbox": box, "limit": PAGE, "f": "json",
                                               "properties": props}))
    elif query == "nearest":
        if system != "hub":
            return None  # tipg and pygeoapi have no nearest-N query (OGC API - Features none)
        out += [items(hub_records, {"near": f"{lat:.6f},{lon:.6f}", "limit": PAGE,
                                    "f": "geojson"}) for lat, lon in sample.points]
    elif query == "by_id":
        for fid in sample.ids:
            out.append({
                "hub": f"{hub_records}/{fid}?f=geojson",
                "hub-ogc": f"{hub_items}/{fid}",
                "tipg": f"{tipg_items}/{fid}",
                "pygeoapi": f"{pygeo_items}/{fid}?f=json",
            }[system])
    elif query == "filter":
        for category in sample.categories:
            out.append({
                "hub": items(hub_records, {"category": category, "limit": PAGE,
                                           "f": "geojson"}),
                "hub-ogc": items(hub_items, {"category": category, "limit": PAGE}),
                "tipg": items(tipg_items, {"category": category, "limit": PAGE,
                                           "properties": props}),
                "pygeoapi": items(pygeo_items, {"category": category, "limit": PAGE,
                                                "f": "json", "properties": props}),
            }[system])
    elif query in ("tile_z14", "tile_z16"):
        z = 14 if query == "tile_z14" else 16
        tiles = sample.tiles14 if z == 14 else sample.tiles16
        for x, y in tiles:
            if system == "hub":
                out.append(f"/ogc/collections/{DATASET_ID}/tiles/WebMercatorQuad/{z}/{y}/{x}")
            elif system == "hub-ogc":
                return None  # the same endpoint as "hub"
            elif system == "tipg":
                out.append(f"/collections/data.{TABLE}/tiles/WebMercatorQuad/{z}/{x}/{y}")
            else:  # OGC API - Tiles order: tileMatrix/tileRow/tileCol = z/y/x
                out.append(f"/collections/places/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt")
    else:
        raise ValueError(query)
    if query == "radius" and system == "hub-ogc":
        return None  # only the native API has near+radius; hub-ogc's box = the peers' box
    return out


def describe_equivalents() -> dict[str, str]:
    """How each query is asked of each system (for the README and the results)."""
    return {
        "bbox": f"{PAGE} features in an 800 m box; hub: /v1 records?bbox=..&limit={PAGE}"
                "&f=geojson; peers and hub-ogc: OGC items?bbox=..&limit=..",
        "bbox_300m": "the same in a 300 m box (fewer matches: less for a full count)",
        "radius": f"hub: /v1 records?near=lat,lon&radius={RADIUS_M}&limit={PAGE} (exact "
                  "spheroid distance, sorted by distance); tipg and pygeoapi have no radius "
                  "(tipg's cql2 has no S_DWITHIN), so they get the box around the circle "
                  f"(bbox ±{RADIUS_M} m, limit {PAGE}): less work than the hub's",
        "nearest": f"hub only: /v1 records?near=lat,lon&limit={PAGE} (the {PAGE} nearest, "
                   "exact spheroid distance, no radius); no peer has a nearest-N query",
        "by_id": "hub: /v1 records/P0001234?f=geojson (one Feature by key); hub-ogc, tipg, "
                 "pygeoapi: /items/P0001234 (id column = the dataset's key)",
        "filter": f"category=<value> (equality on a text field, no index), limit {PAGE}",
        "tile_z14": "MVT z14 tile containing a data point: hub /ogc tiles, tipg tiles, "
                    "pygeoapi MVT-postgresql",
        "tile_z16": "MVT z16 tile, same",
    }


def check(server: Server, path: str, timeout_s: float = 60) -> tuple[int, int]:
    """(status, body bytes) of one request; status 0 when it failed or timed out."""
    request = urllib.request.Request(server.base_url + path)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, len(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, len(exc.read())
    except (urllib.error.URLError, OSError):
        return 0, 0


def features_returned(server: Server, path: str) -> int | None:
    """numberReturned-like count of a GeoJSON answer (None for tiles / not JSON)."""
    try:
        with urllib.request.urlopen(server.base_url + path, timeout=60) as response:
            body = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    if isinstance(body, dict) and "features" in body:
        return len(body["features"])
    if isinstance(body, dict) and body.get("type") == "Feature":
        return 1
    return None
