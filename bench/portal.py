"""Benchmark: the portal's page render times against the JSON API answering the same data,
and the time until the dataset page's map shows its first features on a large dataset.

One run, one throwaway PostGIS cluster, one hub process (uvicorn, in a thread), measured
minutes apart against itself:

* **catalogue**: ``GET /`` as a browser (HTML) vs ``GET /v1/datasets`` (the same search);
* **dataset page** of a demo dataset and of the ``--rows`` dataset: ``GET /datasets/{id}``
  vs ``GET /v1/datasets/{id}/records?limit=20`` (the table's page) and vs the sum of the
  JSON calls a client would need for the same content (dataset, version, versions, records,
  downloads list);
* **map**: Debian's Chromium (Playwright) opens ``/datasets/{id}`` of the ``--rows`` dataset;
  the time from navigation to the first features MapLibre reports drawn
  (``map.queryRenderedFeatures()``), with the tile cache cold (first load) and warm.

    .venv/bin/python -m bench.portal                  # demo catalogue + 100,000 rows
    .venv/bin/python -m bench.portal --rows 20000 --repeat 20

Medians of ``--repeat`` alternating requests over one keep-alive connection (loopback: the
figures include HTTP and the client, the same for page and API). Results go to
``bench/results/portal-<date>.json``; bench/README.md records them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.export_bench import DATASET as LARGE_DATASET  # noqa: E402
from bench.export_bench import load_rows  # noqa: E402

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
DEMO_DATASET = "yaizu-aed"
TARGET_PAGE_MS = 100
TARGET_MAP_S = 2.0


def start_cluster() -> tuple[Any, str]:
    from sqlalchemy import create_engine, text

    from hub.db.cluster import LocalCluster, free_port
    from hub.db.migrate import upgrade

    root = Path(tempfile.mkdtemp(prefix="hub-bench-pg-", dir="/tmp"))
    root.chmod(0o755)
    cluster = LocalCluster(root=root, port=free_port(), database="postgres", fsync=False)
    cluster.start()
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE DATABASE "bench"'))
    admin.dispose()
    url = cluster.url("bench")
    upgrade(url)
    return cluster, url


def publish_demo_catalogue(url: str) -> int:
    """Every dataset under datasets/, as ``hub demo`` publishes them; returns how many."""
    from sqlalchemy import create_engine

    from etl.publish import publish
    from etl.ridership import publication_order, referenced_keys
    from etl.sources import prepare_source
    from hub.catalog import load_definitions

    definitions = load_definitions(ROOT / "datasets", ROOT / "schemas")
    engine = create_engine(url)
    published = 0
    try:
        for dataset_id in publication_order(definitions):
            definition = definitions[dataset_id]
            if not definition.source.get("file"):
                continue
            references = (referenced_keys(engine, definition)
                          if definition.raw.get("references") else None)
            prepared = prepare_source(
                definition, definition.directory / definition.source["file"],
                skip_invalid=bool(definition.source.get("skip_invalid", False)),
                references=references)
            publish(engine, prepared, publisher="bench")
            published += 1
    finally:
        engine.dispose()
    return published


def serve(url: str, artifacts: Path) -> tuple[Any, threading.Thread, str]:
    import uvicorn

    from hub.api.app import create_app
    from hub.db.cluster import free_port
    from hub.settings import Settings

    # one load generator on one address measures rendering, not the quota
    settings = Settings(database_url=url, artifact_dir=artifacts,
                        assets_dir=ROOT / "node_modules", data_dir=artifacts.parent,
                        rate_limit_anonymous=0)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the hub did not start")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def _ms(client: httpx.Client, path: str, headers: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed


def compare(client: httpx.Client, page: str, api: list[str], repeat: int) -> dict[str, Any]:
    """Median ms of the page and of each API call, alternating so load hits both alike."""
    _ms(client, page, BROWSER)
    for path in api:
        _ms(client, path)
    page_times: list[float] = []
    api_times: dict[str, list[float]] = {path: [] for path in api}
    for _ in range(repeat):
        page_times.append(_ms(client, page, BROWSER))
        for path in api:
            api_times[path].append(_ms(client, path))
    page_ms = statistics.median(page_times)
    medians = {path: round(statistics.median(t), 2) for path, t in api_times.items()}
    first_api = medians[api[0]]
    return {"page": page, "page_ms": round(page_ms, 2), "api_ms": medians,
            "ratio_to_first_api": round(page_ms / first_api, 2),
            "ratio_to_all_api": round(page_ms / sum(medians.values()), 2)}


def time_to_first_features(base: str, dataset_id: str, loads: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    from tests.web.browser import CHROMIUM, CHROMIUM_ARGS

    seconds = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for _ in range(loads):
                context = browser.new_context()
                page = context.new_page()
                started = time.perf_counter()
                page.goto(f"{base}/datasets/{dataset_id}", wait_until="commit")
                page.wait_for_function(
                    "() => window.hubMap && window.hubMap.queryRenderedFeatures().length > 0",
                    polling="raf", timeout=60_000)
                seconds.append(round(time.perf_counter() - started, 3))
                context.close()
        finally:
            browser.close()
    return seconds


def run(rows: int, repeat: int, map_loads: int, results_dir: Path) -> dict[str, Any]:
    cluster, url = start_cluster()
    load_before = os.getloadavg()
    try:
        demo_count = publish_demo_catalogue(url)
        load_rows(url, rows)
        work = Path(tempfile.mkdtemp(prefix="hub-bench-portal-"))
        server, thread, base = serve(url, work / "artifacts")
        try:
            # `hub publish` builds each version's bulk files at publish time; this bench
            # loads its large table directly, so build them now (as publish would), or the
            # first dataset page would wait for them. Tiles stay cold for the first load.
            httpx.get(f"{base}/v1/downloads", timeout=1800).raise_for_status()
            maps = time_to_first_features(base, LARGE_DATASET, map_loads)
            with httpx.Client(base_url=base, timeout=600) as client:
                catalogue = compare(client, "/", ["/v1/datasets"], repeat)
                pages = [
                    compare(client, f"/datasets/{dataset}", [
                        f"/v1/datasets/{dataset}/records?limit=20",
                        f"/v1/datasets/{dataset}", f"/v1/datasets/{dataset}/versions/latest",
                        f"/v1/datasets/{dataset}/versions", "/v1/downloads"], repeat)
                    for dataset in (DEMO_DATASET, LARGE_DATASET)
                ]
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    finally:
        cluster.destroy()
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average": {"before": [round(x, 2) for x in load_before],
                         "after": [round(x, 2) for x in os.getloadavg()]},
        "demo_datasets": demo_count, "large_rows": rows, "repeat": repeat,
        "catalogue": catalogue, "dataset_pages": pages,
        "map_first_features_s": {"dataset": LARGE_DATASET, "rows": rows, "loads": maps,
                                 "cold": maps[0] if maps else None,
                                 "warm_median": statistics.median(maps[1:]) if
                                 len(maps) > 1 else None},
        "targets": {"page_ms": TARGET_PAGE_MS, "map_s": TARGET_MAP_S},
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"portal-{result['date']}.json").write_text(json.dumps(result, indent=2)
                                                               + "\n")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--map-loads", type=int, default=4)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    result = run(args.rows, args.repeat, args.map_loads, args.results)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
