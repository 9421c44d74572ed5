"""Reads run in autocommit on the API's pool, writes in transactions.

A read in a transaction cost three round trips more than the read: ``BEGIN`` before it,
``ROLLBACK`` when the pool took the connection back, and psycopg then deallocated the
connection's prepared statements, so no statement stayed prepared from one request to the
next. These tests watch the connection itself and the server's ``pg_prepared_statements``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, text

from hub.data.core import Data
from hub.data.read_routing import ReadRouting
from hub.db.engine import make_engine
from hub.db.roles import Role
from tests.conftest import create_test_database, drop_test_database, make_settings

PROBE = "SELECT count(*) FROM hub.datasets WHERE id <> :probe"


@pytest.fixture
def api_engine(pg_cluster) -> Iterator[Engine]:
    url = create_test_database(pg_cluster)
    engine = make_engine(make_settings(url), role=Role.API)
    yield engine
    engine.dispose()
    drop_test_database(pg_cluster, url)


def _prepared_on(conn) -> int:  # type: ignore[no-untyped-def]
    return conn.execute(text(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%hub.datasets%'"
    )).scalar_one()


def _plans_on(conn) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(generic, custom) plans PostgreSQL made for the prepared probe on ``conn``."""
    return tuple(conn.execute(text(
        "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) "
        "FROM pg_prepared_statements WHERE statement LIKE '%hub.datasets%'")).one())


def test_a_read_opens_no_transaction(api_engine):
    data = Data(api_engine)
    with data.connection() as conn:
        conn.execute(text(PROBE), {"probe": "x"}).scalar_one()
        status = conn.connection.driver_connection.info.transaction_status
    assert status == TransactionStatus.IDLE


def test_a_statement_stays_prepared_from_one_read_to_the_next(api_engine):
    """psycopg prepares a statement on its fifth run on a connection; each run here is a
    separate checkout, as separate requests are."""
    routing = ReadRouting(api_engine)
    for n in range(8):
        routing.version_read(None, lambda c, n=n: c.execute(text(PROBE), {"probe": str(n)}).all())
    assert routing.version_read(None, _prepared_on) >= 1


def test_writes_keep_their_transaction(api_engine):
    """The autocommit view is the reads' own: the engine's ``begin()`` still rolls back
    every statement of a failed write."""
    Data(api_engine)  # building the read side must not change the engine writes use
    with pytest.raises(RuntimeError), api_engine.begin() as conn:
        conn.execute(text("CREATE TEMPORARY TABLE written (n int)"))
        conn.execute(text("INSERT INTO written VALUES (1)"))
        raise RuntimeError("the write fails half-way")
    with api_engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('pg_temp.written')")).scalar() is None


@pytest.mark.parametrize("engine_kind", ["primary", "replica"])
def test_a_prepared_read_is_planned_with_its_values(api_engine, pg_cluster, engine_kind):
    """A statement that stays prepared would get PostgreSQL's generic plan after five runs,
    chosen without the values (a ``q`` search's read the whole trigram index: 5.2 s instead
    of 0.05 s). API and replica sessions plan every run with its values."""
    engine = api_engine
    if engine_kind == "replica":  # a replica engine's sessions, pointed at the primary here
        url = api_engine.url.render_as_string(hide_password=False)
        engine = make_engine(make_settings(url), replica_url=url)
    routing = ReadRouting(engine)
    # psycopg prepares on the fifth run; PostgreSQL weighs a generic plan from the sixth
    # run of the prepared statement on
    for n in range(16):
        routing.version_read(None, lambda c, n=n: c.execute(text(PROBE), {"probe": str(n)}).all())
    generic, custom = routing.version_read(None, _plans_on)
    assert (generic, custom) == (0, custom) and custom >= 5, (generic, custom)
    if engine is not api_engine:
        engine.dispose()
