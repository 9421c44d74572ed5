"""A real HTTP hub for client tests (GDAL, OWSLib, ckanapi, rdflib over HTTP).

uvicorn serves ``create_app(settings)`` on a free port in a background thread, over a fresh
database holding the test shops (versions 1 and 2) and two real demo datasets published with
our own ETL (``yaizu-aed``, ``yaizu-accessible-shops``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from sqlalchemy import create_engine

from etl.prepare import prepare
from etl.publish import publish
from etl.sources import prepare_source
from hub.api.app import create_app
from hub.catalog import load_definition
from hub.db.cluster import LocalCluster, free_port
from hub.db.roles import API_ROLE, PUBLISH_ROLE
from tests.conftest import ROOT, create_test_database, drop_test_database, make_settings
from tests.shopdata import Shop, make_shops, write_csv

DEMO_DATASETS = ("yaizu-aed", "yaizu-accessible-shops")


@dataclass
class LiveHub:
    url: str  # http://127.0.0.1:<port>
    database_url: str
    shops_v1: list[Shop]
    shops_v2: list[Shop]


def publish_catalogue(url: str, folder: Path,
                      datasets: tuple[str, ...]) -> tuple[list[Shop], list[Shop]]:
    """Publish the test shops twice (returned: the rows of versions 1 and 2) and the named
    datasets of the demo catalogue, with the hub's own ETL, as `hub demo` publishes them."""
    settings = make_settings(url)
    engine = create_engine(url)
    try:
        shops = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
        v1, v2 = make_shops(300), make_shops(300)[:-10]
        publish(engine, prepare(shops, write_csv(folder / "v1.csv", v1)))
        publish(engine, prepare(shops, write_csv(folder / "v2.csv", v2)))
        for dataset_id in datasets:
            definition = load_definition(dataset_id, ROOT / "datasets", ROOT / "schemas")
            prepared = prepare_source(  # as `hub demo` publishes it
                definition, definition.directory / definition.source["file"],
                skip_invalid=bool(definition.source.get("skip_invalid")))
            publish(engine, prepared, publisher="test")
    finally:
        engine.dispose()
    return v1, v2


@contextmanager
def running_hub(cluster: LocalCluster, folder: Path,
                datasets: tuple[str, ...] = DEMO_DATASETS, *, least_privilege: bool = False,
                **settings: object) -> Iterator[LiveHub]:
    """A live hub over the test shops and ``datasets`` of the demo catalogue; ``settings``
    override the test settings (e.g. ``rate_limit_anonymous=0`` for a fuzzer). With
    ``least_privilege`` the server connects as the roles production uses (hub_api, and
    hub_publish for its own publishing) instead of the test cluster's superuser."""
    database_url = create_test_database(cluster)
    try:
        v1, v2 = publish_catalogue(database_url, folder, datasets)
        port = free_port()
        if least_privilege:
            cluster.enable_logins((API_ROLE, PUBLISH_ROLE))
            name = database_url.rsplit("/", 1)[1]
            settings = {"database_url": cluster.url(name, role=API_ROLE),
                        "publish_database_url": cluster.url(name, role=PUBLISH_ROLE),
                        **settings}
        app = create_app(make_settings(database_url, max_limit=1000,
                                       artifact_dir=folder / "artifacts", **settings))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the hub did not start")
            time.sleep(0.05)
        try:
            yield LiveHub(f"http://127.0.0.1:{port}", database_url, v1, v2)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    finally:
        drop_test_database(cluster, database_url)
