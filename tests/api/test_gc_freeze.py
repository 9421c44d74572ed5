"""The served app freezes its start-up heap, so full collections stop stalling requests."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from hub.api.app import create_app
from tests.conftest import create_test_database, drop_test_database, make_settings


def test_starting_the_app_freezes_the_heap_it_built(pg_cluster) -> None:
    url = create_test_database(pg_cluster)
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        app = create_app(make_settings(url))
        assert gc.get_freeze_count() == 0, "freezing belongs to the lifespan, not to import"
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            frozen = gc.get_freeze_count()
        # The app's routes, models and pools are among the frozen objects.
        assert frozen > 10_000
    finally:
        gc.unfreeze()
        drop_test_database(pg_cluster, url)
