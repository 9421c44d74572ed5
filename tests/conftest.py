"""Test setup: one throwaway PostGIS cluster per test session, a fresh database per test.

The cluster is a real PostgreSQL + PostGIS started with the hub's own cluster code (as the
unprivileged ``postgres`` user when tests run as root). A template database is migrated once
with the real Alembic migrations; each test that needs a database gets a copy of it
(``CREATE DATABASE ... TEMPLATE``, milliseconds), so tests are isolated without mocks.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Table, create_engine, insert, text

from hub.catalog import TableSchema, version_table
from hub.db.cluster import LocalCluster, free_port
from hub.db.migrate import upgrade
from hub.settings import Settings
from tests.people_hub import serve_hub  # noqa: F401  (a fixture, for every test directory)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEMPLATE_DB = "hub_template"


def shared_file(*parts: str) -> Path:
    """A file of the third-party test data in ../shared/data (skip the test if absent)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not available: {path}")
    return path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[LocalCluster]:
    root = Path(tempfile.mkdtemp(prefix="hub-test-pg-", dir="/tmp"))
    root.chmod(0o755)  # the server user must reach it when tests run as root
    cluster = LocalCluster(root=root, port=free_port(), database="postgres", fsync=False)
    cluster.start()
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{TEMPLATE_DB}"'))
    admin.dispose()
    upgrade(cluster.url(TEMPLATE_DB))
    try:
        yield cluster
    finally:
        if os.environ.get("HUB_TEST_KEEP_CLUSTER"):
            print(f"keeping test cluster in {root}")
        else:
            cluster.destroy()


def create_test_database(cluster: LocalCluster) -> str:
    """A new migrated database copied from the template; returns its URL."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"'))
    admin.dispose()
    return cluster.url(name)


def drop_test_database(cluster: LocalCluster, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def version_table_holding(cluster: LocalCluster, name: str, schema: TableSchema,
                          rows: list[dict[str, Any]]) -> Iterator[tuple[Engine, Table]]:
    """A test database with one version table (``hub.catalog.version_table``) holding
    ``rows`` as given, with its GiST index and statistics: for statements that need rows at
    chosen positions, which a publish would reorder and normalise."""
    url = create_test_database(cluster)
    engine = create_engine(url)
    table = version_table(name, schema, has_geometry=True)
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), rows)
        conn.execute(text(f"CREATE INDEX ON {table.fullname} USING gist (geom)"))
        conn.execute(text(f"ANALYZE {table.fullname}"))
    try:
        yield engine, table
    finally:
        engine.dispose()
        drop_test_database(cluster, url)


@pytest.fixture
def db_url(pg_cluster: LocalCluster) -> Iterator[str]:
    url = create_test_database(pg_cluster)
    yield url
    drop_test_database(pg_cluster, url)


def make_settings(url: str, **overrides: object) -> Settings:
    """Settings for a test database; the data dir (and so the artifact store) is a fresh
    temporary folder, so no test writes into the checkout's .hub/."""
    values: dict[str, object] = {
        "database_url": url,
        "datasets_dir": FIXTURES / "datasets",
        "schemas_dir": FIXTURES / "schemas",
        "data_dir": Path(tempfile.mkdtemp(prefix="hub-test-data-")),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)
