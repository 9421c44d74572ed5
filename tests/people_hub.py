"""The real app served to a test client, with keys issued the way `hub keys create` issues
them: the hub that tests of writes over HTTP (publishing, keys, definitions) talk to.

``serve_hub`` is the one fixture that starts it; a test module passes what differs (its
settings, an extra route) and issues the keys its tests need with :meth:`People.issue`. The
fixture closes every hub it started when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from hub.api.app import create_app
from hub.data.people import People as KeyStore
from hub.people.audit import AuditEntry
from hub.people.keys import NewKey
from hub.people.scopes import KeyKind, Scope
from hub.settings import Settings


def issue_key(store: KeyStore, name: str, *scopes: Scope, kind: KeyKind = KeyKind.STAFF,
              datasets: set[str] | None = None, expires_at: datetime | None = None,
              rate_limit: int | None = None) -> tuple[int, str]:
    """A key written straight into ``store`` with an operator's audit entry, as `hub keys
    create` does; returns its id and the token (shown once)."""
    new = NewKey(name=name, kind=kind, scopes=frozenset(scopes), created_by="test",
                 datasets=frozenset(datasets) if datasets else None,
                 expires_at=expires_at, rate_limit=rate_limit)
    row, token = store.issue(
        new, lambda r: AuditEntry.by_operator("key.create", "key", str(r["id"])))
    return row["id"], token


@contextmanager
def key_store(database_url: str) -> Iterator[KeyStore]:
    """The key store of a hub running elsewhere (a live server), on an engine of its own."""
    engine = create_engine(database_url)
    try:
        yield KeyStore(engine)
    finally:
        engine.dispose()


class People:
    """A running app plus helpers to issue keys directly (as the CLI does)."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.engine = create_engine(settings.database_url)

    def issue(self, name: str, *scopes: Scope, datasets: set[str] | None = None,
              expires_at: datetime | None = None, rate_limit: int | None = None,
              kind: KeyKind = KeyKind.STAFF) -> tuple[int, str]:
        return issue_key(self.client.app.state.people, name, *scopes, kind=kind,
                         datasets=datasets, expires_at=expires_at, rate_limit=rate_limit)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def audit_count(self, action: str | None = None) -> int:
        if action is None:
            return self.scalar("SELECT count(*) FROM hub.audit_log")
        return self.scalar("SELECT count(*) FROM hub.audit_log WHERE action = :a", a=action)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ServeHub = Callable[..., People]


@pytest.fixture
def serve_hub(db_url: str) -> Iterator[ServeHub]:
    """``serve_hub(settings, extend_app=None) -> People``: the app for ``settings`` (with
    ``extend_app`` applied before it starts), running until the test ends.

    A factory rather than a plain fixture, because each module's hub differs in its settings
    (upload caps, datasets directory, quotas) and some modules publish before it starts. It
    asks for ``db_url`` only so that the test's database is dropped after its hubs stop."""
    with ExitStack() as stack:

        def serve(settings: Settings, *,
                  extend_app: Callable[[FastAPI], None] | None = None) -> People:
            app = create_app(settings)
            if extend_app is not None:
                extend_app(app)
            client = stack.enter_context(TestClient(app))
            people = People(client, settings)
            stack.callback(people.engine.dispose)  # before the app stops, as the client closes
            return people

        yield serve
