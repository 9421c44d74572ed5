"""A hub for the contribution tests: test shops published once, a key for each role."""

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
from hub.catalog import DatasetDefinition, load_definition
from hub.people.scopes import KeyKind, Scope
from hub.settings import Settings
from tests.api.cocreation_hub import assert_problem as assert_problem
from tests.conftest import make_settings
from tests.people_hub import issue_key
from tests.shopdata import Shop, make_shops, write_csv

PROBLEM = "application/problem+json"


@dataclass
class ContribHub:
    client: TestClient
    settings: Settings
    engine: Engine
    definition: DatasetDefinition
    folder: Path
    shops: list[Shop]
    tokens: dict[str, str] = field(default_factory=dict)
    key_ids: dict[str, int] = field(default_factory=dict)

    def issue(self, name: str, *scopes: Scope, kind: KeyKind = KeyKind.SELF,
              datasets: frozenset[str] | None = None) -> str:
        key_id, token = issue_key(self.client.app.state.people, name, *scopes, kind=kind,
                                  datasets=set(datasets) if datasets else None)
        self.tokens[name], self.key_ids[name] = token, key_id
        return token

    def as_(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql), params).mappings()]

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def audit(self, action: str, object_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM hub.audit_log WHERE action = :a"
        if object_id is not None:
            sql += " AND object_id = :o"
        return self.rows(sql + " ORDER BY id", a=action, o=object_id)

    def propose(self, who: str, body: dict[str, Any], dataset: str = "test-shops") -> Any:
        return self.client.post(f"/v1/datasets/{dataset}/contributions", json=body,
                                headers=self.as_(who))


def start_hub(url: str, folder: Path, **overrides: Any) -> Iterator[ContribHub]:
    settings = make_settings(url, **overrides)
    engine = create_engine(url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    shops = make_shops(30)
    publish(engine, prepare(definition, write_csv(folder / "v1.csv", shops)))
    with TestClient(create_app(settings)) as client:
        hub = ContribHub(client, settings, engine, definition, folder, shops)
        hub.issue("moderator", Scope.MODERATE, kind=KeyKind.STAFF)
        hub.issue("publisher", Scope.PUBLISH, kind=KeyKind.STAFF)
        hub.issue("admin", Scope.ADMIN, kind=KeyKind.STAFF)
        for name in ("resident", "resident2"):
            hub.issue(name, Scope.CONTRIBUTE)
        hub.issue("elsewhere", Scope.CONTRIBUTE, kind=KeyKind.STAFF,
                  datasets=frozenset({"kobe-aed"}))
        yield hub
    engine.dispose()


def new_shop(name: str = "バリアフリー喫茶", lon: float = 139.7100, lat: float = 35.6650,
             **properties: Any) -> dict[str, Any]:
    return {"kind": "new", "comment": "段差のない新しい喫茶店", "licence_consent": True,
            "source": {"what": "店頭で確認", "where": "渋谷区", "when": "2026-12-01"},
            "feature": {"type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [lon, lat]},
                        "properties": {"name": name, "category": "カフェ",
                                       "step_free": "○", **properties}}}
