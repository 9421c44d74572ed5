"""Staging tables: where a publish builds a version table before the catalogue knows it.

A publish loads and indexes its tables under names no catalogue row points at
(``data._staging_<token>_<n>``), so nothing serves them, and renames them to their version
names in its short final transaction. While it works, the publish holds a session advisory
lock keyed by its token on a connection of its own. A staging table whose lock nobody holds
belongs to a publish that is gone (killed, crashed, lost its connection): it is an orphan,
and :func:`drop_orphaned_staging` removes it. The next publish calls it, and so does
``hub db gc``. PostgreSQL releases the lock when the holding session ends, however the
process ended, so an orphan is recognised without clocks or heartbeats.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from hub.db.tables import DATA_SCHEMA

STAGING_PREFIX = "_staging_"
# The first key of every staging lock (ASCII "HUBS"), so the hub's staging locks never meet
# another application's advisory locks that use the two-key form.
LOCK_CLASS = 0x48554253
_STAGING_NAME = re.compile(rf"^{STAGING_PREFIX}(?P<token>[0-9a-f]{{16}})_(?P<n>\d+)$")


def staging_table_name(token: str, n: int) -> str:
    """The ``n``-th staging table of the publish holding ``token`` (0: its main layer)."""
    return f"{STAGING_PREFIX}{token}_{n}"


def staging_token(table_name: str) -> str | None:
    """The token of a staging table's publish, or None when the name is not a staging one."""
    match = _STAGING_NAME.match(table_name)
    return match["token"] if match else None


def lock_key(token: str) -> int:
    """The second advisory-lock key of a token (a signed 32-bit integer, as PostgreSQL wants)."""
    return int(token[:8], 16) - 2**31


@contextmanager
def staging_lease(engine: Engine) -> Iterator[str]:
    """A new staging token, locked for as long as the block runs.

    The lock lives on a connection of its own that stays idle, so it is released the moment
    the process dies (the server sees the socket close), whatever the other connections of the
    publish are doing. Tables named with the token are the caller's to create and drop."""
    token = secrets.token_hex(8)
    with engine.connect() as guard:
        guard.execute(text("SELECT pg_advisory_lock(:c, :k)"),
                      {"c": LOCK_CLASS, "k": lock_key(token)})
        guard.commit()
        try:
            yield token
        finally:
            guard.execute(text("SELECT pg_advisory_unlock(:c, :k)"),
                          {"c": LOCK_CLASS, "k": lock_key(token)})
            guard.commit()


def staging_tables(conn: Connection) -> list[str]:
    """Every staging table in the data schema, live or orphaned, by name."""
    names = conn.execute(
        text("SELECT tablename FROM pg_tables "
             "WHERE schemaname = :s AND starts_with(tablename, :p)"),
        {"s": DATA_SCHEMA, "p": STAGING_PREFIX},
    ).scalars()
    return sorted(n for n in names if staging_token(n) is not None)


def drop_staging_tables(conn: Connection, names: list[str]) -> None:
    """Drop these staging tables (those that still exist) in the caller's transaction."""
    for name in names:
        conn.execute(text(f'DROP TABLE IF EXISTS {DATA_SCHEMA}."{name}"'))


def drop_orphaned_staging(engine: Engine) -> list[str]:
    """Drop every staging table whose publish is gone; return their names.

    A publish still running holds its token's lock, so its tables are left alone. Each
    token is tried with a transaction-level lock, which also keeps a publish from starting
    under that token while its orphans are dropped."""
    dropped: list[str] = []
    with engine.connect() as conn:
        by_token: dict[str, list[str]] = {}
        for name in staging_tables(conn):
            by_token.setdefault(str(staging_token(name)), []).append(name)
        conn.commit()
        for token, names in sorted(by_token.items()):
            with conn.begin():
                free = conn.execute(text("SELECT pg_try_advisory_xact_lock(:c, :k)"),
                                    {"c": LOCK_CLASS, "k": lock_key(token)}).scalar_one()
                if free:
                    drop_staging_tables(conn, names)
                    dropped += names
    return dropped
