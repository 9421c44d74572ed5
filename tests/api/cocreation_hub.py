"""A hub for the co-creation tests: test shops published twice, keys for each role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from etl.prepare import prepare
from etl.publish import publish
from hub.api.app import create_app
from hub.catalog import load_definition
from hub.people.scopes import KeyKind, Scope
from hub.settings import Settings
from tests.conftest import make_settings
from tests.people_hub import issue_key
from tests.shopdata import make_shops, write_csv

PROBLEM = "application/problem+json"


@dataclass
class CoHub:
    client: TestClient
    settings: Settings
    engine: Engine
    tokens: dict[str, str] = field(default_factory=dict)
    key_ids: dict[str, int] = field(default_factory=dict)

    def issue(self, name: str, *scopes: Scope, kind: KeyKind = KeyKind.SELF) -> str:
        key_id, token = issue_key(self.client.app.state.people, name, *scopes, kind=kind)
        self.tokens[name], self.key_ids[name] = token, key_id
        return token

    def as_(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def audit(self, action: str, object_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM hub.audit_log WHERE action = :a"
        if object_id is not None:
            sql += " AND object_id = :o"
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql + " ORDER BY id"),
                                                  {"a": action, "o": object_id}).mappings()]


def start_hub(url: str, folder: Path, **overrides: Any) -> Iterator[CoHub]:
    settings = make_settings(url, **overrides)
    engine = create_engine(url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    if engine.connect().execute(text("SELECT count(*) FROM hub.versions")).scalar() == 0:
        publish(engine, prepare(definition, write_csv(folder / "v1.csv", make_shops(30))))
        publish(engine, prepare(definition, write_csv(folder / "v2.csv", make_shops(25))))
    with TestClient(create_app(settings)) as client:
        hub = CoHub(client, settings, engine)
        hub.issue("staff", Scope.MODERATE, kind=KeyKind.STAFF)
        hub.issue("publisher", Scope.PUBLISH, kind=KeyKind.STAFF)
        for name in ("voter1", "voter2", "voter3", "startup"):
            hub.issue(name, Scope.CONTRIBUTE)
        yield hub
    engine.dispose()


def assert_problem(response: Any, status: int, *detail_words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == status
    for word in filter(None, detail_words):
        assert word in body["detail"], body
    return body


def request_body(title: str = "駐輪場の位置と収容台数", **extra: Any) -> dict[str, Any]:
    body = {"title": title, "description": "市内の駐輪場の位置、収容台数、料金を知りたい",
            "purpose": "自転車通勤者向けの地図アプリを作るため"}
    body.update(extra)
    return body
