"""Least privilege in the database: the API's role reads everything and writes only the
co-creation, people, usage, webhook and audit tables; only the publishing role creates
tables. Real roles with their own logins on the test cluster, the real app over them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import ProgrammingError

from etl.prepare import prepare
from etl.publish import publish
from hub.api.app import create_app
from hub.catalog import load_definition
from hub.db.cluster import LocalCluster
from hub.db.roles import API_READ_ONLY_TABLES, API_ROLE, API_WRITABLE_TABLES, PUBLISH_ROLE
from hub.people.scopes import Scope
from tests.api.contrib_hub import new_shop
from tests.conftest import create_test_database, drop_test_database, make_settings
from tests.people_hub import issue_key
from tests.shopdata import make_shops, write_csv


@dataclass
class Roles:
    owner: Engine  # the migration role (the test cluster's superuser)
    api: Engine
    publisher: Engine
    api_url: str = field(repr=False)
    publish_url: str = field(repr=False)
    version_table: str


def role_url(cluster: LocalCluster, owner_url: str, role: str) -> str:
    return cluster.url(owner_url.rsplit("/", 1)[1], role=role)


@pytest.fixture(scope="module")
def roles(pg_cluster: LocalCluster, tmp_path_factory) -> Iterator[Roles]:
    pg_cluster.enable_logins((API_ROLE, PUBLISH_ROLE))
    url = create_test_database(pg_cluster)
    api_url, publish_url = (role_url(pg_cluster, url, r) for r in (API_ROLE, PUBLISH_ROLE))
    engines = [create_engine(u) for u in (url, api_url, publish_url)]
    settings = make_settings(url)
    shops = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    folder: Path = tmp_path_factory.mktemp("roles")
    # The publishing role creates the version table: it may.
    result = publish(engines[2], prepare(shops, write_csv(folder / "v1.csv", make_shops(20))))
    with engines[0].connect() as conn:
        table = conn.execute(text("SELECT table_name FROM hub.versions WHERE dataset_id = "
                                  "'test-shops' AND version = :v"),
                             {"v": result.version}).scalar_one()
    try:
        yield Roles(*engines, api_url, publish_url, f'data."{table}"')
    finally:
        for engine in engines:
            engine.dispose()
        drop_test_database(pg_cluster, url)


def refused(engine: Engine, sql: str) -> str:
    with pytest.raises(ProgrammingError) as caught, engine.begin() as conn:
        conn.execute(text(sql))
    return str(caught.value.orig)


@pytest.mark.parametrize("sql", [
    "CREATE TABLE data.intruder (id int)",
    "CREATE TABLE hub.intruder (id int)",
    "CREATE TABLE public.intruder (id int)",
    "CREATE SCHEMA intruder",
])
def test_the_api_role_cannot_create(roles: Roles, sql: str) -> None:
    assert "permission denied" in refused(roles.api, sql)


def test_the_api_role_cannot_drop_or_write_a_version_table(roles: Roles) -> None:
    table = roles.version_table
    assert "must be owner" in refused(roles.api, f"DROP TABLE {table}")
    assert "must be owner" in refused(roles.api, f"ALTER TABLE {table} ADD COLUMN x int")
    for sql in (f"DELETE FROM {table}", f"UPDATE {table} SET _fid = _fid",
                f"INSERT INTO {table} (_fid) VALUES (-1)", f"TRUNCATE {table}",
                "UPDATE hub.versions SET row_count = 0", "DELETE FROM hub.datasets",
                "DROP TABLE hub.contributions"):
        assert "permission denied" in refused(roles.api, sql) or "must be owner" in refused(
            roles.api, sql), sql
    with roles.api.connect() as conn:  # reading is what it is for
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 20


def test_the_publishing_role_creates_and_the_api_role_reads_its_tables(roles: Roles) -> None:
    with roles.publisher.begin() as conn:
        conn.execute(text("CREATE TABLE data.fresh (id int)"))
        conn.execute(text("INSERT INTO data.fresh VALUES (1)"))
    with roles.api.connect() as conn:  # default privileges: readable without a new grant
        assert conn.execute(text("SELECT id FROM data.fresh")).scalar_one() == 1
    with roles.publisher.begin() as conn:
        conn.execute(text("DROP TABLE data.fresh"))
    assert "permission denied" in refused(roles.publisher, "CREATE TABLE hub.intruder (id int)")


def test_every_catalogue_table_has_a_decided_api_privilege(roles: Roles) -> None:
    with roles.owner.connect() as conn:
        tables = set(conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'hub'")).scalars())
    undecided = tables - set(API_WRITABLE_TABLES) - set(API_READ_ONLY_TABLES)
    assert not undecided, (f"decide in hub.db.roles whether the API writes {undecided}")


def test_the_app_as_the_api_role_takes_a_contribution_and_publishes_as_the_publisher(
        roles: Roles) -> None:
    settings = make_settings(roles.api_url, publish_database_url=roles.publish_url,
                             usage_stats=False, webhooks_worker=False)
    with TestClient(create_app(settings)) as client:
        tokens = {}
        for name, scope in (("resident", Scope.CONTRIBUTE), ("moderator", Scope.MODERATE),
                            ("publisher", Scope.PUBLISH)):
            _id, tokens[name] = issue_key(client.app.state.people, name, scope)

        def as_(name: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[name]}"}

        proposed = client.post("/v1/datasets/test-shops/contributions", json=new_shop(),
                               headers=as_("resident"))
        assert proposed.status_code == 201, proposed.text
        decided = client.post(f"/v1/contributions/{proposed.json()['id']}/decision",
                              json={"decision": "accept", "reason": "確認"},
                              headers=as_("moderator"))
        assert decided.status_code == 200, decided.text
        published = client.post("/v1/datasets/test-shops/contributions/publish",
                                headers=as_("publisher"))
        assert published.status_code == 201, published.text
        version = published.json()["version"]
        records = client.get(f"/v1/datasets/test-shops/versions/{version}/records",
                             params={"f": "geojson"})
        assert records.status_code == 200, records.text
        assert records.json()["numberMatched"] == 21
