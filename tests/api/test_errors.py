"""Every error is application/problem+json with a precise detail; nothing reaches a 500."""

from __future__ import annotations

import pytest

from tests.api.conftest import Hub

V1 = "/v1/datasets/test-shops/versions/1/records"


def problem(hub: Hub, url: str, status: int, params=None, headers=None) -> dict:
    response = hub.client.get(url, params=params, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("/v1/datasets/no-such-thing", "dataset 'no-such-thing' does not exist"),
        ("/v1/datasets/no-such-thing/records", "dataset 'no-such-thing' does not exist"),
        ("/v1/datasets/test-shops/versions/99/records", "has no version 99"),
        ("/v1/datasets/test-shops/versions/99", "has no version 99"),
        ("/v1/nothing-here", "Not Found"),
    ],
)
def test_not_found(hub: Hub, url: str, fragment: str) -> None:
    assert fragment in problem(hub, url, 404)["detail"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"colour": "red"}, "unknown field 'colour'"),
        ({"name__regex": "x"}, "unknown operator 'regex'"),
        ({"bbox": "1,2"}, "minLon,minLat,maxLon,maxLat"),
        ({"within": "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))"}, "not a valid geometry"),
        ({"near": "35.6,139.7", "radius": "-5"}, "must be more than 0"),
        ({"near": "35.6,139.7", "radius": "99999"}, "at most 5000"),
        ({"cursor": "garbage"}, "malformed"),
        ({"f": "xml"}, "unknown format"),
        ({"sort": "1; DROP TABLE x"}, "unknown field"),
        ({"floors": "1 OR 1=1"}, "not a valid integer"),
    ],
)
def test_bad_parameters_are_400(hub: Hub, params: dict, fragment: str) -> None:
    assert fragment in problem(hub, V1, 400, params=params)["detail"]


def test_bad_version_reference(hub: Hub) -> None:
    assert "positive integer or 'latest'" in problem(
        hub, "/v1/datasets/test-shops/versions/abc/records", 400)["detail"]


def test_unacceptable_media_type(hub: Hub) -> None:
    assert "cannot produce" in problem(hub, V1, 406, headers={"Accept": "image/png"})["detail"]


@pytest.mark.parametrize(("raised", "kind", "retry_after"), [
    ("query-canceled", "query-timeout", "5"),
    ("pool-timeout", "database-unavailable", "1"),
    ("connection-lost", "database-unavailable", "1"),
])
def test_psycopg_trouble_on_the_async_pool_is_503(raised: str, kind: str,
                                                   retry_after: str) -> None:
    """Reads on the async pool raise psycopg's own errors (not SQLAlchemy's): they get the
    same 503 answers. The errors are raised by a route of a bare app with the hub's problem
    handlers, since a real pool timeout or a cut by-key lookup cannot be provoked on cue."""
    import psycopg
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from psycopg_pool import PoolTimeout

    from hub.api.errors import install_problem_handlers

    errors = {"query-canceled": psycopg.errors.QueryCanceled("canceling statement"),
              "pool-timeout": PoolTimeout("couldn't get a connection after 10.00 sec"),
              "connection-lost": psycopg.OperationalError("server closed the connection")}
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise errors[raised]

    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == retry_after
    assert response.json()["type"].endswith(kind)
