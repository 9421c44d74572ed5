"""The contribution loop through the real app and database: a resident proposes a new
accessible shop and a correction, a moderator accepts one and rejects one, the accepted one
is published through the one pipeline as version N+1 whose diff shows exactly it, with
provenance and credit; a later city file keeps or drops community rows as declared."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.contrib_hub import ContribHub, assert_problem, new_shop, start_hub
from tests.conftest import create_test_database, drop_test_database


@pytest.fixture(scope="module")
def hub(pg_cluster, tmp_path_factory) -> Iterator[ContribHub]:
    url = create_test_database(pg_cluster)
    yield from start_hub(url, tmp_path_factory.mktemp("loop"), usage_stats=False,
                         webhooks_worker=False)
    drop_test_database(pg_cluster, url)


def test_propose_moderate_publish(hub: ContribHub) -> None:
    new = hub.propose("resident", {**new_shop(), "display_name": "Aiko"})
    assert new.status_code == 201, new.text
    added = new.json()
    assert new.headers["location"].endswith(f"/v1/contributions/{added['id']}")
    assert added["status"] == "pending" and added["record"]["step_free"] is True

    target = hub.shops[4]
    correction = hub.propose("resident2", {
        "kind": "correction", "key": target.shop_id, "changes": {"floors": "３"},
        "comment": "3階建てでした", "licence_consent": True})
    assert correction.status_code == 201, correction.text
    corrected = correction.json()
    assert corrected["changes"] == [{"field": "floors", "old": target.floors, "new": 3}]

    queue = hub.client.get("/v1/contributions?status=pending&dataset=test-shops",
                           headers=hub.as_("moderator"))
    assert queue.status_code == 200, queue.text
    assert {c["id"] for c in queue.json()["contributions"]} == {added["id"], corrected["id"]}

    accept = hub.client.post(f"/v1/contributions/{added['id']}/decision",
                             json={"decision": "accept", "reason": "現地で確認"},
                             headers=hub.as_("moderator"))
    assert accept.status_code == 200, accept.text
    reject = hub.client.post(f"/v1/contributions/{corrected['id']}/decision",
                             json={"decision": "reject", "reason": "写真では2階建て"},
                             headers=hub.as_("moderator"))
    assert reject.json()["status"] == "rejected"
    again = hub.client.post(f"/v1/contributions/{corrected['id']}/decision",
                            json={"decision": "accept", "reason": "x"},
                            headers=hub.as_("moderator"))
    assert_problem(again, 409, "already rejected")

    published = hub.client.post("/v1/datasets/test-shops/contributions/publish",
                                headers=hub.as_("publisher"))
    assert published.status_code == 201, published.text
    outcome = published.json()
    assert outcome["version"] == 2 and outcome["contributions"] == [added["id"]]
    assert outcome["changes"]["added"] == 1 and outcome["changes"]["removed"] == 0
    assert outcome["changes"]["changed"] == 0

    key = f"community-{added['id']}"
    diff = hub.client.get("/v1/datasets/test-shops/diff?from=1&to=2").json()
    print(diff)
