"""The staff console over HTTP through the real app and PostGIS: who may open it (401 sign-in
page, 403 page), upload -> report -> publish through the API's own publish code, the
moderation queue (old beside new, accept with a reason), request triage, usage charts, and
every console form refused without its CSRF token with nothing written."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from hub.people.scopes import KeyKind, Scope
from hub.web.session import CSRF_FIELD
from tests.shopdata import make_shops, with_bad_floor, write_csv
from tests.web.conftest import serve_portal
from tests.web.test_session import TOKEN_FIELD, Hub, form_token, sign_in

TICKET = re.compile(r'name="ticket" value="([^"]+)"')


class Console(Hub):
    """The session test hub plus the console's keys, one signed-in browser per role."""

    def __init__(self, client: TestClient, url: str, folder: Path) -> None:
        super().__init__(client, url)
        self.folder = folder
        self.ids: dict[str, int] = {}
        self.tokens: dict[str, str] = {}
        self.browsers: dict[str, TestClient] = {}
        for name, scopes, kind in (
            ("publisher", (Scope.PUBLISH,), KeyKind.STAFF),
            ("publisher2", (Scope.PUBLISH,), KeyKind.STAFF),
            ("moderator", (Scope.MODERATE,), KeyKind.STAFF),
            ("resident", (Scope.CONTRIBUTE,), KeyKind.SELF),
        ):
            self.ids[name], self.tokens[name] = self.issue(name, *scopes, kind=kind)
            self.browsers[name] = self.browser()
            assert sign_in(self.browsers[name], self.tokens[name]).status_code == 303

    def as_(self, name: str) -> TestClient:
        return self.browsers[name]

    def bearer(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def uploads(self) -> Path:
        return self.client.app.state.settings.data_dir / "uploads"

    def versions(self) -> int:
        return self.scalar("SELECT count(*) FROM hub.versions WHERE dataset_id = 'test-shops'")

    def audit(self, action: str) -> list[tuple[int | None, str]]:
        with self.engine.connect() as conn:
            return [(r.key_id, r.result) for r in conn.execute(text(
                "SELECT key_id, result FROM hub.audit_log WHERE action = :a ORDER BY id"),
                {"a": action})]


@pytest.fixture(scope="module")
def hub(pg_cluster, tmp_path_factory) -> Iterator[Console]:
    folder = tmp_path_factory.mktemp("console")
    with serve_portal(pg_cluster, folder, datasets=()) as portal:
        console = Console(portal.client, portal.url, folder)
        yield console
        console.engine.dispose()


def upload(browser: TestClient, path: Path, token: str | None, dataset: str = "test-shops"
           ) -> Any:
    data = {CSRF_FIELD: token} if token is not None else {}
    return browser.post(f"/staff/datasets/{dataset}/upload", data=data,
                        files={"file": (path.name, path.read_bytes(), "text/csv")})


def page_token(browser: TestClient, path: str) -> str:
    return form_token(browser, path)


# -- who may open it ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/staff", "/staff/moderation", "/staff/requests",
                                  "/staff/usage", "/staff/datasets/test-shops/upload",
                                  "/staff/datasets/new"])
def test_signed_out_the_console_is_the_sign_in_page(hub: Console, path: str) -> None:
    answer = hub.browser().get(path + "?lang=en")
    assert answer.status_code == 401
    assert 'action="/signin"' in answer.text
    assert f'name="next" value="{path}?lang=en"' in answer.text


def test_signing_in_from_the_console_leads_back_to_it(hub: Console) -> None:
    browser = hub.browser()
    asked = browser.get("/staff/moderation")
    token = TOKEN_FIELD.search(asked.text).group(1)  # type: ignore[union-attr]
    answer = browser.post("/signin", data={"key": hub.tokens["moderator"],
                                           "next": "/staff/moderation", CSRF_FIELD: token})
    assert answer.headers["location"] == "/staff/moderation"
    assert browser.get("/staff/moderation").status_code == 200


@pytest.mark.parametrize("who, path", [
    ("resident", "/staff"), ("resident", "/staff/usage"),
    ("publisher", "/staff/moderation"), ("publisher", "/staff/requests"),
    ("moderator", "/staff/datasets/test-shops/upload"),
])
def test_a_key_without_the_scope_gets_a_403_page(hub: Console, who: str, path: str) -> None:
    answer = hub.as_(who).get(path + "?lang=en")
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert '<p class="problem">' in answer.text


def test_the_overview_offers_what_the_key_may_do(hub: Console) -> None:
    publisher = hub.as_("publisher").get("/staff?lang=en").text
    assert 'href="/staff/datasets/test-shops/upload"' in publisher
    assert 'href="/staff/moderation"' not in publisher.split("</nav>", 2)[-1]
    assert 'href="/staff/datasets/new"' in publisher
    moderator = hub.as_("moderator").get("/staff?lang=en").text
    assert "Open the moderation queue" in moderator
    assert "/upload" not in moderator


def test_the_new_dataset_page_has_its_place(hub: Console) -> None:
    answer = hub.as_("publisher").get("/staff/datasets/new?lang=en")
    assert answer.status_code == 200 and "New dataset from a file" in answer.text


# -- upload, report, publish -----------------------------------------------------------------


def test_a_file_with_an_error_shows_row_column_value_rule_and_publishes_nothing(
        hub: Console, tmp_path: Path) -> None:
    before = hub.versions()
    browser = hub.as_("publisher")
    token = page_token(browser, "/staff/datasets/test-shops/upload")
    answer = upload(browser, with_bad_floor(tmp_path / "bad.csv", make_shops(30), line=6), token)
    assert answer.status_code == 422
    row = re.search(r'<tr class="issue-error">(.*?)</tr>', answer.text, re.S)
    assert row, answer.text
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert cells[1:5] == ["6", "階数", "<code>三階</code>", "type:integer"]
    assert 'name="ticket"' not in answer.text
    assert hub.versions() == before
    assert hub.audit("version.publish")[-1] == (hub.ids["publisher"], "refused")
    assert not list(hub.uploads().glob("checked/*/bad.csv"))


def test_a_good_file_is_checked_then_published_as_the_next_version(
        hub: Console, tmp_path: Path) -> None:
    before = hub.versions()
    browser = hub.as_("publisher")
    token = page_token(browser, "/staff/datasets/test-shops/upload")
    checked = upload(browser, write_csv(tmp_path / "good.csv", make_shops(40)), token)
    assert checked.status_code == 200, checked.text
    assert hub.versions() == before  # checking is a dry run
    assert hub.audit("version.publish")[-1] == (hub.ids["publisher"], "dry-run")
    ticket = TICKET.search(checked.text).group(1)  # type: ignore[union-attr]
    published = browser.post("/staff/datasets/test-shops/publish",
                             data={"ticket": ticket, CSRF_FIELD: token})
    assert published.status_code == 200, published.text
    assert hub.versions() == before + 1
    assert f"?version={before + 1}" in published.text
    assert hub.audit("version.publish")[-1] == (hub.ids["publisher"], "ok")
    latest = hub.client.get("/v1/datasets/test-shops/versions/latest").json()
    assert latest["version"] == before + 1 and latest["row_count"] == 40
    again = browser.post("/staff/datasets/test-shops/publish",
                         data={"ticket": ticket, CSRF_FIELD: token})
    assert again.status_code == 410 and hub.versions() == before + 1


def test_only_the_key_that_checked_a_file_can_publish_it(hub: Console, tmp_path: Path) -> None:
    owner, other = hub.as_("publisher"), hub.as_("publisher2")
    checked = upload(owner, write_csv(tmp_path / "mine.csv", make_shops(41)),
                     page_token(owner, "/staff/datasets/test-shops/upload"))
    ticket = TICKET.search(checked.text).group(1)  # type: ignore[union-attr]
    before = hub.versions()
    taken = other.post("/staff/datasets/test-shops/publish", data={
        "ticket": ticket, CSRF_FIELD: page_token(other, "/staff/datasets/test-shops/upload")})
    assert taken.status_code == 410 and hub.versions() == before


def test_an_upload_without_its_token_is_refused_and_nothing_is_kept(
        hub: Console, tmp_path: Path) -> None:
    browser = hub.as_("publisher")
    page_token(browser, "/staff/datasets/test-shops/upload")
    before = (hub.versions(), hub.counts())
    for token in (None, "forged"):
        answer = upload(browser, write_csv(tmp_path / "x.csv", make_shops(42)), token)
        assert answer.status_code == 403 and "reload the page" in answer.text
    assert (hub.versions(), hub.counts()) == before
    assert [p for p in hub.uploads().iterdir() if p.name != "checked"] == []


def test_publishing_without_the_token_publishes_nothing(hub: Console, tmp_path: Path) -> None:
    browser = hub.as_("publisher")
    token = page_token(browser, "/staff/datasets/test-shops/upload")
    checked = upload(browser, write_csv(tmp_path / "y.csv", make_shops(43)), token)
    ticket = TICKET.search(checked.text).group(1)  # type: ignore[union-attr]
    before = (hub.versions(), hub.counts())
    answer = browser.post("/staff/datasets/test-shops/publish", data={"ticket": ticket})
    assert answer.status_code == 403
    assert (hub.versions(), hub.counts()) == before


# -- moderation --------------------------------------------------------------------------------


def propose_correction(hub: Console, floors: str) -> int:
    target = make_shops(40)[2]
    answer = hub.client.post("/v1/datasets/test-shops/contributions", headers=hub.bearer(
        "resident"), json={"kind": "correction", "key": target.shop_id,
                           "changes": {"floors": floors}, "comment": "階数が違います",
                           "licence_consent": True})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def contribution_status(hub: Console, contribution_id: int) -> str:
    return hub.scalar("SELECT status FROM hub.contributions WHERE id = :i", i=contribution_id)


def test_the_queue_shows_a_correction_old_beside_new_with_its_point(hub: Console) -> None:
    cid = propose_correction(hub, "９")
    target = make_shops(40)[2]
    old = target.floors
    page = hub.as_("moderator").get("/staff/moderation?lang=en")
    assert page.status_code == 200
    card = page.text.split(f'id="contribution-{cid}"', 1)[1].split("</li>", 1)[0]
    assert re.search(rf'<th scope="row">floors</th><td class="old"><del>{old}</del></td>'
                     r'<td class="new"><ins>9</ins></td>', card), card
    config = json.loads(re.search(r"data-map='([^']*)'", card).group(1))  # type: ignore[union-attr]
    assert config["point"] == [target.lon, target.lat]
    # the context around it is the current version drawn from the hub's own tiles
    assert config["layers"][0]["tilejson"].startswith("/ogc/collections/test-shops@")


def test_accepting_with_a_reason_is_the_apis_decision(hub: Console) -> None:
    cid = propose_correction(hub, "8")
    browser = hub.as_("moderator")
    token = page_token(browser, "/staff/moderation")
    answer = browser.post(f"/staff/moderation/{cid}", data={
        "decision": "accept", "reason": "現地で確認しました", CSRF_FIELD: token})
    assert answer.status_code == 303, answer.text
    assert contribution_status(hub, cid) == "accepted"
    assert hub.audit("contribution.decide")[-1] == (hub.ids["moderator"], "ok")
    api = hub.client.get(f"/v1/contributions/{cid}", headers=hub.bearer("moderator")).json()
    assert api["decision"]["reason"] == "現地で確認しました"
    assert api["decision"]["by"] == f"key:{hub.ids['moderator']}"


def test_a_decision_without_a_reason_is_explained_and_not_recorded(hub: Console) -> None:
    cid = propose_correction(hub, "7")
    browser = hub.as_("moderator")
    answer = browser.post(f"/staff/moderation/{cid}", data={
        "decision": "reject", "reason": "", CSRF_FIELD: page_token(browser, "/staff/moderation")})
    assert answer.status_code == 400
    assert f'id="decision-problem-{cid}"' in answer.text and "reason" in answer.text
    assert contribution_status(hub, cid) == "pending"


def test_a_decision_without_its_token_decides_nothing(hub: Console) -> None:
    cid = propose_correction(hub, "6")
    before = hub.counts()
    answer = hub.as_("moderator").post(f"/staff/moderation/{cid}", data={
        "decision": "accept", "reason": "ok"})
    assert answer.status_code == 403
    assert contribution_status(hub, cid) == "pending" and hub.counts() == before


# -- request triage ----------------------------------------------------------------------------


def file_request(hub: Console, title: str) -> int:
    answer = hub.client.post("/v1/requests", headers=hub.bearer("resident"), json={
        "title": title, "description": f"{title}の説明", "purpose": "地図アプリ"})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def request_status(hub: Console, request_id: int) -> str:
    return hub.scalar("SELECT status FROM hub.requests WHERE id = :i", i=request_id)


def test_triage_moves_a_request_with_a_note_as_the_api_does(hub: Console) -> None:
    rid = file_request(hub, "駐輪場の台数")
    browser = hub.as_("moderator")
    page = browser.get("/staff/requests?lang=en")
    assert f'id="request-{rid}"' in page.text
    answer = browser.post(f"/staff/requests/{rid}", data={
        "status": "under-review", "note": "担当課に確認中", "reason_code": "licensing",
        "target_date": "2027-01-01", CSRF_FIELD: TOKEN_FIELD.search(page.text).group(1)})
    assert answer.status_code == 303, answer.text
    assert request_status(hub, rid) == "under-review"
    timeline = hub.client.get(f"/v1/requests/{rid}").json()["timeline"]
    assert timeline[-1]["status"] == "under-review" and timeline[-1]["note"] == "担当課に確認中"
    assert timeline[-1].get("reason_code") is None  # fields the move does not use: not stored
    assert timeline[-1].get("target_date") is None


def test_a_move_without_a_note_is_explained_and_not_made(hub: Console) -> None:
    rid = file_request(hub, "ベンチの位置")
    browser = hub.as_("moderator")
    answer = browser.post(f"/staff/requests/{rid}", data={
        "status": "under-review", "note": "", CSRF_FIELD: page_token(browser, "/staff/requests")})
    assert answer.status_code == 400 and "note" in answer.text
    assert request_status(hub, rid) == "open"


def test_a_move_without_its_token_moves_nothing(hub: Console) -> None:
    rid = file_request(hub, "公衆トイレ")
    before = hub.counts()
    answer = hub.as_("moderator").post(f"/staff/requests/{rid}", data={
        "status": "under-review", "note": "確認中"})
    assert answer.status_code == 403
    assert request_status(hub, rid) == "open" and hub.counts() == before


# -- usage -------------------------------------------------------------------------------------


def test_usage_is_a_chart_with_the_same_numbers_as_a_table(hub: Console) -> None:
    today = datetime.now(UTC).date()
    hub.execute(
        "INSERT INTO hub.usage_daily (day, dataset_id, version, kind, format, requests, records)"
        " VALUES (:d1, 'test-shops', 1, 'records', '', 12, 300),"
        " (:d1, 'test-shops', 2, 'records', '', 5, 50),"
        " (:d2, 'test-shops', 2, 'tiles', '', 40, 0),"
        " (:d2, 'test-shops', 2, 'download', 'csv', 3, 0)",
        d1=today - timedelta(days=2), d2=today)
    page = hub.as_("publisher").get("/staff/usage?dataset=test-shops&lang=en")
    assert page.status_code == 200
    assert page.text.count('<polyline class="series') == 3
    assert 'role="img"' in page.text
    table = page.text.split('<table class="usage-table">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<time datetime="([\d-]+)">.*?</th>((?:<td>[^<]*</td>)+)', table)
    numbers = {day: re.findall(r"<td>([^<]*)</td>", cells) for day, cells in rows}
    assert numbers[(today - timedelta(days=2)).isoformat()] == ["17", "0", "0"]
    assert numbers[today.isoformat()] == ["0", "40", "3"]
    assert len(numbers) == 30


def test_usage_of_a_dataset_outside_the_keys_list_is_refused(hub: Console) -> None:
    _id, token = hub.issue("limited", Scope.PUBLISH, datasets={"another-dataset"})
    browser = hub.browser()
    sign_in(browser, token)
    assert browser.get("/staff/usage?dataset=test-shops").status_code == 403
