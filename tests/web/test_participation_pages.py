"""The residents' forms over HTTP through the real app and PostGIS, signed in with a real
session: propose a record (field errors beside their inputs, then success and "my
proposals" with the moderator's decision), file a request, vote, submit a showcase. Each
write is compared with what the API stores for the same body, and each refusal with an
unchanged database."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from markupsafe import escape
from PIL import Image

from hub.people.scopes import KeyKind, Scope
from hub.web.session import CSRF_FIELD
from tests.web.test_pages import parse
from tests.web.test_session import Hub, form_token, session_hub, sign_in

PROPOSE = "/datasets/test-shops/propose"


@pytest.fixture(scope="module")
def hub(pg_cluster, tmp_path_factory) -> Iterator[Hub]:
    with session_hub(pg_cluster, tmp_path_factory.mktemp("participation")) as hub:
        yield hub


class Resident:
    """A browser signed in with a contributor key."""

    def __init__(self, hub: Hub, name: str) -> None:
        self.key_id, self.token = hub.issue(name, Scope.CONTRIBUTE, kind=KeyKind.SELF)
        self.browser = hub.browser()
        assert sign_in(self.browser, self.token).status_code == 303

    def post(self, path: str, data: dict[str, Any], *, form_page: str | None = None,
             **options: Any) -> Any:
        token = form_token(self.browser, form_page or path)
        return self.browser.post(path, data={**data, CSRF_FIELD: token}, **options)


@pytest.fixture(scope="module")
def aiko(hub: Hub) -> Resident:
    return Resident(hub, "Aiko")


GOOD = {"lat": "35.6580", "lon": "139.7016", "feature.properties.name": "段差のない喫茶",
        "feature.properties.category": "cafe", "feature.properties.floors": "１",
        "feature.properties.step_free": "true", "comment": "開店したばかり",
        "source": "店頭で確認", "display_name": "Aiko", "licence_consent": "true"}


def contributions(hub: Hub) -> int:
    return hub.scalar("SELECT count(*) FROM hub.contributions")


def attributes(page: str, element_id: str) -> dict[str, str | None]:
    (found,) = [a for _t, a in parse(page).tags if a.get("id") == element_id]
    return found


def test_the_form_is_built_from_the_schema(hub: Hub, aiko: Resident) -> None:
    page = aiko.browser.get(PROPOSE + "?lang=ja")
    assert page.status_code == 200
    step_free = attributes(page.text, "f-feature-properties-step_free")
    assert step_free["type"] == "checkbox" and step_free["value"] == "true"
    name = attributes(page.text, "f-feature-properties-name")
    assert name["aria-required"] == "true"
    assert re.search(r'<label for="f-feature-properties-name">名称 <code>name</code> '
                     r'<span class="required">', page.text)
    floors = attributes(page.text, "f-feature-properties-floors")
    assert (floors["type"], floors["inputmode"]) == ("text", "numeric")
    ids = {a.get("id") for _t, a in parse(page.text).tags}
    assert {"f-lat", "f-lon", "propose-map"} <= ids
    assert not ids & {"f-feature-properties-shop_id", "f-feature-properties-latitude"}


def test_signed_out_the_form_says_so_and_sending_it_asks_to_sign_in(hub: Hub) -> None:
    browser = hub.browser()
    page = browser.get(PROPOSE + "?lang=en")
    assert "Sending a proposal needs signing in" in page.text
    before = contributions(hub)
    answer = browser.post(PROPOSE, data={**GOOD, CSRF_FIELD: form_token(browser, PROPOSE)})
    assert answer.status_code == 401 and 'action="/signin"' in answer.text
    assert contributions(hub) == before


def test_without_the_forms_token_nothing_is_stored(hub: Hub, aiko: Resident) -> None:
    before = contributions(hub)
    answer = aiko.browser.post(PROPOSE, data=GOOD)
    assert answer.status_code == 403
    assert contributions(hub) == before


def test_the_apis_refusal_is_shown_beside_each_field(hub: Hub, aiko: Resident) -> None:
    before = contributions(hub)
    bad = {**GOOD, "feature.properties.name": "", "feature.properties.floors": "三階"}
    answer = aiko.post(PROPOSE + "?lang=en", bad, form_page=PROPOSE)
    assert answer.status_code == 422
    assert contributions(hub) == before
    page = answer.text
    for dom_id in ("f-feature-properties-name", "f-feature-properties-floors"):
        described = attributes(page, dom_id)
        assert f"{dom_id}-error" in (described["aria-describedby"] or "").split()
        assert described["aria-invalid"] == "true"
        error = page.split(f'id="{dom_id}-error" class="field-error">', 1)[1]
        assert error.split("</p>", 1)[0].strip()
    # The messages are the API's own for the same body.
    api = aiko.browser.post("/v1/datasets/test-shops/contributions", json={
        "kind": "new", "feature": {"type": "Feature",
                                   "geometry": {"type": "Point",
                                                "coordinates": [139.7016, 35.658]},
                                   "properties": {"floors": "三階", "category": "cafe",
                                                  "step_free": True}},
        "comment": "開店したばかり", "licence_consent": True},
        headers={"Authorization": f"Bearer {aiko.token}"})
    assert api.status_code == 422
    for problem in api.json()["errors"]:
        assert str(escape(problem["message"])) in page, problem
    # What was typed is kept.
    assert attributes(page, "f-feature-properties-category")["value"] == "cafe"


@pytest.mark.parametrize("point", [{"lat": "", "lon": ""}, {"lat": "北緯35度", "lon": "139.7"},
                                   {"lat": "48.85", "lon": "2.35"}])
def test_a_missing_or_wrong_point_is_shown_beside_the_point(hub: Hub, aiko: Resident,
                                                            point: dict[str, str]) -> None:
    before = contributions(hub)
    answer = aiko.post(PROPOSE + "?lang=en", {**GOOD, **point}, form_page=PROPOSE)
    assert answer.status_code == 422
    assert contributions(hub) == before
    for dom_id in ("f-lat", "f-lon"):
        assert "f-point-error" in (attributes(answer.text, dom_id)["aria-describedby"] or "")
    assert 'id="f-point-error"' in answer.text


def test_a_good_proposal_is_stored_as_the_api_stores_it(hub: Hub, aiko: Resident) -> None:
    answer = aiko.post(PROPOSE, GOOD)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith("/me/proposals?sent=")
    sent = int(answer.headers["location"].split("sent=")[1].split("#")[0])
    mine = aiko.browser.get("/v1/me/contributions",
                            headers={"Authorization": f"Bearer {aiko.token}"}).json()
    (stored,) = [c for c in mine["contributions"] if c["id"] == sent]
    assert stored["record"]["floors"] == 1 and stored["record"]["step_free"] is True
    assert stored["geometry"]["coordinates"] == [139.7016, 35.658]
    assert stored["display_name"] == "Aiko" and stored["status"] == "pending"
    audit = hub.scalar("SELECT key_id FROM hub.audit_log WHERE action = 'contribution.create'"
                       " AND object_id = :id", id=str(sent))
    assert audit == aiko.key_id
    page = aiko.browser.get(answer.headers["location"].split("#")[0] + "&lang=ja")
    assert page.status_code == 200
    row = page.text.split(f'id="contribution-{sent}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-status="pending"' in row and "審査待ち" in row


def test_my_proposals_show_the_decision_and_its_reason(hub: Hub, aiko: Resident) -> None:
    answer = aiko.post(PROPOSE, {**GOOD, "feature.properties.name": "閉店した店"})
    sent = int(answer.headers["location"].split("sent=")[1].split("#")[0])
    _id, staff = hub.issue("moderator", Scope.MODERATE)
    decided = hub.client.post(f"/v1/contributions/{sent}/decision",
                              json={"decision": "reject", "reason": "すでに閉店しています"},
                              headers={"Authorization": f"Bearer {staff}"})
    assert decided.status_code == 200, decided.text
    for lang, label in (("ja", "不採用"), ("en", "Declined")):
        page = aiko.browser.get(f"/me/proposals?lang={lang}").text
        row = page.split(f'id="contribution-{sent}"', 1)[1].split("</tr>", 1)[0]
        assert label in row and "すでに閉店しています" in row


def test_my_proposals_need_signing_in(hub: Hub) -> None:
    assert hub.browser().get("/me/proposals").status_code == 401


def test_file_a_request_through_the_form(hub: Hub, aiko: Resident) -> None:
    answer = aiko.post("/requests", {"title": "公園のトイレ", "description": "位置と設備",
                                     "purpose": "散歩アプリ", "area": "渋谷区"},
                       form_page="/requests")
    assert answer.status_code == 303, answer.text
    request_id = int(answer.headers["location"].split("/")[2].split("?")[0])
    api = hub.client.get(f"/v1/requests/{request_id}").json()
    assert api["title"] == "公園のトイレ" and api["author"] == "Aiko"
    assert api["area"] == "渋谷区"
    page = aiko.browser.get(answer.headers["location"])
    assert "公園のトイレ" in page.text


def test_a_request_without_a_title_is_refused_beside_the_title(hub: Hub,
                                                               aiko: Resident) -> None:
    before = hub.scalar("SELECT count(*) FROM hub.requests")
    answer = aiko.post("/requests?lang=en", {"title": " ", "description": "x",
                                             "purpose": "y"}, form_page="/requests")
    assert answer.status_code == 422
    assert "r-title-error" in (attributes(answer.text, "r-title")["aria-describedby"] or "")
    assert hub.scalar("SELECT count(*) FROM hub.requests") == before


def test_vote_once_through_the_button(hub: Hub, aiko: Resident) -> None:
    request_id = hub.client.post(
        "/v1/requests", json={"title": "駐輪場", "description": "台数", "purpose": "地図"},
        headers={"Authorization": f"Bearer {hub.issue('filer', Scope.CONTRIBUTE)[1]}"}
    ).json()["id"]
    path = f"/requests/{request_id}"
    for _ in range(2):  # one vote per key, as on the API
        answer = aiko.post(f"{path}/votes", {}, form_page=path)
        assert answer.status_code == 303 and answer.headers["location"].startswith(path)
    assert hub.client.get(f"/v1/requests/{request_id}").json()["votes"] == 1
    page = aiko.browser.get(f"{path}?voted=1&lang=en").text
    assert '<dd class="votes">1</dd>' in page and "Your vote is counted." in page


def test_a_vote_without_the_token_is_refused(hub: Hub, aiko: Resident) -> None:
    request_id = hub.client.get("/v1/requests").json()["requests"][0]["id"]
    before = hub.client.get(f"/v1/requests/{request_id}").json()["votes"]
    answer = aiko.browser.post(f"/requests/{request_id}/votes", data={})
    assert answer.status_code == 403
    assert hub.client.get(f"/v1/requests/{request_id}").json()["votes"] == before


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (20, 90, 160)).save(out, format="PNG")
    return out.getvalue()


def test_submit_a_showcase_with_an_image(hub: Hub, aiko: Resident) -> None:
    token = form_token(aiko.browser, "/showcases/new")
    answer = aiko.browser.post("/showcases/new", data={
        CSRF_FIELD: token, "title": "だれでも喫茶マップ", "url": "https://example.jp/cafe",
        "kind": "app", "description": "段差のない喫茶店の地図", "authors": "Aiko\nBen",
        "datasets": ["test-shops@2"]}, files={"image": ("map.png", png(), "image/png")})
    assert answer.status_code == 303, answer.text
    showcase_id = int(answer.headers["location"].split("submitted=")[1])
    shown = aiko.browser.get(f"/v1/showcases/{showcase_id}",
                             headers={"Authorization": f"Bearer {aiko.token}"}).json()
    assert shown["status"] == "pending" and shown["authors"] == ["Aiko", "Ben"]
    assert [(d["dataset"], d["version"]) for d in shown["datasets"]] == [("test-shops", 2)]
    assert shown["image"] is not None


def test_a_showcase_with_a_file_that_is_no_image_stores_nothing(hub: Hub,
                                                                 aiko: Resident) -> None:
    before = hub.scalar("SELECT count(*) FROM hub.showcases")
    token = form_token(aiko.browser, "/showcases/new")
    answer = aiko.browser.post("/showcases/new?lang=en", data={
        CSRF_FIELD: token, "title": "x", "url": "https://example.jp/x", "kind": "app",
        "description": "y", "datasets": ["test-shops@2"]},
        files={"image": ("map.png", b"not an image", "image/png")})
    assert answer.status_code == 415
    assert "s-image-error" in (attributes(answer.text, "s-image")["aria-describedby"] or "")
    assert hub.scalar("SELECT count(*) FROM hub.showcases") == before


def test_a_showcase_form_without_its_token_is_refused(hub: Hub, aiko: Resident) -> None:
    before = hub.scalar("SELECT count(*) FROM hub.showcases")
    answer = aiko.browser.post("/showcases/new", data={
        "title": "x", "url": "https://example.jp/x", "kind": "app", "description": "y",
        "datasets": ["test-shops@2"]}, files={"image": ("map.png", png(), "image/png")})
    assert answer.status_code == 403
    assert hub.scalar("SELECT count(*) FROM hub.showcases") == before


def test_signed_in_the_header_leads_to_my_proposals(hub: Hub, aiko: Resident) -> None:
    links = {a.get("href") for _t, a in parse(aiko.browser.get("/").text).tags if _t == "a"}
    assert "/me/proposals" in links
    signed_out = {a.get("href") for _t, a in parse(hub.browser().get("/").text).tags
                  if _t == "a"}
    assert "/me/proposals" not in signed_out
