"""HEAD is answered like GET on every GET route, without the body (RFC 9110 9.3.2), through
the real app and database: the same status and headers, 304 for a matching ETag, and the
routes that declare HEAD themselves (downloads) keep it."""

from __future__ import annotations

import pytest

from tests.api.conftest import Hub

PINNED = "/v1/datasets/test-shops/versions/2"
# Headers that differ between two requests for one representation: the quota left (the
# HEAD spends one request of it, as a GET does) and a portal page's cookie (its CSRF token
# is drawn per visitor).
PER_REQUEST = {"ratelimit", "set-cookie"}

READS = [
    pytest.param("/v1/datasets/test-shops/records/S0001", {}, id="record"),
    pytest.param(f"{PINNED}/records/S0001", {}, id="pinned record"),
    pytest.param(f"{PINNED}/records", {"limit": "3", "f": "csv"}, id="records page"),
    pytest.param(f"{PINNED}/download.csv", {}, id="download"),
    pytest.param("/ogc/collections/test-shops", {}, id="OGC collection"),
    pytest.param("/ogc/collections/test-shops/items", {"limit": "2"}, id="OGC items"),
    pytest.param("/datasets/test-shops", {}, id="portal page"),
    pytest.param("/api/3/action/package_show", {"id": "test-shops"}, id="CKAN action"),
    pytest.param("/v1/datasets/no-such-dataset", {}, id="a 404"),
]


def comparable(headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {k: v for k, v in headers.items() if k not in PER_REQUEST}


@pytest.mark.parametrize(("path", "params"), READS)
def test_head_answers_with_the_status_and_headers_of_get(hub: Hub, path: str,
                                                         params: dict[str, str]) -> None:
    get = hub.client.get(path, params=params)
    head = hub.client.head(path, params=params)
    assert head.status_code == get.status_code, head.text
    assert comparable(head.headers) == comparable(get.headers)
    assert get.content and head.content == b""


def test_head_of_a_pinned_record_is_304_for_its_etag(hub: Hub) -> None:
    path = f"{PINNED}/records/S0001"
    get = hub.client.get(path)
    assert "immutable" in get.headers["cache-control"]
    etag = get.headers["etag"]
    head = hub.client.head(path, headers={"If-None-Match": etag})
    revalidated = hub.client.get(path, headers={"If-None-Match": etag})
    assert head.status_code == revalidated.status_code == 304
    assert comparable(head.headers) == comparable(revalidated.headers)
    assert head.headers["etag"] == etag and head.content == b""


def test_head_on_a_path_without_get_is_a_405_naming_the_methods(hub: Hub) -> None:
    """`/v1/contributions/{id}/decision` takes only POST: HEAD is not answered there, and
    `Allow` lists HEAD wherever GET is."""
    refused = hub.client.head("/v1/contributions/1/decision")
    assert refused.status_code == 405
    assert {m.strip() for m in refused.headers["allow"].split(",")} == {"POST"}
    allowed = hub.client.delete("/v1/datasets/test-shops/records")
    assert allowed.status_code == 405
    assert {m.strip() for m in allowed.headers["allow"].split(",")} >= {"GET", "HEAD"}


def test_head_is_refused_like_get_for_a_bad_parameter(hub: Hub) -> None:
    """The door sees the GET it answers like: a repeated single value is a 400 for HEAD."""
    response = hub.client.head("/v1/datasets", params=[("q", "a"), ("q", "b")])
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
