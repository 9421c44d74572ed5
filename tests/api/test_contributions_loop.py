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
    diff = hub.client.get("/v1/datasets/test-shops/versions/1/diff/2").json()
    assert diff["summary"] == {"added": 1, "removed": 0, "changed": 0}
    [change] = diff["changes"]
    assert change["key"] == {"shop_id": key} and change["change"] == "added"
    assert change["provenance"] == {"source": "community", "contributions": [added["id"]],
                                    "contributors": ["Aiko"]}
    assert change["record"]["step_free"] is True

    version = hub.client.get("/v1/datasets/test-shops/versions/2").json()
    assert version["provenance"]["contributors"] == ["Aiko"]
    assert version["provenance"]["published_contributions"] == [added["id"]]
    citation = version["citation"]
    assert "With community contributions by Aiko" in citation["text"]
    assert {"name": "Aiko"} in citation["cff"]["authors"] and "Aiko" in citation["bibtex"]
    provenance = hub.client.get("/v1/datasets/test-shops/versions/2/provenance").json()
    assert provenance["default_source"] == "city" and list(provenance["records"]) == [key]

    record = hub.client.get(f"/v1/datasets/test-shops/records/{key}").json()
    assert record["name"] == "バリアフリー喫茶" and record["step_free"] is True, record

    states = {c["id"]: c for c in hub.client.get(
        "/v1/me/contributions", headers=hub.as_("resident")).json()["contributions"]}
    assert states[added["id"]]["status"] == "published"
    assert states[added["id"]]["published_version"] == 2
    rejected = hub.client.get(f"/v1/contributions/{corrected['id']}",
                              headers=hub.as_("resident2")).json()
    assert rejected["decision"]["reason"] == "写真では2階建て"

    nothing = hub.client.post("/v1/datasets/test-shops/contributions/publish",
                              headers=hub.as_("publisher"))
    assert_problem(nothing, 409, "no accepted contributions")
    actions = [(r["action"], r["object_id"], r["result"]) for r in hub.rows(
        "SELECT action, object_id, result FROM hub.audit_log "
        "WHERE action LIKE 'contribution.%' OR detail ? 'contributions' "
        "ORDER BY id")]
    assert actions == [
        ("contribution.create", str(added["id"]), "ok"),
        ("contribution.create", str(corrected["id"]), "ok"),
        ("contribution.decide", str(added["id"]), "ok"),
        ("contribution.decide", str(corrected["id"]), "ok"),
        ("version.publish", "test-shops/2", "ok"),
        ("version.publish", "test-shops", "failed"),  # nothing accepted: 409
    ]
