"""etl.ckan.client and etl.ckan.apply at the HTTP edge, against FakeCkanEndpoint: a tiny local
HTTP server that answers CKAN action URLs with scripted responses (5xx, slow, 403, validation
errors). The real CKAN is exercised by tests/integration/test_ckan_push.py."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from etl.ckan.apply import push
from etl.ckan.client import CkanClient, CkanError
from etl.ckan.plan import HubDataset, ResourceSpec
from hub.catalog import Licence

KEY = "secret-token-1234567890"


class FakeCkanEndpoint:
    """Scripted answers per action: a list of (status, body, delay_s) consumed in order; the
    last one repeats. Records every request (action, headers, JSON body). TEST ONLY."""

    def __init__(self) -> None:
        self.script: dict[str, list[tuple[int, Any, float]]] = {}
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self) -> None:
                action = self.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                endpoint.requests.append((action, dict(self.headers), body))
                steps = endpoint.script.get(action) or [(404, {"success": False, "error": {
                    "__type": "Not Found Error", "message": "Not found"}}, 0.0)]
                status, payload, delay = steps.pop(0) if len(steps) > 1 else steps[0]
                if delay:
                    time.sleep(delay)
                data = payload.encode() if isinstance(payload, str) else json.dumps(
                    payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout)

            do_GET = _answer
            do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def calls(self, action: str) -> int:
        return sum(1 for a, _, _ in self.requests if a == action)


def ok(result: Any) -> tuple[int, Any, float]:
    return (200, {"success": True, "result": result}, 0.0)


@pytest.fixture
def fake() -> Iterator[FakeCkanEndpoint]:
    endpoint = FakeCkanEndpoint()
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


def client_for(fake: FakeCkanEndpoint, **options: Any) -> tuple[CkanClient, list[float]]:
    sleeps: list[float] = []
    options.setdefault("retries", 3)
    client = CkanClient(fake.url, SecretStr(KEY), sleep=sleeps.append, **options)
    return client, sleeps


def test_5xx_is_retried_with_bounded_exponential_backoff(fake: FakeCkanEndpoint) -> None:
    fake.script["status_show"] = [(503, "<html>busy</html>", 0.0)] * 3 + [ok({"ckan": "2.11"})]
    client, sleeps = client_for(fake, backoff_s=0.5, max_backoff_s=1.5)
    assert client.call("status_show") == {"ckan": "2.11"}
    assert sleeps == [0.5, 1.0, 1.5]
    assert client.stats.retries == 3 and fake.calls("status_show") == 4


def test_retries_are_bounded(fake: FakeCkanEndpoint) -> None:
    fake.script["package_show"] = [(500, "oops", 0.0)]
    client, sleeps = client_for(fake, retries=2)
    with pytest.raises(CkanError) as info:
        client.call("package_show", id="x")
    assert info.value.kind == "server" and info.value.status == 500
    assert len(sleeps) == 2 and fake.calls("package_show") == 3


def test_timeouts_are_retried_then_reported(fake: FakeCkanEndpoint) -> None:
    fake.script["package_show"] = [(200, {"success": True, "result": {}}, 1.0)]
    client, sleeps = client_for(fake, retries=1, timeout_s=0.2)
    with pytest.raises(CkanError) as info:
        client.call("package_show", id="x")
    assert info.value.kind == "timeout" and info.value.transient
    assert len(sleeps) == 1


def test_auth_and_validation_errors_are_not_retried(fake: FakeCkanEndpoint) -> None:
    fake.script["package_create"] = [(403, {"success": False, "error": {
        "__type": "Authorization Error", "message": f"Access denied for key {KEY}"}}, 0.0)]
    fake.script["package_update"] = [(409, {"success": False, "error": {
        "__type": "Validation Error", "name": ["That URL is already in use."]}}, 0.0)]
    client, sleeps = client_for(fake)
    with pytest.raises(CkanError) as auth:
        client.call("package_create", name="x")
    assert auth.value.kind == "auth" and KEY not in str(auth.value)
    with pytest.raises(CkanError) as invalid:
        client.call("package_update", name="x")
    assert invalid.value.kind == "validation"
    assert "name: That URL is already in use." in str(invalid.value)
    assert sleeps == []


def test_the_key_travels_only_in_the_authorization_header(fake: FakeCkanEndpoint) -> None:
    fake.script["package_create"] = [ok({"id": "1"})]
    client, _ = client_for(fake)
    client.call("package_create", name="x", title="t")
    _, headers, body = fake.requests[-1]
    assert headers.get("Authorization") == KEY
    assert KEY not in json.dumps(body)
    assert KEY not in repr(client.api_key)


def _dataset(dataset_id: str) -> HubDataset:
    return HubDataset(dataset_id, "題", "Title", "", "", "Test City", Licence("CC-BY-4.0"),
                      ("a1",), 1, "sha", f"http://hub.test/v1/datasets/{dataset_id}",
                      (ResourceSpec("f.csv", f"http://hub.test/{dataset_id}.csv", "CSV"),))


def test_one_failing_dataset_does_not_stop_the_others(fake: FakeCkanEndpoint) -> None:
    fake.script["organization_show"] = [ok({"id": "o1", "name": "test-city", "state": "active",
                                            "title": "Test City"})]
    fake.script["package_search"] = [ok({"count": 0, "results": []})]
    fake.script["package_create"] = [
        (502, "bad gateway", 0.0), (502, "bad gateway", 0.0),  # first dataset: 5xx, retried
        (409, {"success": False, "error": {"__type": "Validation Error",
                                           "tags": ["Tag too long"]}}, 0.0),
        ok({"id": "p3"}),
    ]
    client, _ = client_for(fake, retries=1)
    report = push(client, [_dataset("aa"), _dataset("bb"), _dataset("cc")],
                  hub_base_url="http://hub.test")
    statuses = {i.name: (i.status, i.error_kind) for i in report.packages}
    assert statuses == {"aa": ("failed", "server"), "bb": ("failed", "validation"),
                        "cc": ("ok", None)}
    assert "Tag too long" in next(i.message for i in report.packages if i.name == "bb")
    assert not report.ok


def test_dry_run_makes_no_write_call(fake: FakeCkanEndpoint) -> None:
    fake.script["package_search"] = [ok({"count": 0, "results": []})]
    client, _ = client_for(fake)
    report = push(client, [_dataset("aa")], dry_run=True, hub_base_url="http://hub.test")
    assert [(i.kind, i.action, i.status) for i in report.items] == [
        ("organisation", "create", "planned"), ("package", "create", "planned")]
    assert client.stats.writes == 0
    assert {a for a, _, _ in fake.requests} == {"organization_show", "package_show",
                                                "package_search"}
