"""``request.status_changed`` and ``showcase.decided`` reach a real receiver on loopback,
signed, naming the requester and followers; a refused move announces nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from standardwebhooks import Webhook

from hub.people.scopes import KeyKind, Scope
from hub.webhooks.worker import WebhookWorker
from tests.api.cocreation_hub import CoHub, request_body, start_hub
from tests.conftest import create_test_database, drop_test_database
from tests.webhook_receiver import Receiver


@pytest.fixture(scope="module")
def hub(pg_cluster, tmp_path_factory) -> Iterator[CoHub]:
    url = create_test_database(pg_cluster)
    # The worker is driven by the test (run_once); loopback is allowed for the receiver.
    for cohub in start_hub(url, tmp_path_factory.mktemp("shops"), webhooks_worker=False,
                           usage_stats=False, webhooks_allow_private_targets="127.0.0.0/8",
                           public_url="https://hub.example.org"):
        app = cohub.client.app
        app.state.webhook_worker = WebhookWorker(app.state.webhook_store, cohub.settings,
                                                 "https://hub.example.org")
        cohub.issue("admin", Scope.ADMIN, kind=KeyKind.STAFF)
        yield cohub
        app.state.webhook_worker.stop()
    drop_test_database(pg_cluster, url)


def test_status_change_is_delivered_to_the_requester_and_followers(hub: CoHub) -> None:
    worker = hub.client.app.state.webhook_worker
    with Receiver() as receiver:
        hook = hub.client.post("/v1/webhooks", headers=hub.as_("admin"), json={
            "url": receiver.url, "events": ["request.status_changed", "showcase.decided"]})
        assert hook.status_code == 201, hook.text
        secret = hook.json()["secret"]
        rid = hub.client.post("/v1/requests", json=request_body(), headers=hub.as_("voter1")
                              ).json()["id"]
        hub.client.post(f"/v1/requests/{rid}/followers", headers=hub.as_("voter2"))
        refused = hub.client.post(f"/v1/requests/{rid}/status", headers=hub.as_("staff"),
                                  json={"status": "planned", "note": "no date"})
        assert refused.status_code == 422
        assert worker.run_once() == 0  # a refused move announces nothing
        moved = hub.client.post(f"/v1/requests/{rid}/status", headers=hub.as_("staff"),
                                json={"status": "under-review", "note": "確認中"})
        assert moved.status_code == 200, moved.text
        sid = hub.client.post("/v1/showcases", headers=hub.as_("startup"), json={
            "title": "地図", "url": "https://example.jp", "kind": "app", "description": "d",
            "datasets": [{"dataset": "test-shops", "version": 1}]}).json()["id"]
        hub.client.post(f"/v1/showcases/{sid}/decision", headers=hub.as_("staff"),
                        json={"decision": "approve"})
        assert worker.run_once() == 2
    status_message, showcase_message = receiver.received
    status = Webhook(secret).verify(status_message.body, status_message.headers)
    assert status["type"] == "request.status_changed"
    data = status["data"]
    assert (data["request"], data["status"], data["previous_status"]) == (
        rid, "under-review", "open")
    assert data["requester"] == hub.key_ids["voter1"]
    assert data["notify"] == sorted([hub.key_ids["voter1"], hub.key_ids["voter2"]])
    assert data["links"]["request"] == f"https://hub.example.org/v1/requests/{rid}"
    decided = Webhook(secret).verify(showcase_message.body, showcase_message.headers)
    assert decided["type"] == "showcase.decided"
    assert decided["data"]["showcase"] == sid and decided["data"]["decision"] == "approve"
