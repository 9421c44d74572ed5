"""Showcases and reports through the real app and PostGIS."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

import pytest
from PIL import Image

from tests.api.cocreation_hub import CoHub, assert_problem, request_body, start_hub
from tests.conftest import create_test_database, drop_test_database


@pytest.fixture(scope="module")
def hub(pg_cluster, tmp_path_factory) -> Iterator[CoHub]:
    url = create_test_database(pg_cluster)
    yield from start_hub(url, tmp_path_factory.mktemp("shops"),
                         cocreation_max_image_bytes=20_000)
    drop_test_database(pg_cluster, url)


def showcase_body(**extra: object) -> dict:
    body = {"title": "バリアフリー店舗マップ", "url": "https://example.jp/map", "kind": "app",
            "description": "車いすで入れる店を地図で探せるアプリ", "authors": ["Startup K.K."],
            "datasets": [{"dataset": "test-shops", "version": 2}]}
    body.update(extra)
    return body


def png(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _submit(hub: CoHub, who: str = "startup", **extra: object) -> dict:
    response = hub.client.post("/v1/showcases", json=showcase_body(**extra),
                               headers=hub.as_(who))
    assert response.status_code == 201, response.text
    return response.json()


def _listed(hub: CoHub) -> list[int]:
    return [s["id"] for s in hub.client.get(
        "/v1/datasets/test-shops/showcases").json()["showcases"]]


def test_showcase_journey_pending_approved_listed_and_linked_to_its_request(hub: CoHub) -> None:
    rid = hub.client.post("/v1/requests", json=request_body("店舗の車いす対応"),
                          headers=hub.as_("voter1")).json()["id"]
    shown = _submit(hub, request=rid)
    sid = shown["id"]
    assert shown["status"] == "pending"
    assert shown["datasets"][0]["dataset"] == "test-shops"
    assert shown["datasets"][0]["version"] == 2
    assert sid not in _listed(hub)
    assert sid not in [s["id"] for s in hub.client.get("/v1/showcases").json()["showcases"]]
    assert_problem(hub.client.get(f"/v1/showcases/{sid}"), 404)  # pending: not public
    assert hub.client.get(f"/v1/showcases/{sid}", headers=hub.as_("startup")).status_code == 200

    image = hub.client.put(f"/v1/showcases/{sid}/image", content=png(),
                           headers={**hub.as_("startup"), "Content-Type": "image/png"})
    assert image.status_code == 200, image.text
    assert image.json()["image"].endswith(f"/v1/showcases/{sid}/image")

    approved = hub.client.post(f"/v1/showcases/{sid}/decision", headers=hub.as_("staff"),
                               json={"decision": "approve"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == "staff"
    assert sid in _listed(hub)
    served = hub.client.get(f"/v1/showcases/{sid}/image")
    assert served.headers["content-type"] == "image/png" and served.content == png()
    # Both ways: the showcase names the request, the request lists the showcase.
    assert hub.client.get(f"/v1/showcases/{sid}").json()["request"] == rid
    assert [s["id"] for s in hub.client.get(f"/v1/requests/{rid}").json()["showcases"]] == [sid]
    again = hub.client.post(f"/v1/showcases/{sid}/decision", headers=hub.as_("staff"),
                            json={"decision": "reject", "reason": "x"})
    assert_problem(again, 409, "already approved")
    assert len(hub.audit("showcase.create", str(sid))) == 1
    assert len(hub.audit("showcase.image", str(sid))) == 1
    assert len(hub.audit("showcase.approve", str(sid))) == 1


def test_rejecting_needs_a_reason_and_is_not_listed(hub: CoHub) -> None:
    sid = _submit(hub, title="広告だけのページ")["id"]
    no_reason = hub.client.post(f"/v1/showcases/{sid}/decision", headers=hub.as_("staff"),
                                json={"decision": "reject"})
    assert_problem(no_reason, 422, "reason")
    rejected = hub.client.post(f"/v1/showcases/{sid}/decision", headers=hub.as_("staff"),
                               json={"decision": "reject", "reason": "データを使っていません"})
    assert rejected.json()["status"] == "rejected"
    mine = hub.client.get(f"/v1/showcases/{sid}", headers=hub.as_("startup")).json()
    assert mine["reason"] == "データを使っていません"
    assert sid not in _listed(hub)
    assert_problem(hub.client.post(f"/v1/showcases/{sid}/decision", headers=hub.as_("voter1"),
                                   json={"decision": "approve"}), 403)
    assert len(hub.audit("showcase.reject", str(sid))) == 1


@pytest.mark.parametrize(("extra", "status", "words"), [
    ({"datasets": [{"dataset": "test-shops", "version": 7}]}, 422, "test-shops version 7"),
    ({"datasets": [{"dataset": "nope", "version": 1}]}, 422, "nope version 1"),
    ({"datasets": []}, 422, ""),
    ({"url": "javascript:alert(1)"}, 422, ""),
    ({"url": "ftp://example.jp/x"}, 422, "http"),
    ({"kind": "poster"}, 422, ""),
    ({"request": 999999}, 422, "no data request"),
    ({"description": "<script>x</script>"}, 422, "<script>"),
])
def test_showcase_refusals_store_nothing(hub: CoHub, extra: dict, status: int,
                                         words: str) -> None:
    before = hub.scalar("SELECT count(*) FROM hub.showcases")
    response = hub.client.post("/v1/showcases", json=showcase_body(**extra),
                               headers=hub.as_("startup"))
    assert_problem(response, status, words)
    assert hub.scalar("SELECT count(*) FROM hub.showcases") == before


def test_images_that_are_not_images_or_too_large_are_refused(hub: CoHub) -> None:
    sid = _submit(hub, title="画像テスト")["id"]
    url, who = f"/v1/showcases/{sid}/image", hub.as_("startup")
    fake = hub.client.put(url, content=b"<svg onload=alert(1)>",
                          headers={**who, "Content-Type": "image/png"})
    assert_problem(fake, 415, "not a readable image")
    truncated = hub.client.put(url, content=png()[:40], headers={**who,
                                                                  "Content-Type": "image/png"})
    assert_problem(truncated, 415)
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    assert_problem(hub.client.put(url, content=gif.getvalue(), headers=who), 415, "GIF")
    noisy = Image.frombytes("RGB", (200, 200), random.Random(1).randbytes(200 * 200 * 3))
    big = io.BytesIO()
    noisy.save(big, format="PNG")
    assert len(big.getvalue()) > 20_000
    assert_problem(hub.client.put(url, content=big.getvalue(), headers=who), 413, "20000")
    other = hub.client.put(url, content=png(), headers=hub.as_("voter1"))
    assert_problem(other, 409, "only the key that submitted")
    assert hub.scalar("SELECT image IS NULL FROM hub.showcases WHERE id = :i", i=sid)
    assert hub.audit("showcase.image", str(sid)) == []


def test_more_than_n_pending_showcases_per_key_is_429(hub: CoHub) -> None:
    from hub.people.scopes import Scope

    hub.issue("prolific", Scope.CONTRIBUTE)
    for n in range(hub.settings.cocreation_pending_per_key):
        _submit(hub, who="prolific", title=f"作品 {n}")
    response = hub.client.post("/v1/showcases", json=showcase_body(),
                               headers=hub.as_("prolific"))
    assert_problem(response, 429, "pending showcases")


def test_an_item_reported_by_three_distinct_keys_is_hidden_until_reviewed(hub: CoHub) -> None:
    rid = hub.client.post("/v1/requests", json=request_body("宣伝です"),
                          headers=hub.as_("startup")).json()["id"]
    report = {"kind": "request", "id": str(rid), "reason": "spam"}
    for who in ("voter1", "voter2", "voter2"):  # a repeat by one key does not count twice
        answer = hub.client.post("/v1/reports", json=report, headers=hub.as_(who))
        assert answer.status_code == 201 and answer.json()["hidden"] is False
    assert hub.client.get(f"/v1/requests/{rid}").status_code == 200
    third = hub.client.post("/v1/reports", json=report, headers=hub.as_("voter3"))
    assert third.json()["hidden"] is True
    assert_problem(hub.client.get(f"/v1/requests/{rid}"), 404)
    assert rid not in [r["id"] for r in hub.client.get(
        "/v1/requests", params={"limit": 100}).json()["requests"]]
    queue = hub.client.get("/v1/reports", params={"hidden": "true"},
                           headers=hub.as_("staff")).json()["reports"]
    assert {"kind": "request", "id": str(rid)}.items() <= queue[0].items()
    assert queue[0]["reporters"] == 3
    kept = hub.client.post("/v1/reports/review", headers=hub.as_("staff"), json={
        "kind": "request", "id": str(rid), "decision": "keep", "note": "宣伝ではない"})
    assert kept.json()["hidden"] is False
    assert hub.client.get(f"/v1/requests/{rid}").status_code == 200
    assert [a["result"] for a in hub.audit("report.create", str(rid))] == [
        "ok", "ok", "unchanged", "ok"]
    assert len(hub.audit("report.review", str(rid))) == 1


def test_reported_comments_and_showcases_hide_the_same_way(hub: CoHub) -> None:
    rid = hub.client.post("/v1/requests", json=request_body("コメント通報"),
                          headers=hub.as_("voter1")).json()["id"]
    cid = hub.client.post(f"/v1/requests/{rid}/comments", json={"text": "悪口"},
                          headers=hub.as_("startup")).json()["id"]
    sid = _submit(hub, title="通報される作品")["id"]
    hub.client.post(f"/v1/showcases/{sid}/decision", headers=hub.as_("staff"),
                    json={"decision": "approve"})
    for who in ("voter1", "voter2", "voter3"):
        hub.client.post("/v1/reports", json={"kind": "comment", "id": str(cid),
                                             "reason": "abuse"}, headers=hub.as_(who))
        hub.client.post("/v1/reports", json={"kind": "showcase", "id": str(sid),
                                             "reason": "abuse"}, headers=hub.as_(who))
    assert hub.client.get(f"/v1/requests/{rid}").json()["comments"] == []
    assert sid not in _listed(hub)
    removed = hub.client.post("/v1/reports/review", headers=hub.as_("staff"), json={
        "kind": "showcase", "id": str(sid), "decision": "remove"})
    assert removed.json()["hidden"] is True
    assert_problem(hub.client.get(f"/v1/showcases/{sid}"), 404)


def test_report_refusals(hub: CoHub) -> None:
    missing = hub.client.post("/v1/reports", json={"kind": "request", "id": "999999",
                                                   "reason": "x"}, headers=hub.as_("voter1"))
    assert_problem(missing, 404, "no request 999999")
    unknown = hub.client.post("/v1/reports", json={"kind": "poem", "id": "1", "reason": "x"},
                              headers=hub.as_("voter1"))
    assert_problem(unknown, 422)
    assert_problem(hub.client.post("/v1/reports", json={"kind": "request", "id": "1",
                                                        "reason": "x"}), 401)
    assert_problem(hub.client.get("/v1/reports", headers=hub.as_("voter1")), 403)


def test_openapi_documents_every_cocreation_error(hub: CoHub) -> None:
    paths = hub.client.get("/openapi.json").json()["paths"]
    expected = {
        ("/v1/requests", "post"): {"401", "403", "413", "422", "429"},
        ("/v1/requests/{request_id}/votes", "post"): {"401", "404", "409"},
        ("/v1/requests/{request_id}/status", "post"): {"403", "404", "409", "413", "422"},
        ("/v1/requests/{request_id}/comments", "post"): {"404", "413", "422"},
        ("/v1/showcases", "post"): {"413", "422", "429"},
        ("/v1/showcases/{showcase_id}/image", "put"): {"404", "409", "413", "415"},
        ("/v1/showcases/{showcase_id}/decision", "post"): {"404", "409", "422"},
        ("/v1/datasets/{dataset_id}/showcases", "get"): {"404"},
        ("/v1/reports", "post"): {"401", "404", "413", "422"},
        ("/v1/reports/review", "post"): {"403", "404", "422"},
    }
    for (path, method), codes in expected.items():
        documented = set(paths[path][method]["responses"])
        assert codes <= documented, (path, method, codes - documented)


def test_demo_examples_load_once_marked_as_examples(hub: CoHub) -> None:
    import tomllib
    from functools import partial

    from hub.data.cocreation import EXAMPLES_FILE, Actor, load_examples
    from hub.people.audit import AuditEntry

    examples = tomllib.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    for showcase in examples["showcases"]:
        showcase["datasets"] = ["test-shops"]  # the demo's datasets are not in this hub
    store = hub.client.app.state.cocreation
    actor = Actor(None, "demo", partial(AuditEntry.by_operator))
    stored = load_examples(store, examples, actor, lambda d: 2 if d == "test-shops" else None)
    assert stored == len(examples["requests"]) + len(examples["showcases"])
    assert load_examples(store, examples, actor, lambda d: 2) == 0
    board = hub.client.get("/v1/requests", params={"q": "【例】", "limit": 100}).json()
    assert {r["status"] for r in board["requests"]} == {"open", "planned", "declined"}
    assert all(r["example"] for r in board["requests"])
    shown = hub.client.get("/v1/datasets/test-shops/showcases").json()["showcases"]
    example = [s for s in shown if s["example"]]
    assert len(example) == 1 and example[0]["request"] is not None
