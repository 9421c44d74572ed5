"""Security headers on every kind of answer, and CORS: reads open, writes closed, no
credentials (hub/api/security_headers.py), through the real app and database."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.api.security_headers import DOCUMENT_POLICY, PAGE_POLICY
from tests.api.conftest import Hub
from tests.conftest import make_settings

PINNED = "/v1/datasets/test-shops/versions/2"


def assert_secured(headers, policy: str) -> None:
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert headers["content-security-policy"] == policy
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_json_answer(hub: Hub) -> None:
    response = hub.client.get("/v1/datasets")
    assert response.status_code == 200
    assert_secured(response.headers, DOCUMENT_POLICY)


def test_problem_answer(hub: Hub) -> None:
    response = hub.client.get("/v1/datasets/no-such-dataset")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert_secured(response.headers, DOCUMENT_POLICY)


def test_not_modified_answer(hub: Hub) -> None:
    first = hub.client.get(f"{PINNED}/records?limit=1")
    again = hub.client.get(f"{PINNED}/records?limit=1",
                           headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert_secured(again.headers, DOCUMENT_POLICY)


def test_file_answer(hub: Hub) -> None:
    response = hub.client.get(f"{PINNED}/download.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert_secured(response.headers, DOCUMENT_POLICY)


def test_html_page_may_load_only_the_hub_and_what_maplibre_needs(hub: Hub) -> None:
    response = hub.client.get("/datasets/test-shops", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert_secured(response.headers, PAGE_POLICY)
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'self'",
                      "worker-src 'self' blob:", "img-src 'self' data: blob:"):
        assert directive in PAGE_POLICY


def test_api_docs_allow_only_their_own_inline_script(hub: Hub) -> None:
    response = hub.client.get("/docs")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in policy
    assert "unsafe-inline" not in policy


def test_rate_limited_answer_is_secured_too(hub: Hub) -> None:
    settings = make_settings(hub.url, rate_limit_anonymous=1)
    with TestClient(create_app(settings)) as client:
        client.get("/v1/datasets")
        refused = client.get("/v1/datasets")
    assert refused.status_code == 429
    assert_secured(refused.headers, DOCUMENT_POLICY)


def test_preflight_for_a_read_is_allowed_for_any_origin_without_credentials(hub: Hub) -> None:
    response = hub.client.options(f"{PINNED}/records", headers={
        "Origin": "https://startup.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "If-None-Match"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in response.headers


def test_read_carries_cors_headers_and_exposes_etag(hub: Hub) -> None:
    response = hub.client.get(f"{PINNED}/records?limit=1",
                              headers={"Origin": "https://startup.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "etag" in response.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-credentials" not in response.headers


def test_preflight_for_a_write_is_refused_by_default(hub: Hub) -> None:
    response = hub.client.options("/v1/requests", headers={
        "Origin": "https://startup.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type"})
    assert "access-control-allow-origin" not in response.headers
    assert response.status_code == 400


@pytest.mark.parametrize(("read", "write", "origin", "method", "allowed"), [
    ("https://map.example.jp", "", "https://map.example.jp", "GET", True),
    ("https://map.example.jp", "", "https://other.example", "GET", False),
    ("*", "https://staff.example.jp", "https://staff.example.jp", "POST", True),
    ("*", "https://staff.example.jp", "https://other.example", "POST", False),
])
def test_cors_origins_are_configurable(hub: Hub, read: str, write: str, origin: str,
                                       method: str, allowed: bool) -> None:
    settings = make_settings(hub.url, cors_origins=read, cors_write_origins=write)
    with TestClient(create_app(settings)) as client:
        response = client.options("/v1/requests", headers={
            "Origin": origin, "Access-Control-Request-Method": method})
    assert (response.headers.get("access-control-allow-origin") == origin) is allowed
    assert "access-control-allow-credentials" not in response.headers
