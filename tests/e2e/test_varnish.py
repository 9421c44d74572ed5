"""Through a real Varnish (deploy/varnish/hub.vcl) in front of `hub serve --workers 2`: pinned
answers are cache hits the second time, `latest` changes within a second of a publish, a
withdrawn version answers 410 through the cache, and nothing asked with a key is stored.

Publishes and withdrawals here go through the ETL in this process, as `hub publish` and
`hub withdraw` do: the bans come from the workers' purgers, woken by the commit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine

from etl.prepare import prepare
from etl.publish import publish
from etl.withdraw import withdraw
from hub.catalog import DatasetDefinition, load_definition
from hub.data.people import People
from hub.db.cluster import free_port
from hub.http_cache.varnish import VarnishError, start_varnish, varnishd
from hub.people.scopes import Scope
from tests.conftest import FIXTURES, ROOT, create_test_database, drop_test_database
from tests.e2e.processes import hub_env, serving
from tests.people_hub import issue_key
from tests.shopdata import make_shops, write_csv

pytestmark = pytest.mark.slow

VCL = ROOT / "deploy" / "varnish" / "hub.vcl"
BAN_WITHIN_S = 1.0


@dataclass
class CachedHub:
    client: httpx.Client  # talks to Varnish
    engine: Engine
    definition: DatasetDefinition
    folder: Path

    def publish(self, rows: int) -> int:
        csv = write_csv(self.folder / f"shops-{rows}.csv", make_shops(rows))
        return publish(self.engine, prepare(self.definition, csv)).version

    def twice(self, url: str, **headers: str) -> tuple[httpx.Response, httpx.Response]:
        return self.client.get(url, headers=headers), self.client.get(url, headers=headers)


def _until(check, timeout_s: float) -> float | None:
    """Seconds until ``check()`` held, or None if it never did within ``timeout_s``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if check():
            return time.monotonic() - start
        time.sleep(0.02)
    return None


@pytest.fixture(scope="module")
def cached(pg_cluster, tmp_path_factory) -> Iterator[CachedHub]:
    try:
        varnishd()
    except VarnishError as exc:
        pytest.skip(f"{exc}: the Varnish tests need Debian's varnish package")
    folder = tmp_path_factory.mktemp("varnish")
    url = create_test_database(pg_cluster)
    engine = create_engine(url)
    definition = load_definition("test-shops", FIXTURES / "datasets", FIXTURES / "schemas")
    hub = CachedHub(httpx.Client(timeout=30), engine, definition, folder)
    hub.publish(300)
    hub.publish(290)
    varnish_port, hub_port = free_port(), free_port()
    env = hub_env(url, folder / "data", rate_limit_anonymous="0",
                  http_cache_purge_urls=f"http://127.0.0.1:{varnish_port}/")
    try:
        with serving(env, hub_port, 2, folder / "hub.log"):
            varnish = start_varnish(VCL, varnish_port, hub_port)
            hub.client.base_url = httpx.URL(f"http://127.0.0.1:{varnish_port}")
            try:
                yield hub
            finally:
                varnish.stop()
                hub.client.close()
    finally:
        engine.dispose()
        drop_test_database(pg_cluster, url)


def test_a_pinned_answer_is_a_cache_hit_the_second_time(cached: CachedHub) -> None:
    first, second = cached.twice("/v1/datasets/test-shops/versions/1/records?limit=5")
    assert first.status_code == second.status_code == 200
    assert first.headers["x-cache"] == "MISS" and second.headers["x-cache"] == "HIT"
    assert len(second.headers["x-varnish"].split()) == 2  # this request's id and the stored one
    assert second.content == first.content
    assert second.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "ratelimit" not in second.headers  # the first caller's counters are not shared
    revalidated = cached.client.get("/v1/datasets/test-shops/versions/1/records?limit=5",
                                    headers={"If-None-Match": second.headers["etag"]})
    assert revalidated.status_code == 304 and revalidated.headers["x-cache"] == "HIT"


def test_latest_changes_within_a_second_of_a_publish(cached: CachedHub) -> None:
    url = "/v1/datasets/test-shops/records?limit=3"
    first, second = cached.twice(url)
    assert second.headers["x-cache"] == "HIT"
    assert first.headers["cache-control"] == "public, no-cache"
    assert "surrogate-control" not in first.headers  # Varnish's own, not the client's
    old_etag = first.headers["etag"]
    version = cached.publish(280)

    def changed() -> bool:
        return cached.client.get(url).headers["etag"] != old_etag

    took = _until(changed, BAN_WITHIN_S)
    assert took is not None, f"latest still cached {BAN_WITHIN_S} s after the publish"
    now = cached.client.get(url)
    assert now.headers["x-hub-version"] == str(version)
    assert now.headers["x-cache"] == "HIT"  # cached again, until the next publish
    # pinned answers of other versions are not banned by a publish
    assert cached.client.get("/v1/datasets/test-shops/versions/1/records?limit=5"
                             ).headers["x-cache"] == "HIT"


WITHDRAWN = ["/v1/datasets/test-shops/versions/2/records?limit=4",
             "/v1/datasets/test-shops/versions/2/records/S0001",
             "/v1/datasets/test-shops/versions/2",
             "/ogc/collections/test-shops@v2/items?limit=4"]


def test_a_withdrawn_versions_urls_answer_410_through_the_cache(cached: CachedHub) -> None:
    for url in WITHDRAWN:
        first, second = cached.twice(url)
        assert first.status_code == 200, (url, first.text)
        assert second.headers["x-cache"] == "HIT", url
    withdraw(cached.engine, "test-shops", 2, "wrong coordinates")

    def gone() -> bool:
        return all(cached.client.get(url).status_code == 410 for url in WITHDRAWN)

    assert _until(gone, BAN_WITHIN_S) is not None, "withdrawn answers still served from cache"
    for url in WITHDRAWN:
        answer = cached.client.get(url)
        assert answer.status_code == 410 and "wrong coordinates" in answer.text
        assert answer.headers["x-cache"] != "HIT"  # a 410 is never stored either


def test_an_authenticated_answer_is_not_stored(cached: CachedHub) -> None:
    _id, token = issue_key(People(cached.engine), "reader", Scope.CONTRIBUTE)
    url = "/v1/datasets/test-shops/versions/1/records?limit=7"
    keyed = cached.twice(url, Authorization=f"Bearer {token}")
    assert [r.headers["x-cache"] for r in keyed] == ["PASS", "PASS"]
    assert keyed[1].headers["cache-control"].startswith("private")
    assert "ratelimit" in keyed[1].headers  # the key's own counters, from the hub itself
    anonymous = cached.twice(url)
    assert [r.headers["x-cache"] for r in anonymous] == ["MISS", "HIT"]
    # and a keyed request never gets the stored anonymous answer: it reaches the hub
    again = cached.client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert again.headers["x-cache"] == "PASS" and "ratelimit" in again.headers
    me = cached.twice("/v1/me", Authorization=f"Bearer {token}")
    assert [r.headers["x-cache"] for r in me] == ["PASS", "PASS"]


def test_a_signed_in_browser_is_never_given_a_stored_answer(cached: CachedHub) -> None:
    """The portal's session cookie makes a request someone's own, like a key; a language
    cookie does not."""
    url = "/v1/datasets/test-shops/versions/1/records?limit=9"
    assert [r.headers["x-cache"] for r in cached.twice(url)] == ["MISS", "HIT"]
    signed_in = cached.twice(url, Cookie="hub_lang=ja; hub_session=any-session-id")
    assert [r.headers["x-cache"] for r in signed_in] == ["PASS", "PASS"]
    assert signed_in[1].headers["cache-control"].startswith("private")
    language_only = cached.client.get(url, headers={"Cookie": "hub_lang=en"})
    assert language_only.headers["x-cache"] == "HIT"


def test_writes_are_passed_to_the_hub(cached: CachedHub) -> None:
    answers = [cached.client.post("/v1/requests", json={}) for _ in range(2)]
    assert [r.headers["x-cache"] for r in answers] == ["PASS", "PASS"]
    assert all(r.status_code in (401, 403) for r in answers)


def test_head_is_answered_through_the_cache_like_get(cached: CachedHub) -> None:
    """Varnish fills its cache for a HEAD with a GET and answers the HEAD from what it
    stored; a HEAD it passes (a signed-in browser) reaches the hub as HEAD, which answers
    it as its GET route (hub.api.routing.HeadAsGet), without a body either way."""
    url = "/v1/datasets/test-shops/versions/1/records/S0001"
    head = cached.client.head(url)
    get = cached.client.get(url)
    assert head.status_code == get.status_code == 200
    assert (head.headers["x-cache"], get.headers["x-cache"]) == ("MISS", "HIT")
    assert head.headers["etag"] == get.headers["etag"] and head.content == b""
    passed = cached.client.head(url, headers={"Cookie": "hub_session=any-session-id"})
    assert passed.status_code == 200, passed.headers
    assert passed.headers["x-cache"] == "PASS" and passed.content == b""
    assert passed.headers["content-length"] == get.headers["content-length"]
    assert passed.headers["etag"] == get.headers["etag"]
