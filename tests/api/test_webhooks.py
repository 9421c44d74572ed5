"""Webhooks through the real app, database and a real receiver on loopback: signed
deliveries verified with the standardwebhooks library, retries after a 500 (and Retry-After),
410 disables, private targets refused at subscription and after a redirect, the outbox
(an event exists iff its transaction committed), replay, and a hanging receiver that never
holds up a publish."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from standardwebhooks import Webhook

from etl.prepare import prepare
from etl.publish import publish
from etl.withdraw import withdraw
from hub.api.app import create_app
from hub.catalog import DatasetDefinition, load_definition
from hub.db.events import emit
from hub.people.scopes import Scope
from hub.webhooks.worker import WebhookWorker
from tests.conftest import create_test_database, drop_test_database, make_settings
from tests.people_hub import issue_key
from tests.shopdata import make_shops, write_csv
from tests.webhook_receiver import Answer, Receiver

ADMIN: dict[str, str] = {}  # filled in by the fixture with a real admin key


@dataclass
class WebhookHub:
    app: FastAPI
    client: TestClient
    engine: Engine
    definition: DatasetDefinition
    folder: Path
    sizes = count(50)

    @property
    def worker(self) -> WebhookWorker:
        return self.app.state.webhook_worker

    def publish(self) -> int | None:
        """A new version of test-shops (each with a different number of shops)."""
        n = next(self.sizes)
        csv = write_csv(self.folder / f"shops-{n}.csv", make_shops(n))
        return publish(self.engine, prepare(self.definition, csv)).version

    def subscribe(self, url: str, events: list[str] | None = None) -> dict:
        response = self.client.post("/v1/webhooks", headers=ADMIN,
                                    json={"url": url, "events": events or ["version.published"]})
        assert response.status_code == 201, response.text
        return response.json()

    def deliveries(self, webhook_id: int) -> list[dict]:
        return self.client.get(f"/v1/webhooks/{webhook_id}/deliveries",
                               headers=ADMIN).json()["deliveries"]

    def unsubscribe_all(self) -> None:
        for hook in self.client.get("/v1/webhooks", headers=ADMIN).json()["webhooks"]:
            self.client.delete(f"/v1/webhooks/{hook['id']}", headers=ADMIN)


@pytest.fixture(scope="module")
def hub(pg_cluster, tmp_path_factory) -> Iterator[WebhookHub]:
    url = create_test_database(pg_cluster)
    folder = tmp_path_factory.mktemp("webhooks")
    # The worker is driven by the tests (run_once) so every step is deterministic; loopback
    # is allowed so the receiver can be reached, nothing else private is.
    settings = make_settings(url, webhooks_worker=False, usage_stats=False,
                             webhooks_allow_private_targets="127.0.0.0/8",
                             webhooks_timeout_s=5, webhooks_backoff_s=30,
                             public_url="https://hub.example.org")
    engine = create_engine(url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    app = create_app(settings)
    app.state.webhook_worker = WebhookWorker(app.state.webhook_store, settings,
                                             settings.public_url or "")
    hub = WebhookHub(app, TestClient(app), engine, definition, folder)
    hub.publish()
    ADMIN["Authorization"] = "Bearer " + staff_token(app, Scope.ADMIN)
    with hub.client:
        yield hub
    hub.worker.stop()
    engine.dispose()
    drop_test_database(pg_cluster, url)


def staff_token(app: FastAPI, *scopes: Scope) -> str:
    return issue_key(app.state.people, "-".join(scopes), *scopes)[1]


@pytest.fixture(autouse=True)
def fresh_subscriptions(hub: WebhookHub) -> Iterator[None]:
    hub.worker.run_once(datetime.now(UTC) + timedelta(days=30))  # drain leftovers
    hub.unsubscribe_all()
    yield


def test_a_publish_is_delivered_signed_and_verifies(hub: WebhookHub) -> None:
    with Receiver() as receiver:
        hook = hub.subscribe(receiver.url)
        assert hook["secret"].startswith("whsec_")
        assert "secret" not in hub.client.get(f"/v1/webhooks/{hook['id']}", headers=ADMIN).json()
        version = hub.publish()
        assert hub.worker.run_once() == 1
    [message] = receiver.received
    payload = Webhook(hook["secret"]).verify(message.body, message.headers)
    assert payload["type"] == "version.published"
    assert payload["data"]["dataset"] == "test-shops"
    assert payload["data"]["version"] == version
    assert payload["data"]["links"]["version"] == (
        f"https://hub.example.org/v1/datasets/test-shops/versions/{version}")
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 44).verify(message.body, message.headers)
    [delivery] = hub.deliveries(hook["id"])
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1
    assert delivery["event_id"] == message.headers["webhook-id"]
    assert delivery["last_status_code"] == 200


def test_a_500_is_retried_after_the_backoff_and_then_delivered(hub: WebhookHub) -> None:
    with Receiver() as receiver:
        receiver.script.extend([Answer(500), Answer(200)])
        hook = hub.subscribe(receiver.url)
        hub.publish()
        now = datetime.now(UTC)
        assert hub.worker.run_once(now) == 1
        [failed] = hub.deliveries(hook["id"])
        assert (failed["status"], failed["attempts"], failed["last_status_code"]) == (
            "pending", 1, 500)
        retry_at = datetime.fromisoformat(failed["next_attempt_at"])
        assert now + timedelta(seconds=24) <= retry_at <= now + timedelta(seconds=36)
        assert hub.worker.run_once(now) == 0  # not due yet
        assert hub.worker.run_once(retry_at) == 1
    [delivered] = hub.deliveries(hook["id"])
    assert (delivered["status"], delivered["attempts"]) == ("delivered", 2)
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    Webhook(hook["secret"]).verify(second.body, second.headers)


def test_retry_after_is_honoured(hub: WebhookHub) -> None:
    with Receiver() as receiver:
        receiver.script.append(Answer(503, {"Retry-After": "7200"}))
        hook = hub.subscribe(receiver.url)
        hub.publish()
        now = datetime.now(UTC)
        hub.worker.run_once(now)
    [delivery] = hub.deliveries(hook["id"])
    assert datetime.fromisoformat(delivery["next_attempt_at"]) >= now + timedelta(seconds=7200)


def test_410_disables_the_endpoint(hub: WebhookHub) -> None:
    with Receiver() as receiver:
        receiver.script.append(Answer(410))
        hook = hub.subscribe(receiver.url)
        hub.publish()
        hub.worker.run_once()
        after = hub.client.get(f"/v1/webhooks/{hook['id']}", headers=ADMIN).json()
        assert after["active"] is False and "410" in after["disabled_reason"]
        hub.publish()
        assert hub.worker.run_once() == 0
    assert len(receiver.received) == 1
    assert len(hub.deliveries(hook["id"])) == 1  # a disabled endpoint gets no new events
    delivery_id = hub.deliveries(hook["id"])[0]["id"]
    refused = hub.client.post(f"/v1/webhooks/{hook['id']}/deliveries/{delivery_id}/replay",
                              headers=ADMIN)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("url", ["http://10.1.2.3/hook", "http://169.254.169.254/latest",
                                 "http://[::1]:8080/hook", "http://192.168.0.10/",
                                 "ftp://example.org/hook", "http://user:pw@127.0.0.1/"])
def test_private_and_odd_targets_are_refused_at_subscription(hub: WebhookHub,
                                                             url: str) -> None:
    response = hub.client.post("/v1/webhooks", headers=ADMIN,
                               json={"url": url, "events": ["version.published"]})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("invalid-webhook")
    assert hub.client.get("/v1/webhooks", headers=ADMIN).json()["webhooks"] == []


def test_a_redirect_to_a_private_address_is_refused(hub: WebhookHub) -> None:
    with Receiver() as receiver:
        receiver.script.append(Answer(307, {"Location": "http://169.254.169.254/latest/"}))
        hook = hub.subscribe(receiver.url)
        hub.publish()
        hub.worker.run_once()
    [delivery] = hub.deliveries(hook["id"])
    assert delivery["status"] == "pending" and delivery["last_status_code"] is None
    assert "refused" in delivery["last_error"] and "169.254.169.254" in delivery["last_error"]
    assert len(receiver.received) == 1


def test_a_redirect_to_an_allowed_target_is_followed_with_the_same_signed_post(
        hub: WebhookHub) -> None:
    with Receiver() as receiver:
        receiver.script.append(Answer(308, {"Location": "/moved"}))
        hook = hub.subscribe(receiver.url)
        hub.publish()
        hub.worker.run_once()
    first, moved = receiver.received
    assert moved.path == "/moved" and moved.body == first.body
    Webhook(hook["secret"]).verify(moved.body, moved.headers)
    assert hub.deliveries(hook["id"])[0]["status"] == "delivered"


def test_unknown_events_and_missing_keys_are_refused(hub: WebhookHub) -> None:
    unknown = hub.client.post("/v1/webhooks", headers=ADMIN,
                              json={"url": "http://127.0.0.1:9/h", "events": ["version.eaten"]})
    assert unknown.status_code == 400 and "version.eaten" in unknown.json()["detail"]
    anonymous = hub.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h",
                                                      "events": ["version.published"]})
    assert anonymous.status_code == 401
    assert hub.client.get("/v1/webhooks").status_code == 401
    publisher = {"Authorization": "Bearer " + staff_token(hub.app, Scope.PUBLISH)}
    forbidden = hub.client.post("/v1/webhooks", headers=publisher,
                                json={"url": "http://127.0.0.1:9/h",
                                      "events": ["version.published"]})
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"
    assert hub.client.get("/v1/webhooks", headers=publisher).status_code == 403


def test_every_webhook_write_is_audited(hub: WebhookHub) -> None:
    with Receiver() as receiver:
        hook = hub.subscribe(receiver.url)
        hub.publish()
        hub.worker.run_once()
        [delivery] = hub.deliveries(hook["id"])
        hub.client.post(f"/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/replay",
                        headers=ADMIN)
        assert hub.client.delete(f"/v1/webhooks/{hook['id']}", headers=ADMIN).status_code == 204
    assert hub.client.get(f"/v1/webhooks/{hook['id']}", headers=ADMIN).status_code == 404
    entries = hub.client.get("/v1/audit", headers=ADMIN, params={"limit": 1000}).json()["entries"]
    mine = [(e["action"], e["object_id"]) for e in entries
            if e["action"].startswith("webhook.")]
    assert ("webhook.create", str(hook["id"])) in mine
    assert ("webhook.delete", str(hook["id"])) in mine
    assert any(action == "webhook.replay" for action, _ in mine)


def test_withdrawal_is_announced(hub: WebhookHub) -> None:
    with Receiver() as receiver:
        hook = hub.subscribe(receiver.url, ["version.withdrawn"])
        version = hub.publish()
        assert version is not None
        withdraw(hub.engine, "test-shops", version, "wrong coordinates")
        assert hub.worker.run_once() == 1
    [message] = receiver.received
    payload = Webhook(hook["secret"]).verify(message.body, message.headers)
    assert payload["type"] == "version.withdrawn"
    assert (payload["data"]["version"], payload["data"]["reason"]) == (
        version, "wrong coordinates")


def test_an_event_exists_only_if_its_transaction_commits(hub: WebhookHub) -> None:
    with Receiver() as receiver:
        hook = hub.subscribe(receiver.url, ["request.status_changed"])
        with pytest.raises(RuntimeError), hub.engine.begin() as conn:
            emit(conn, "request.status_changed", {"request": 1, "status": "planned"})
            raise RuntimeError("the change failed")
        assert hub.deliveries(hook["id"]) == []
        with hub.engine.begin() as conn:
            event_id = emit(conn, "request.status_changed", {"request": 2, "status": "planned"})
        assert hub.worker.run_once() == 1
    assert [m.headers["webhook-id"] for m in receiver.received] == [event_id]
    with pytest.raises(ValueError, match="unknown event type"), hub.engine.begin() as conn:
        emit(conn, "request.eaten", {})


def test_replay_sends_the_same_message_again(hub: WebhookHub) -> None:
    with Receiver() as receiver:
        hook = hub.subscribe(receiver.url)
        hub.publish()
        hub.worker.run_once()
        [delivery] = hub.deliveries(hook["id"])
        replayed = hub.client.post(
            f"/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/replay", headers=ADMIN)
        assert replayed.status_code == 202
        assert replayed.json()["status"] == "pending"
        assert hub.worker.run_once() == 1
    assert [m.headers["webhook-id"] for m in receiver.received] == [delivery["event_id"]] * 2
    assert [d["status"] for d in hub.deliveries(hook["id"])] == ["delivered", "delivered"]
    missing = hub.client.post(f"/v1/webhooks/{hook['id']}/deliveries/999999/replay",
                              headers=ADMIN)
    assert missing.status_code == 404


def test_a_hanging_receiver_never_holds_up_a_publish(hub: WebhookHub) -> None:
    with Receiver() as receiver:
        receiver.script.append(Answer(200, hang=True))
        hub.subscribe(receiver.url)
        hub.publish()
        sender = threading.Thread(target=hub.worker.run_once)
        sender.start()
        assert receiver.arrived.wait(60)  # the worker is now stuck on the receiver
        version = hub.publish()  # returns while the receiver still hangs
        assert version is not None and sender.is_alive()
        with hub.engine.connect() as conn:
            queued = conn.execute(text(
                "SELECT count(*) FROM hub.webhook_deliveries d JOIN hub.webhook_events e "
                "ON e.id = d.event_id WHERE e.payload->>'version' = :v"),
                {"v": str(version)}).scalar()
        assert queued == 1
        receiver.released.set()
        sender.join()


def test_openapi_documents_every_new_error(hub: WebhookHub) -> None:
    spec = hub.client.get("/openapi.json").json()["paths"]
    expected = {
        ("/v1/webhooks", "post"): {"400", "401", "403"},
        ("/v1/webhooks", "get"): {"401", "403"},
        ("/v1/webhooks/{webhook_id}", "delete"): {"401", "403", "404"},
        ("/v1/webhooks/{webhook_id}/deliveries", "get"): {"401", "403", "404"},
        ("/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay", "post"): {
            "401", "403", "404", "409"},
        ("/v1/stats", "get"): {"401", "403", "404"},
    }
    for (path, method), statuses in expected.items():
        documented = set(spec[path][method]["responses"])
        assert statuses <= documented, (path, method, statuses - documented)
