"""Contributions refused on arrival (each case its own test, problem+json checked, nothing
stored), normalised exactly as the CSV path normalises, the near-duplicate guard, who may do
what, and the ``contribution.decided`` webhook received by a real loopback receiver."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

import pytest
from standardwebhooks import Webhook

from etl.prepare import prepare
from hub.people.scopes import Scope
from hub.webhooks.worker import WebhookWorker
from tests.api.contrib_hub import ContribHub, assert_problem, new_shop, start_hub
from tests.conftest import create_test_database, drop_test_database
from tests.webhook_receiver import Receiver

PENDING_PER_KEY = 3


@pytest.fixture(scope="module")
def hub(pg_cluster, tmp_path_factory) -> Iterator[ContribHub]:
    url = create_test_database(pg_cluster)
    yield from start_hub(url, tmp_path_factory.mktemp("refusals"), usage_stats=False,
                         webhooks_worker=False, webhooks_allow_private_targets="127.0.0.0/8",
                         contributions_pending_per_key=PENDING_PER_KEY,
                         cocreation_max_body_bytes=4096)
    drop_test_database(pg_cluster, url)


def stored(hub: ContribHub) -> tuple[int, int]:
    return (hub.scalar("SELECT count(*) FROM hub.contributions"),
            hub.scalar("SELECT count(*) FROM hub.audit_log"))


def refused(hub: ContribHub, who: str, body: Any, status: int = 422) -> dict[str, Any]:
    before = stored(hub)
    answer = assert_problem(hub.propose(who, body), status)
    assert stored(hub) == before, "a refused contribution stored something"
    return answer


def rules(answer: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["field"], e["rule"]) for e in answer["errors"]}


def csv_path_record(hub: ContribHub, cells: dict[str, str]) -> tuple[dict[str, Any], list]:
    """The same cells as a one-row CSV through the file path (etl.prepare.prepare)."""
    path = hub.folder / "same-values.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(cells))
        writer.writerow(list(cells.values()))
    prepared = prepare(hub.definition, path)
    assert not prepared.report.errors, prepared.report.errors
    row = prepared.frame.iloc[0].to_dict()
    clean = {k: (None if v is None or (not isinstance(v, str) and v != v) else v)
             for k, v in row.items()}
    return clean, [w.rule for w in prepared.report.warnings]


def test_values_are_normalised_exactly_as_the_csv_path_does(hub: ContribHub) -> None:
    messy = {"name": "ＡＢＣ薬局", "category": "薬局", "floors": "１２", "step_free": "○",
             "opened": "令和2年4月1日"}
    answer = hub.propose("resident", {**new_shop(**messy), "feature": {
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [139.70, 35.661]},
        "properties": {"shop_id": "X1", **messy}}})
    assert answer.status_code == 201, answer.text
    record = answer.json()["record"]
    from_csv, _ = csv_path_record(hub, {"shop_id": "X1", **messy, "latitude": "35.661",
                                        "longitude": "139.70"})
    assert record == {k: (bool(v) if k == "step_free" else
                          int(v) if k == "floors" else
                          float(v) if k in ("latitude", "longitude") else v)
                      for k, v in from_csv.items()}
    assert record["step_free"] is True and record["floors"] == 12
    assert record["name"] == "ABC薬局" and record["opened"] == "2020-04-01"


def test_swapped_coordinates_are_fixed_with_the_csv_warning(hub: ContribHub) -> None:
    answer = hub.propose("resident2", new_shop("入れ替え書店", lon=35.6612, lat=139.7001))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["geometry"]["coordinates"] == [139.7001, 35.6612]
    _, csv_warnings = csv_path_record(hub, {"shop_id": "X2", "name": "入れ替え書店",
                                            "latitude": "139.7001", "longitude": "35.6612"})
    swapped = [rule for rule in csv_warnings if rule != "missing-column"]
    assert [w["rule"] for w in body["warnings"]] == swapped == ["swapped-coordinates"]


def test_invalid_values_are_refused_listing_each_field_and_rule(hub: ContribHub) -> None:
    answer = refused(hub, "resident", new_shop(floors="たくさん", step_free="たぶん"))
    assert rules(answer) == {("feature.properties.floors", "type:integer"),
                             ("feature.properties.step_free", "type:boolean")}
    assert answer["type"].endswith("invalid-contribution")


def test_unusable_coordinates_are_refused(hub: ContribHub) -> None:
    answer = refused(hub, "resident", new_shop(lon=500.0, lat=95.0))
    assert ("feature.properties.latitude", "coordinates") in rules(answer)


def test_outside_japan_is_refused(hub: ContribHub) -> None:
    answer = refused(hub, "resident", new_shop("Café de Paris", lon=2.35, lat=48.85))
    assert rules(answer) == {("feature.geometry", "inside-japan")}


def test_an_invalid_geometry_is_refused(hub: ContribHub) -> None:
    body = new_shop()
    body["feature"]["geometry"] = {"type": "Polygon",
                                   "coordinates": [[[139.7, 35.6], [139.71, 35.61],
                                                    [139.7, 35.61], [139.71, 35.6],
                                                    [139.7, 35.6]]]}
    assert rules(refused(hub, "resident", body)) == {("feature.geometry", "valid-geometry")}


def test_missing_licence_consent_is_refused(hub: ContribHub) -> None:
    body = new_shop()
    del body["licence_consent"]
    assert rules(refused(hub, "resident", body)) == {("licence_consent", "licence-consent")}
    body["licence_consent"] = "yes"
    assert rules(refused(hub, "resident", body)) == {("licence_consent", "licence-consent")}


def test_script_in_text_is_refused(hub: ContribHub) -> None:
    body = {**new_shop(), "comment": "nice <script>alert(1)</script>"}
    assert rules(refused(hub, "resident", body)) == {("comment", "text")}
    body = new_shop(name="<SCRIPT src=x>")
    assert rules(refused(hub, "resident", body)) == {("feature.properties.name", "text")}


def test_unknown_key_for_a_correction_is_refused(hub: ContribHub) -> None:
    body = {"kind": "correction", "key": "NO-SUCH-SHOP", "changes": {"floors": 2},
            "comment": "階数", "licence_consent": True}
    answer = refused(hub, "resident", body)
    assert rules(answer) == {("key", "unknown-key")}
    assert "NO-SUCH-SHOP" in answer["detail"]


def test_a_correction_that_changes_nothing_is_refused(hub: ContribHub) -> None:
    shop = hub.shops[1]
    body = {"kind": "correction", "key": shop.shop_id, "changes": {"name": shop.name},
            "comment": "同じ", "licence_consent": True}
    assert rules(refused(hub, "resident", body)) == {("changes", "no-change")}


def test_unknown_fields_are_refused(hub: ContribHub) -> None:
    assert rules(refused(hub, "resident", {**new_shop(), "extra": 1})) == {
        ("extra", "unknown-field")}
    assert rules(refused(hub, "resident", new_shop(colour="red"))) == {
        ("feature.properties.colour", "unknown-field")}


def test_an_oversized_body_is_refused(hub: ContribHub) -> None:
    body = {**new_shop(), "comment": "あ" * 3000}
    answer = refused(hub, "resident", body, status=413)
    assert "at most 4096" in answer["detail"]


def test_a_key_of_other_datasets_is_forbidden(hub: ContribHub) -> None:
    answer = refused(hub, "elsewhere", new_shop(), status=403)
    assert "kobe-aed" in answer["detail"]


def test_no_key_is_401_and_wrong_scopes_are_403(hub: ContribHub) -> None:
    before = stored(hub)
    no_key = hub.client.post("/v1/datasets/test-shops/contributions", json=new_shop())
    assert_problem(no_key, 401)
    assert no_key.headers["www-authenticate"].startswith("Bearer")
    assert_problem(hub.client.get("/v1/contributions", headers=hub.as_("resident")), 403)
    assert_problem(hub.client.post("/v1/contributions/1/decision", json={
        "decision": "accept", "reason": "x"}, headers=hub.as_("resident")), 403)
    assert_problem(hub.client.post("/v1/datasets/test-shops/contributions/publish",
                                   headers=hub.as_("moderator")), 403)
    assert_problem(hub.client.get("/v1/me/contributions"), 401)
    assert stored(hub) == before


def test_near_duplicates_are_flagged_with_candidates(hub: ContribHub) -> None:
    shop = hub.shops[7]
    near = hub.propose("resident2", {**new_shop(shop.name, lon=shop.lon + 0.0001,
                                                lat=shop.lat), "comment": "見つけた"})
    assert near.status_code == 201, near.text
    [candidate] = near.json()["duplicates"]
    assert candidate["kind"] == "record" and candidate["key"] == shop.shop_id
    assert candidate["metres"] < 30
    again = hub.propose("admin", new_shop(shop.name, lon=shop.lon + 0.0001, lat=shop.lat))
    kinds = {(c["kind"], c.get("key") or c.get("contribution"))
             for c in again.json()["duplicates"]}
    assert kinds == {("record", shop.shop_id), ("contribution", near.json()["id"])}
    far = hub.propose("admin", new_shop(shop.name, lon=shop.lon + 0.001, lat=shop.lat))
    assert far.json()["duplicates"] == []  # ~90 m away
    other_name = hub.propose("admin", new_shop("全く別の名前の店", lon=shop.lon,
                                               lat=shop.lat + 0.00005))
    assert other_name.json()["duplicates"] == []


def test_too_many_pending_per_key_is_refused(hub: ContribHub) -> None:
    hub.issue("flooder", Scope.CONTRIBUTE)
    for i in range(PENDING_PER_KEY):
        ok = hub.propose("flooder", new_shop(f"店{i}", lon=139.69 + i * 0.002, lat=35.64))
        assert ok.status_code == 201, ok.text
    answer = refused(hub, "flooder", new_shop("もう一つ", lon=139.68, lat=35.64), status=429)
    assert answer["type"].endswith("too-many-pending")


def test_decision_is_audited_and_announced_by_webhook(hub: ContribHub) -> None:
    app = hub.client.app
    worker = WebhookWorker(app.state.webhook_store, hub.settings, "https://hub.example.org")
    proposal = hub.propose("resident", {
        "kind": "removal", "key": hub.shops[2].shop_id, "reason": "閉店しました",
        "comment": "2026年11月に閉店", "licence_consent": True}).json()
    with Receiver() as receiver:
        hook = hub.client.post("/v1/webhooks", headers=hub.as_("admin"), json={
            "url": receiver.url, "events": ["contribution.decided"]}).json()
        decided = hub.client.post(f"/v1/contributions/{proposal['id']}/decision",
                                  json={"decision": "reject", "reason": "営業中でした"},
                                  headers=hub.as_("moderator"))
        assert decided.status_code == 200, decided.text
        assert worker.run_once() == 1
    [message] = receiver.received
    payload = Webhook(hook["secret"]).verify(message.body, message.headers)
    assert payload["type"] == "contribution.decided"
    assert payload["data"]["contribution"] == proposal["id"]
    assert payload["data"]["decision"] == "rejected"
    assert payload["data"]["links"]["contribution"].endswith(
        f"/v1/contributions/{proposal['id']}")
    [entry] = hub.audit("contribution.decide", str(proposal["id"]))
    assert entry["actor"] == f"key:{hub.key_ids['moderator']}"
    assert entry["detail"]["decision"] == "rejected"
    assert entry["detail"]["reason"] == "営業中でした"


def test_a_decision_needs_a_reason(hub: ContribHub) -> None:
    proposal = hub.propose("resident2", new_shop("理由テスト", lon=139.72, lat=35.67)).json()
    answer = assert_problem(hub.client.post(
        f"/v1/contributions/{proposal['id']}/decision", json={"decision": "accept"},
        headers=hub.as_("moderator")), 422, "reason")
    assert answer["field"] == "reason"
    assert hub.client.get(f"/v1/contributions/{proposal['id']}",
                          headers=hub.as_("moderator")).json()["status"] == "pending"


def test_a_gis_tool_posts_a_feature_to_the_ogc_collection(hub: ContribHub) -> None:
    hub.issue("qgis", Scope.CONTRIBUTE)
    feature = new_shop("QGISから来た店", lon=139.705, lat=35.650)["feature"]
    refused_ = assert_problem(hub.client.post(
        "/ogc/collections/test-shops/items", content=json.dumps(feature),
        headers={**hub.as_("qgis"), "Content-Type": "application/geo+json"}), 422)
    assert refused_["errors"][0]["rule"] == "licence-consent"
    answer = hub.client.post(
        "/ogc/collections/test-shops/items?licence_consent=true&comment=現地で確認",
        content=json.dumps(feature),
        headers={**hub.as_("qgis"), "Content-Type": "application/geo+json"})
    assert answer.status_code == 202, answer.text
    created = answer.json()
    assert answer.headers["location"].endswith(f"/v1/contributions/{created['id']}")
    assert created["status"] == "pending" and created["record"]["step_free"] is True
    assert created["comment"] == "現地で確認"
    pinned = hub.client.post("/ogc/collections/test-shops@v1/items?licence_consent=true",
                             content=json.dumps(feature),
                             headers={**hub.as_("qgis"),
                                      "Content-Type": "application/geo+json"})
    assert_problem(pinned, 422, "current collection")
    conformance = hub.client.get("/ogc/conformance").json()["conformsTo"]
    assert not any("part4" in c or "create-replace-delete" in c for c in conformance)
