"""Data requests through the real app and PostGIS: the journey, the board, and refusals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.people.scopes import Scope
from tests.api.cocreation_hub import CoHub, assert_problem, request_body, start_hub
from tests.conftest import create_test_database, drop_test_database


@pytest.fixture(scope="module")
def hub(pg_cluster, tmp_path_factory) -> Iterator[CoHub]:
    url = create_test_database(pg_cluster)
    yield from start_hub(url, tmp_path_factory.mktemp("shops"))
    drop_test_database(pg_cluster, url)


def _file(hub: CoHub, who: str, **body: object) -> dict:
    response = hub.client.post("/v1/requests", json=request_body(**body), headers=hub.as_(who))
    assert response.status_code == 201, response.text
    return response.json()


def test_request_journey_votes_staff_moves_and_timeline(hub: CoHub) -> None:
    # A resident takes a self-service key and files a request.
    taken = hub.client.post("/v1/keys/self", json={"display_name": "Hanako Y."})
    assert taken.status_code == 201, taken.text
    resident = {"Authorization": f"Bearer {taken.json()['token']}"}
    created = hub.client.post("/v1/requests", headers=resident, json=request_body(
        "バス停のベンチと屋根の有無", organisation="テスト市", wanted={
            "fields": ["stop_id", "bench", "shelter"], "period": "毎年"},
        area={"type": "Point", "coordinates": [139.70, 35.66]}))
    assert created.status_code == 201, created.text
    request = created.json()
    rid = request["id"]
    assert request["status"] == "open" and request["votes"] == 0
    assert request["area"] == {"type": "Point", "coordinates": [139.7, 35.66]}
    assert request["wanted"] == {"fields": ["stop_id", "bench", "shelter"], "period": "毎年"}
    assert [e["status"] for e in request["timeline"]] == ["open"]
    assert request["timeline"][0]["by"] == "Hanako Y."

    # Two other keys vote; a repeat vote is idempotent; a vote can be withdrawn.
    for voter in ("voter1", "voter2", "voter1"):
        answer = hub.client.post(f"/v1/requests/{rid}/votes", headers=hub.as_(voter))
        assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": rid, "votes": 2, "voted": True}
    withdrawn = hub.client.delete(f"/v1/requests/{rid}/votes", headers=hub.as_("voter2"))
    assert withdrawn.json() == {"id": rid, "votes": 1, "voted": False}
    again = hub.client.delete(f"/v1/requests/{rid}/votes", headers=hub.as_("voter2"))
    assert again.json()["votes"] == 1
    hub.client.post(f"/v1/requests/{rid}/votes", headers=hub.as_("voter2"))
    assert hub.client.get(f"/v1/requests/{rid}").json()["votes"] == 2
    assert hub.scalar("SELECT count(*) FROM hub.request_votes WHERE request_id = :r",
                      r=rid) == 2

    # Staff move it open -> under-review -> planned (target date) -> published.
    staff = hub.as_("staff")
    moves = [
        {"status": "under-review", "note": "担当課で確認します"},
        {"status": "planned", "note": "来年度に公開予定", "target_date": "2027-04-01"},
        {"status": "published", "note": "公開しました", "dataset": "test-shops", "version": 2},
    ]
    for move in moves:
        answer = hub.client.post(f"/v1/requests/{rid}/status", json=move, headers=staff)
        assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["status"] == "published"
    assert page["dataset"] == "test-shops" and page["version"] == 2
    assert [e["status"] for e in page["timeline"]] == ["open", "under-review", "planned",
                                                      "published"]
    assert page["timeline"][2]["target_date"] == "2027-04-01"
    assert all(e["by"] == "staff" and e["at"] for e in page["timeline"][1:])
    assert page["timeline"][3]["dataset"] == "test-shops"

    # Closed: no more votes, no more moves.
    late = hub.client.post(f"/v1/requests/{rid}/votes", headers=hub.as_("voter3"))
    assert_problem(late, 409, "votes are closed")
    assert hub.client.get(f"/v1/requests/{rid}").json()["votes"] == 2
    reopen = hub.client.post(f"/v1/requests/{rid}/status", headers=staff,
                             json={"status": "under-review", "note": "x"})
    assert_problem(reopen, 409, "cannot become")

    # Every action is in the audit log.
    assert len(hub.audit("request.create", str(rid))) == 1
    votes = hub.audit("request.vote", str(rid))
    assert [v["result"] for v in votes] == ["ok", "ok", "unchanged", "ok"]  # refused: none
    assert [u["result"] for u in hub.audit("request.unvote", str(rid))] == ["ok", "unchanged"]
    assert [s["detail"]["status"] for s in hub.audit("request.status", str(rid))] == [
        "under-review", "planned", "published"]


def test_declining_needs_a_reason_code_from_the_list_and_a_text(hub: CoHub) -> None:
    rid = _file(hub, "voter1", title="個人の住所一覧")["id"]
    staff = hub.as_("staff")
    no_code = hub.client.post(f"/v1/requests/{rid}/status", headers=staff,
                              json={"status": "declined", "note": "個人情報のため"})
    assert assert_problem(no_code, 422, "declining needs a 'reason_code'")["field"] == "reason_code"
    bad_code = hub.client.post(f"/v1/requests/{rid}/status", headers=staff, json={
        "status": "declined", "reason_code": "boring", "note": "x"})
    assert_problem(bad_code, 422, "unknown reason_code")
    no_text = hub.client.post(f"/v1/requests/{rid}/status", headers=staff, json={
        "status": "declined", "reason_code": "personal-or-confidential"})
    assert_problem(no_text, 422, "note")
    ok = hub.client.post(f"/v1/requests/{rid}/status", headers=staff, json={
        "status": "declined", "reason_code": "personal-or-confidential",
        "note": "個人の住所は公開できません"})
    assert ok.status_code == 200, ok.text
    last = ok.json()["timeline"][-1]
    assert last["reason_code"] == "personal-or-confidential" and last["reason"]
    assert last["note"] == "個人の住所は公開できません"
    codes = hub.client.get("/v1/requests/reason-codes").json()["reason_codes"]
    assert [c["id"] for c in codes] == ["already-published", "held-by-another-body",
                                        "personal-or-confidential", "licensing", "cost",
                                        "other"]


def test_status_move_refusals(hub: CoHub) -> None:
    rid = _file(hub, "voter1", title="公園のトイレ")["id"]
    staff = hub.as_("staff")
    cases = [
        ({"status": "planned", "note": "x"}, 422, "target_date"),
        ({"status": "published", "note": "x", "dataset": "test-shops"}, 422, "version"),
        ({"status": "published", "note": "x", "dataset": "test-shops", "version": 9}, 422,
         "has no version"),
        ({"status": "sideways", "note": "x"}, 422, "unknown status"),
        ({"status": "under-review"}, 422, "note"),
    ]
    for body, status, words in cases:
        assert_problem(hub.client.post(f"/v1/requests/{rid}/status", json=body,
                                       headers=staff), status, words)
    # A contributor is not staff; no key is 401.
    assert_problem(hub.client.post(f"/v1/requests/{rid}/status", headers=hub.as_("voter1"),
                                   json={"status": "under-review", "note": "x"}), 403)
    assert_problem(hub.client.post(f"/v1/requests/{rid}/votes"), 401)
    assert hub.client.get(f"/v1/requests/{rid}").json()["status"] == "open"
    assert hub.audit("request.status", str(rid)) == []


def test_suggestions_name_look_alike_datasets_and_open_requests(hub: CoHub) -> None:
    first = _file(hub, "voter2", title="車椅子で入れる店舗の一覧")
    second = _file(hub, "voter3", title="車いすで入れる店舗の一覧がほしい")
    suggested = {r["id"] for r in second["suggestions"]["requests"]}
    assert first["id"] in suggested and second["id"] not in suggested
    datasets = _file(hub, "voter3", title="テスト店舗一覧",
                     description="テスト用の店舗データ")["suggestions"]["datasets"]
    assert [d["id"] for d in datasets] == ["test-shops"]
    unrelated = _file(hub, "voter3", title="河川の水位", description="毎時の観測値")
    assert unrelated["suggestions"] == {"datasets": [], "requests": []}


def test_board_filters_facets_sorting_and_keyset_pages(hub: CoHub) -> None:
    org = "ページ市"
    ids = [_file(hub, "startup", title=f"ページング用 {n}", organisation=org)["id"]
           for n in range(5)]
    # votes: ids[3] gets 2, ids[1] gets 1
    for voter, target in (("voter1", 3), ("voter2", 3), ("voter1", 1)):
        hub.client.post(f"/v1/requests/{ids[target]}/votes", headers=hub.as_(voter))
    hub.client.post(f"/v1/requests/{ids[0]}/status", headers=hub.as_("staff"),
                    json={"status": "under-review", "note": "見ています"})

    def walk(**params: object) -> list[int]:
        seen, url, query = [], "/v1/requests", {"organisation": org, "limit": 2, **params}
        while url:
            page = hub.client.get(url, params=query).json()
            assert len(page["requests"]) <= 2
            seen += [r["id"] for r in page["requests"]]
            url, query = page["next"], None
        return seen

    assert walk(sort="votes") == [ids[3], ids[1], ids[4], ids[2], ids[0]]
    assert walk(sort="newest") == list(reversed(ids))
    assert walk(sort="updated")[0] == ids[0]
    first = hub.client.get("/v1/requests", params={"organisation": org, "status": "open"})
    body = first.json()
    assert body["total"] == 4
    assert body["facets"]["status"] == {"open": 4, "under-review": 1}
    assert body["facets"]["organisation"][org] == 4
    assert hub.client.get("/v1/requests", params={"q": "ページング用 3"}).json()["total"] == 1
    assert hub.client.get("/v1/requests", params={"text": "ぺーじんぐ"}).json()["total"] == 5
    bad = hub.client.get("/v1/requests", params={"sort": "newest", "cursor": "nonsense"})
    assert_problem(bad, 400, "cursor")


def test_board_filters_by_the_dataset_that_answers(hub: CoHub) -> None:
    rid = _file(hub, "voter1", title="答え合わせ")["id"]
    hub.client.post(f"/v1/requests/{rid}/status", headers=hub.as_("staff"), json={
        "status": "published", "note": "既にあります", "dataset": "test-shops", "version": 1})
    found = hub.client.get("/v1/requests", params={"dataset": "test-shops", "limit": 100})
    assert rid in [r["id"] for r in found.json()["requests"]]


def test_comments_and_following(hub: CoHub) -> None:
    rid = _file(hub, "voter1", title="コメント用")["id"]
    said = hub.client.post(f"/v1/requests/{rid}/comments", headers=hub.as_("voter2"),
                           json={"text": "私も欲しいです <5 m の精度で"})
    assert said.status_code == 201, said.text
    assert said.json()["text"] == "私も欲しいです <5 m の精度で"  # stored as plain text
    followed = hub.client.post(f"/v1/requests/{rid}/followers", headers=hub.as_("voter3"))
    assert followed.json() == {"id": rid, "following": True}
    hub.client.post(f"/v1/requests/{rid}/followers", headers=hub.as_("voter3"))
    page = hub.client.get(f"/v1/requests/{rid}").json()
    assert page["followers"] == 1
    assert [c["author"] for c in page["comments"]] == ["voter2"]
    assert hub.client.delete(f"/v1/requests/{rid}/followers",
                             headers=hub.as_("voter3")).json()["following"] is False
    assert hub.client.get(f"/v1/requests/{rid}").json()["followers"] == 0
    assert len(hub.audit("comment.create", str(said.json()["id"]))) == 1
    assert [a["result"] for a in hub.audit("request.follow", str(rid))] == ["ok", "unchanged"]
    assert len(hub.audit("request.unfollow", str(rid))) == 1


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"title": "<script>alert(1)</script>"}, "title", "<script>"),
    ({"description": "see javascript:alert(1)"}, "description", "javascript:"),
    ({"title": "   "}, "title", "must not be empty"),
    ({"title": "x" * 201}, "title", "at most 200"),
    ({"purpose": "a\x07b"}, "purpose", "control characters"),
    ({"area": {"type": "Point", "coordinates": [35.66, 139.70]}}, "area", "outside Japan"),
    ({"area": {"type": "Polygon", "coordinates": [[[139, 35], [140, 36], [140, 35],
                                                   [139, 36], [139, 35]]]}}, "area",
     "not a valid geometry"),
    ({"area": {"type": "Blob"}}, "area", "not a GeoJSON geometry"),
])
def test_bad_request_bodies_are_422_and_store_nothing(hub: CoHub, body: dict, field: str,
                                                      words: str) -> None:
    before = hub.scalar("SELECT count(*) FROM hub.requests")
    response = hub.client.post("/v1/requests", json=request_body(**body),
                               headers=hub.as_("voter1"))
    assert assert_problem(response, 422, words)["field"] == field
    assert hub.scalar("SELECT count(*) FROM hub.requests") == before


def test_script_in_a_comment_is_refused(hub: CoHub) -> None:
    rid = _file(hub, "voter1", title="スクリプト")["id"]
    response = hub.client.post(f"/v1/requests/{rid}/comments", headers=hub.as_("voter2"),
                               json={"text": "<SCRIPT src=//x></SCRIPT>"})
    assert_problem(response, 422, "<script>")
    assert hub.client.get(f"/v1/requests/{rid}").json()["comments"] == []


def test_oversized_body_is_413_and_stores_nothing(hub: CoHub) -> None:
    before = hub.scalar("SELECT count(*) FROM hub.requests")
    huge = request_body(description="あ" * 30_000)  # 90 kB of UTF-8 over a 64 kB limit
    response = hub.client.post("/v1/requests", json=huge, headers=hub.as_("voter1"))
    assert_problem(response, 413, "at most 65536")
    assert hub.scalar("SELECT count(*) FROM hub.requests") == before


def test_more_than_n_open_requests_per_key_is_429(hub: CoHub) -> None:
    hub.issue("eager", Scope.CONTRIBUTE)
    limit = hub.settings.cocreation_pending_per_key
    for n in range(limit):
        _file(hub, "eager", title=f"連続 {n}")
    refused = hub.client.post("/v1/requests", json=request_body("もう一つ"),
                              headers=hub.as_("eager"))
    body = assert_problem(refused, 429, f"at most {limit}")
    assert body["type"].endswith("too-many-pending")
    assert hub.scalar("SELECT count(*) FROM hub.requests WHERE key_id = :k",
                      k=hub.key_ids["eager"]) == limit


def test_unknown_request_is_404(hub: CoHub) -> None:
    assert_problem(hub.client.get("/v1/requests/999999"), 404)
    assert_problem(hub.client.post("/v1/requests/999999/votes", headers=hub.as_("voter1")), 404)
