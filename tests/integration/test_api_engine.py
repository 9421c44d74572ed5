"""The API's connections carry the session settings its queries are tuned for."""

from __future__ import annotations

from sqlalchemy import text

from hub.api.app import create_app
from hub.db.engine import make_engine
from tests.conftest import make_settings


def _session_value(engine, name: str) -> str:
    with engine.connect() as conn:
        return conn.execute(text(f"SHOW {name}")).scalar_one()


def test_api_connections_have_a_timeout_and_no_parallel_workers(db_url) -> None:
    engine = create_app(make_settings(db_url)).state.data.engine
    try:
        assert _session_value(engine, "statement_timeout") == "15s"
        assert _session_value(engine, "max_parallel_workers_per_gather") == "0"
    finally:
        engine.dispose()


def test_parallel_workers_follow_the_setting(db_url) -> None:
    settings = make_settings(db_url, api_parallel_workers=3)
    engine = make_engine(settings, parallel_workers=settings.api_parallel_workers)
    try:
        assert _session_value(engine, "max_parallel_workers_per_gather") == "3"
    finally:
        engine.dispose()


def test_binary_results_are_asked_for_only_with_the_execution_option(db_url) -> None:
    """Tiles run with ``hub_binary_results``: bytea then travels unescaped (half the bytes,
    no hex decoding); other statements keep psycopg's text results."""
    from psycopg.pq import Format
    from sqlalchemy import event

    from hub.db.engine import BINARY_RESULTS

    engine = make_engine(make_settings(db_url))
    formats: list[Format] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, cursor, *_rest: formats.append(cursor.format))
    try:
        with engine.connect() as conn:
            plain = conn.execute(text("SELECT '\\x0001ff'::bytea")).scalar_one()
            binary = conn.execution_options(**{BINARY_RESULTS: True}).execute(
                text("SELECT '\\x0001ff'::bytea")).scalar_one()
        assert bytes(plain) == bytes(binary) == b"\x00\x01\xff"
        assert formats[-2:] == [Format.TEXT, Format.BINARY]
    finally:
        engine.dispose()
