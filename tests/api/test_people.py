"""Keys, scopes, quotas and the audit log through the real app and a real PostGIS.

Each test gets its own migrated database and app, so counters and keys never leak between
tests. The first admin key is issued the way `hub keys create` does it (hub.data.people),
everything after that over HTTP.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pytest
from fastapi import Depends
from sqlalchemy import create_engine, text

from etl.prepare import prepare
from etl.publish import publish
from hub.api.auth import require
from hub.catalog import load_definition
from hub.people.audit import AuditFilter
from hub.people.principal import Key
from hub.people.scopes import Scope
from tests.api.cocreation_hub import assert_problem
from tests.conftest import make_settings
from tests.people_hub import People, ServeHub, bearer
from tests.shopdata import make_shops, write_csv

PROBLEM = "application/problem+json"


def add_dataset_write_route(app: Any) -> None:
    """A write guarded by a per-dataset scope. The hub's own dataset writes (publish over
    HTTP, contributions) are built on this dependency; this stand-in writes nothing, so the
    test sees the guard alone."""

    @app.post("/test-only/datasets/{dataset_id}/writes")
    async def dataset_write(
        dataset_id: str,
        key: Annotated[Key, Depends(require(Scope.PUBLISH, "dataset_id"))],
    ) -> dict[str, Any]:
        return {"dataset": dataset_id, "key": key.name}


@pytest.fixture
def people(db_url: str, serve_hub: ServeHub) -> People:
    return serve_hub(make_settings(db_url), extend_app=add_dataset_write_route)


@pytest.fixture
def limited(db_url: str, tmp_path, serve_hub: ServeHub) -> People:
    """Small quotas, and the test shops published (versions 1 and 2) for pinned reads."""
    settings = make_settings(db_url, rate_limit_anonymous=3, rate_limit_key=5,
                             self_service_keys_per_hour=2)
    engine = create_engine(db_url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    publish(engine, prepare(definition, write_csv(tmp_path / "v1.csv", make_shops(20))))
    engine.dispose()
    return serve_hub(settings, extend_app=add_dataset_write_route)


# -- 401 -------------------------------------------------------------------------------------


def test_write_without_key_is_401_and_writes_nothing(people: People) -> None:
    response = people.client.post("/v1/keys", json={"name": "x", "scopes": ["admin"]})
    assert_problem(response, 401, "needs a key")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="hub"'  # no error code
    assert people.scalar("SELECT count(*) FROM hub.api_keys") == 0
    assert people.audit_count() == 0


def test_unknown_key_is_401_invalid_token(people: People) -> None:
    response = people.client.post("/v1/keys", json={"name": "x", "scopes": ["admin"]},
                                  headers=bearer("hub_" + "A" * 43))
    assert_problem(response, 401, "not known")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="hub", error="invalid_token"'
    assert people.audit_count() == 0


def test_other_authorization_schemes_are_401(people: People) -> None:
    response = people.client.get("/v1/keys", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert_problem(response, 401, "Bearer")
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_revoked_key_is_401_saying_revoked_and_why(people: People) -> None:
    _admin_id, admin = people.issue("admin", Scope.ADMIN)
    victim_id, victim = people.issue("leaky", Scope.ADMIN)
    assert people.client.get("/v1/keys", headers=bearer(victim)).status_code == 200

    revoked = people.client.delete(f"/v1/keys/{victim_id}",
                                   params={"reason": "pasted in a public chat"},
                                   headers=bearer(admin))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_reason"] == "pasted in a public chat"

    refused = people.client.post("/v1/keys", json={"name": "x", "scopes": ["contribute"]},
                                 headers=bearer(victim))
    assert_problem(refused, 401, "revoked", "pasted in a public chat")
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    # reading public data needs no key, so a revoked one does not stop a read
    assert people.client.get("/v1/datasets", headers=bearer(victim)).status_code == 200
    # a second revocation changes nothing, and says so in the log
    again = people.client.delete(f"/v1/keys/{victim_id}", headers=bearer(admin))
    assert again.json()["revoked_reason"] == "pasted in a public chat"
    results = people.scalar("SELECT string_agg(result, ',' ORDER BY id) FROM hub.audit_log "
                            "WHERE action = 'key.revoke'")
    assert results == "ok,unchanged"


def test_expired_key_is_401_saying_expired(people: People) -> None:
    _id, token = people.issue("old", Scope.ADMIN,
                              expires_at=datetime.now(UTC) - timedelta(minutes=1))
    response = people.client.get("/v1/keys", headers=bearer(token))
    assert_problem(response, 401, "expired")
    assert_problem(people.client.get("/v1/me", headers=bearer(token)), 401, "expired")


# -- 403 -------------------------------------------------------------------------------------


def test_key_without_the_scope_is_403_and_writes_nothing(people: People) -> None:
    _id, contributor = people.issue("resident", Scope.CONTRIBUTE)
    before = people.audit_count()
    response = people.client.post("/v1/keys", json={"name": "x", "scopes": ["admin"]},
                                  headers=bearer(contributor))
    assert_problem(response, 403, "'admin'", "contribute")
    assert 'error="insufficient_scope", scope="admin"' in response.headers["WWW-Authenticate"]
    assert people.scalar("SELECT count(*) FROM hub.api_keys") == 1
    assert people.audit_count() == before
    assert_problem(people.client.get("/v1/audit", headers=bearer(contributor)), 403)


def test_per_dataset_key_outside_its_datasets_is_403(people: People) -> None:
    _id, parks = people.issue("parks uploads", Scope.PUBLISH, datasets={"parks"})
    inside = people.client.post("/test-only/datasets/parks/writes", headers=bearer(parks))
    assert inside.status_code == 200, inside.text
    outside = people.client.post("/test-only/datasets/kobe-aed/writes", headers=bearer(parks))
    assert_problem(outside, 403, "only on datasets [parks]", "kobe-aed")
    _id, everywhere = people.issue("city publisher", Scope.PUBLISH)
    assert people.client.post("/test-only/datasets/kobe-aed/writes",
                              headers=bearer(everywhere)).status_code == 200
    _id, moderator = people.issue("moderator", Scope.MODERATE)
    assert_problem(people.client.post("/test-only/datasets/parks/writes",
                                      headers=bearer(moderator)), 403, "'publish'")


# -- issuing, listing, revoking ----------------------------------------------------------------


def test_admin_issues_a_key_over_http_shown_once_stored_hashed(people: People) -> None:
    admin_id, admin = people.issue("admin", Scope.ADMIN)
    response = people.client.post(
        "/v1/keys", headers=bearer(admin),
        json={"name": "parks uploads", "scopes": ["publish", "contribute"],
              "datasets": ["parks"], "expires": "90d", "rate_limit": 50})
    assert response.status_code == 201, response.text
    body = response.json()
    token = body["token"]
    assert token.startswith("hub_") and len(token) > 40
    assert body["scopes"] == ["contribute", "publish"] and body["datasets"] == ["parks"]
    assert body["token_prefix"] == token[:12]
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)

    stored = people.scalar("SELECT token_sha256 FROM hub.api_keys WHERE id = :i", i=body["id"])
    assert bytes(stored) == hashlib.sha256(token.encode()).digest()
    assert people.scalar("SELECT count(*) FROM hub.api_keys WHERE "
                         "position(:t in row(api_keys.*)::text) > 0", t=token[4:]) == 0

    listed = people.client.get("/v1/keys", headers=bearer(admin))
    assert listed.status_code == 200
    assert token not in listed.text and "sha256" not in listed.text
    names = {k["name"]: k for k in listed.json()["keys"]}
    assert set(names) == {"admin", "parks uploads"}
    assert names["parks uploads"]["rate_limit"] == 50

    entry = people.client.get("/v1/audit", params={"action": "key.create"},
                              headers=bearer(admin)).json()["entries"][0]
    assert (entry["key_id"], entry["key_name"], entry["actor"]) == (admin_id, "admin",
                                                                    f"key:{admin_id}")
    assert (entry["object_type"], entry["object_id"]) == ("key", str(body["id"]))
    assert entry["client_address"] == "testclient" and entry["result"] == "ok"

    me = people.client.get("/v1/me", headers=bearer(token)).json()
    assert me["name"] == "parks uploads" and me["datasets"] == ["parks"]
    assert me["quota"]["quota"] == 50 and me["quota"]["policy"] == "key"


@pytest.mark.parametrize(("body", "words"), [
    ({"name": "x", "scopes": ["admin"], "datasets": ["parks"]}, ["cannot be limited"]),
    ({"name": "x", "scopes": ["publish"], "expires": "soon"}, ["invalid duration", "90d"]),
    ({"name": "x", "scopes": ["publish"], "datasets": []}, ["empty dataset list"]),
    ({"name": " ", "scopes": ["publish"]}, ["name"]),
])
def test_invalid_key_requests_are_400_and_write_nothing(people: People, body: dict[str, Any],
                                                        words: list[str]) -> None:
    _id, admin = people.issue("admin", Scope.ADMIN)
    assert_problem(people.client.post("/v1/keys", json=body, headers=bearer(admin)), 400,
                   *words)
    assert people.scalar("SELECT count(*) FROM hub.api_keys") == 1


def test_unknown_scope_is_refused(people: People) -> None:
    _id, admin = people.issue("admin", Scope.ADMIN)
    response = people.client.post("/v1/keys", json={"name": "x", "scopes": ["superuser"]},
                                  headers=bearer(admin))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)


def test_self_service_key_is_contribute_only_and_moderators_revoke_it(people: People) -> None:
    response = people.client.post("/v1/keys/self", json={"display_name": "Hanako Y."})
    assert response.status_code == 201, response.text
    resident = response.json()
    assert resident["token"].startswith("hub_")
    assert (resident["kind"], resident["scopes"], resident["datasets"]) == \
        ("self", ["contribute"], None)
    assert resident["expires_at"] is not None
    me = people.client.get("/v1/me", headers=bearer(resident["token"])).json()
    assert me["scopes"] == ["contribute"] and me["name"] == "Hanako Y."
    created = people.client.app.state.people.audit(AuditFilter(action="key.create_self"))
    assert len(created) == 1 and created[0]["client_address"] == "testclient"
    assert created[0]["actor"] == "anonymous"

    _id, moderator = people.issue("moderator", Scope.MODERATE)
    staff_id, _staff = people.issue("publisher", Scope.PUBLISH)
    listed = people.client.get("/v1/keys", headers=bearer(moderator)).json()["keys"]
    assert [k["name"] for k in listed] == ["Hanako Y."]  # moderators see self-service keys
    assert_problem(people.client.delete(f"/v1/keys/{staff_id}", headers=bearer(moderator)),
                   403, "self-service keys only")
    assert people.scalar("SELECT revoked_at FROM hub.api_keys WHERE id = :i",
                         i=staff_id) is None
    revoked = people.client.delete(f"/v1/keys/{resident['id']}", params={"reason": "spam"},
                                   headers=bearer(moderator))
    assert revoked.status_code == 200 and revoked.json()["revoked_by"].startswith("key:")
    assert_problem(people.client.get("/v1/me", headers=bearer(resident["token"])), 401,
                   "revoked", "spam")
    assert_problem(people.client.delete("/v1/keys/99999", headers=bearer(moderator)), 404)


def test_self_service_keys_are_rate_limited_per_address(limited: People) -> None:
    for n in range(2):
        taken = limited.client.post("/v1/keys/self", json={"display_name": f"r{n}"},
                                    headers=bearer(limited.issue(f"k{n}", Scope.ADMIN,
                                                                 rate_limit=0)[1]))
        assert taken.status_code == 201, taken.text
    third = limited.client.post("/v1/keys/self", json={"display_name": "r3"},
                                headers=bearer(limited.issue("k3", Scope.ADMIN,
                                                             rate_limit=0)[1]))
    assert_problem(third, 429, "self-service keys", "last hour")
    assert 0 < int(third.headers["Retry-After"]) <= 3600
    assert limited.audit_count("key.create_self") == 2


def test_me_without_a_key_shows_the_anonymous_quota(limited: People) -> None:
    body = limited.client.get("/v1/me").json()
    assert body["anonymous"] is True
    assert body["quota"]["policy"] == "anonymous" and body["quota"]["quota"] == 3
    assert body["quota"]["used"] == 0


def test_last_used_is_recorded(people: People) -> None:
    key_id, token = people.issue("reader", Scope.CONTRIBUTE)
    assert people.scalar("SELECT last_used_at FROM hub.api_keys WHERE id = :i", i=key_id) \
        is None
    people.client.get("/v1/me", headers=bearer(token))
    assert people.scalar("SELECT last_used_at FROM hub.api_keys WHERE id = :i", i=key_id) \
        is not None


# -- quotas ----------------------------------------------------------------------------------


def test_anonymous_quota_is_per_address_with_ratelimit_headers(limited: People) -> None:
    client = limited.client
    for remaining in (2, 1, 0):
        ok = client.get("/v1/datasets")
        assert ok.status_code == 200
        assert ok.headers["RateLimit-Policy"] == '"anonymous";q=3;w=60'
        assert ok.headers["RateLimit"].startswith(f'"anonymous";r={remaining};t=')
    refused = client.get("/v1/datasets")
    body = assert_problem(refused, 429, "3 requests per 60 s")
    assert body["type"].endswith("rate-limited")
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit"].startswith('"anonymous";r=0;t=')
    # a key has its own quota, with a per-key override
    _id, token = limited.issue("reader", Scope.CONTRIBUTE, rate_limit=2)
    for _ in range(2):
        ok = client.get("/v1/datasets", headers=bearer(token))
        assert ok.status_code == 200
        assert ok.headers["RateLimit-Policy"] == '"key";q=2;w=60'
    assert_problem(client.get("/v1/datasets", headers=bearer(token)), 429, "this key")
    _id, default = limited.issue("default reader", Scope.CONTRIBUTE)
    assert client.get("/v1/datasets", headers=bearer(default)).headers["RateLimit-Policy"] \
        == '"key";q=5;w=60'


def test_pinned_and_not_modified_answers_cost_a_tenth(limited: People) -> None:
    """Quota 3 requests = 30 units; a request is admitted while any unit is left."""
    client = limited.client
    latest = "/v1/datasets/test-shops/records?limit=1"
    etag = client.get(latest).headers["ETag"]  # a full request: 10 units
    for _ in range(10):  # ten 304s: one request's worth
        not_modified = client.get(latest, headers={"If-None-Match": etag})
        assert not_modified.status_code == 304
    assert not_modified.headers["RateLimit"].startswith('"anonymous";r=1;')
    pinned = "/v1/datasets/test-shops/versions/1/records?limit=1"
    for _ in range(9):  # pinned immutable answers: a tenth each
        answer = client.get(pinned)
        assert answer.status_code == 200
        assert "immutable" in answer.headers["Cache-Control"]
    assert answer.headers["RateLimit"].startswith('"anonymous";r=1;')  # 29 of 30 units
    assert client.get(pinned).headers["RateLimit"].startswith('"anonymous";r=0;')
    assert_problem(client.get(pinned), 429)


# -- audit -----------------------------------------------------------------------------------


def test_audit_log_filters_and_pages(people: People) -> None:
    admin_id, admin = people.issue("admin", Scope.ADMIN)
    for n in range(3):
        people.client.post("/v1/keys", json={"name": f"k{n}", "scopes": ["contribute"]},
                           headers=bearer(admin))
    last = people.client.get("/v1/keys", headers=bearer(admin)).json()["keys"][-1]
    people.client.delete(f"/v1/keys/{last['id']}", headers=bearer(admin))

    def entries(**params: Any) -> list[dict[str, Any]]:
        response = people.client.get("/v1/audit", params=params, headers=bearer(admin))
        assert response.status_code == 200, response.text
        return response.json()["entries"]

    assert [e["action"] for e in entries(key=admin_id)] == ["key.revoke"] + ["key.create"] * 3
    assert len(entries(action="key.create")) == 4  # the first one issued from the "CLI"
    assert [e["object_id"] for e in entries(object_type="key", object_id=str(last["id"]))] \
        == [str(last["id"])] * 2
    assert entries(since=(datetime.now(UTC) + timedelta(hours=1)).isoformat()) == []
    assert len(entries(until=(datetime.now(UTC) + timedelta(hours=1)).isoformat())) == 5

    seen, url = [], "/v1/audit?limit=2&key=" + str(admin_id)
    while url:
        page = people.client.get(url.removeprefix("http://testserver"),
                                 headers=bearer(admin)).json()
        seen += [e["id"] for e in page["entries"]]
        url = page["next"]
    assert seen == sorted(seen, reverse=True) and len(seen) == 4


@pytest.mark.parametrize("statement", [
    "UPDATE hub.audit_log SET result = 'tampered'",
    "DELETE FROM hub.audit_log",
    "TRUNCATE hub.audit_log",
])
def test_audit_log_is_append_only(people: People, statement: str) -> None:
    people.issue("admin", Scope.ADMIN)
    with pytest.raises(Exception, match="append-only"), people.engine.begin() as conn:
        conn.execute(text(statement))
    assert people.audit_count() == 1


def test_openapi_documents_bearer_and_errors(people: People) -> None:
    schema = people.client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["bearer"]["description"]}
    create = schema["paths"]["/v1/keys"]["post"]
    assert create["security"] == [{"bearer": []}]
    for status in ("400", "401", "403", "429"):
        assert "application/problem+json" in create["responses"][status]["content"]
    for path in schema["paths"].values():
        for operation in path.values():
            assert "429" in operation["responses"]
    assert "Retry-After" in schema["paths"]["/v1/datasets"]["get"]["responses"]["429"]["headers"]
