"""Hostile requests through the real app: each gets a clear 4xx problem, bounded work, and
nothing stored (no version, no upload left on disk)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from hub.data.people import People as PeopleStore
from hub.people.scopes import Scope
from tests.api.cocreation_hub import assert_problem
from tests.conftest import make_settings
from tests.e2e.live_hub import running_hub
from tests.hostile.test_read_bounds import _entity_bomb_xlsx
from tests.people_hub import People, ServeHub, bearer, issue_key

VERSIONS = "/v1/datasets/test-shops/versions"


@pytest.fixture
def hub(db_url: str, serve_hub: ServeHub) -> People:
    return serve_hub(make_settings(db_url, max_upload_mb=1, read_max_columns=100))


@pytest.fixture
def publisher(hub: People) -> str:
    return hub.issue("uploads", Scope.PUBLISH, datasets={"test-shops"})[1]


def post_file(hub: People, token: str, name: str, data: bytes) -> object:
    return hub.client.post(VERSIONS, headers=bearer(token),
                           files={"file": (name, data, "application/octet-stream")})


def nothing_stored(hub: People) -> None:
    assert hub.scalar("SELECT count(*) FROM hub.versions WHERE dataset_id = 'test-shops'") == 0
    uploads = hub.settings.data_dir / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_too_many_columns_is_422_naming_the_setting(hub: People, publisher: str) -> None:
    wide = ",".join(f"c{i}" for i in range(5000)).encode() + b"\n" + b"1," * 4999 + b"1\n"
    body = assert_problem(post_file(hub, publisher, "wide.csv", wide), 422, "HUB_READ_MAX_COLUMNS")
    assert "line 1 has 5,000 columns" in body["detail"]
    nothing_stored(hub)


def test_unclosed_quote_is_422_naming_its_line(hub: People, publisher: str) -> None:
    data = "名称,住所\nA,x\nB,\"open\nC,y\n".encode()
    assert_problem(post_file(hub, publisher, "quote.csv", data), 422, "line 3: a quote")
    nothing_stored(hub)


def test_xlsx_entity_bomb_is_422(hub: People, publisher: str, tmp_path: Path) -> None:
    bomb = _entity_bomb_xlsx(tmp_path / "bomb.xlsx", "xl/worksheets/sheet1.xml")
    assert_problem(post_file(hub, publisher, "bomb.xlsx", bomb.read_bytes()), 422, "bomb.xlsx")
    nothing_stored(hub)


def test_oversized_multipart_is_413_before_it_is_read(hub: People, publisher: str) -> None:
    big = b"a,b\n" + b"1,2\n" * (600 * 1024)  # 2.4 MB against a 1 MiB cap
    assert_problem(post_file(hub, publisher, "big.csv", big), 413, "HUB_MAX_UPLOAD_MB")
    nothing_stored(hub)


@pytest.fixture(scope="module")
def live_data(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile-data")


@pytest.fixture(scope="module")
def live(pg_cluster, tmp_path_factory, live_data: Path):
    with running_hub(pg_cluster, tmp_path_factory.mktemp("hostile"), datasets=(),
                     body_idle_timeout_s=1.0, data_dir=live_data) as hub:
        yield hub


def _raw_post(url: str, path: str, headers: dict[str, str], first_bytes: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode() + first_bytes)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_a_body_that_stops_arriving_is_408_and_stores_nothing(live, tmp_path: Path) -> None:
    """Headers and a first part of the body, then silence: the hub answers 408 by itself
    (the client never closes), instead of holding the request open for ever."""
    started = time.monotonic()
    answer = _raw_post(live.url, "/v1/requests", {
        "Content-Type": "application/json", "Content-Length": "5000",
        "Authorization": "Bearer hub_not_checked_before_the_body"}, b'{"title": "')
    assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
    assert b"application/problem+json" in answer
    assert b"HUB_BODY_IDLE_TIMEOUT_S" in answer
    assert time.monotonic() - started < 25  # answered by the timeout, not the socket's


def test_an_upload_that_stops_arriving_is_408_and_leaves_no_file(live, live_data: Path) -> None:
    engine = create_engine(live.database_url)
    _id, token = issue_key(PeopleStore(engine), "slow", Scope.PUBLISH)
    versions_before = _versions(engine)
    boundary = "hubboundary"
    first = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
             f"filename=\"shops.csv\"\r\nContent-Type: text/csv\r\n\r\n名称,住所\nA,x\n").encode()
    answer = _raw_post(live.url, VERSIONS, {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": "100000", "Authorization": f"Bearer {token}"}, first)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
    time.sleep(0.5)  # the route's clean-up runs after the answer
    uploads = live_data / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())
    assert _versions(engine) == versions_before
    engine.dispose()


def _versions(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM hub.versions")).scalar_one()
