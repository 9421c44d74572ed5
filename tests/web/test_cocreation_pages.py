"""The co-creation pages over HTTP through the real app and PostGIS: the requests board
(votes order, sorts, status filter, paging), a request's page (timeline, comments, answers),
the showcases gallery and a dataset's showcases and answered requests. Everything shown is
created through the API first, so each check reads back real content."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from hub.people.scopes import KeyKind, Scope
from tests.people_hub import issue_key
from tests.web.conftest import BROWSER, serve_portal
from tests.web.test_pages import parse

VOTERS = ("voter1", "voter2", "voter3")


class Board:
    """A hub with the test shops, keys, and requests/showcases made through the API."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}
        for name in VOTERS:
            self._issue(name, KeyKind.SELF, Scope.CONTRIBUTE)
        self._issue("staff", KeyKind.STAFF, Scope.MODERATE)

    def _issue(self, name: str, kind: KeyKind, scope: Scope) -> None:
        _id, self.tokens[name] = issue_key(self.client.app.state.people, name, scope,
                                           kind=kind)

    def post(self, who: str, path: str, body: dict | None = None) -> dict:
        response = self.client.post(path, json=body,
                                    headers={"Authorization": f"Bearer {self.tokens[who]}"})
        assert response.status_code in (200, 201), response.text
        return response.json()

    def file(self, title: str, who: str = "voter1") -> int:
        return self.post(who, "/v1/requests", {
            "title": title, "description": f"{title}の説明", "purpose": "地図アプリ"})["id"]

    def page(self, path: str):  # type: ignore[no-untyped-def]
        return self.client.get(path, headers=BROWSER)


@pytest.fixture(scope="module")
def board(pg_cluster, tmp_path_factory) -> Iterator[Board]:
    with serve_portal(pg_cluster, tmp_path_factory.mktemp("board"), datasets=()) as portal:
        yield Board(portal.client)


def board_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<h3><a href="/requests/(\d+)">', html)]


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (20, 90, 160)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def filed(board: Board) -> dict[str, int]:
    """Three requests with 1, 3 and 2 votes; the most voted one is answered by test-shops v2
    (with a comment and an approved showcase), the last one declined."""
    votes = {"駐輪場の位置": 1, "公衆トイレの設備": 3, "避難所の収容人数": 2}
    ids = {name: board.file(name) for name in votes}
    for name, voters in votes.items():
        for who in VOTERS[:voters]:
            board.post(who, f"/v1/requests/{ids[name]}/votes")
    toilets = ids["公衆トイレの設備"]
    board.post("voter2", f"/v1/requests/{toilets}/comments", {"text": "多目的トイレも欲しい"})
    board.post("staff", f"/v1/requests/{toilets}/status", {
        "status": "published", "note": "店舗データに含めました", "dataset": "test-shops",
        "version": 2})
    board.post("staff", f"/v1/requests/{ids['避難所の収容人数']}/status", {
        "status": "declined", "note": "防災課が管理", "reason_code": "held-by-another-body"})
    showcase = board.post("voter1", "/v1/showcases", {
        "title": "だれでもトイレマップ", "url": "https://example.jp/toilets", "kind": "app",
        "description": "車いすで使えるトイレを探せる", "authors": ["Startup K.K."],
        "datasets": [{"dataset": "test-shops", "version": 2}], "request": toilets})["id"]
    response = board.client.put(f"/v1/showcases/{showcase}/image", content=png(),
                                headers={"Authorization": f"Bearer {board.tokens['voter1']}",
                                         "Content-Type": "image/png"})
    assert response.status_code == 200, response.text
    board.post("staff", f"/v1/showcases/{showcase}/decision", {"decision": "approve"})
    pending = board.post("voter3", "/v1/showcases", {
        "title": "審査中の研究", "url": "https://example.jp/paper", "kind": "paper",
        "description": "まだ承認されていない", "datasets": [{"dataset": "test-shops",
                                                   "version": 1}]})["id"]
    return {**ids, "showcase": showcase, "pending": pending}


def test_board_lists_requests_by_votes_with_their_status(board: Board,
                                                         filed: dict[str, int]) -> None:
    response = board.page("/requests?lang=en")
    assert response.status_code == 200
    assert board_ids(response.text) == [filed["公衆トイレの設備"], filed["避難所の収容人数"],
                                        filed["駐輪場の位置"]]
    api = board.client.get("/v1/requests").json()["requests"]
    assert board_ids(response.text) == [r["id"] for r in api]
    first = response.text.split('class="card request"')[1]
    assert '<dd class="votes">3</dd>' in first and '<dd class="status">Published</dd>' in first


def test_board_sorts_and_filters_by_status_through_links(board: Board,
                                                         filed: dict[str, int]) -> None:
    html = board.page("/requests").text
    links = {a["href"] for t, a in parse(html).tags if t == "a"}
    assert {"/requests?sort=newest", "/requests?status=declined"} <= links
    newest = board_ids(board.page("/requests?sort=newest").text)
    assert newest == sorted(newest, reverse=True) and len(newest) == 3
    assert board_ids(board.page("/requests?status=declined").text) == [filed["避難所の収容人数"]]
    assert "却下" in board.page("/requests?status=declined&lang=ja").text


def test_board_pages_with_the_api_cursor(board: Board, filed: dict[str, int],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.web import cocreation
    monkeypatch.setattr(cocreation, "BOARD_PAGE_SIZE", 2)
    html = board.page("/requests").text
    assert len(board_ids(html)) == 2
    next_url = re.search(r'<a href="([^"]+)" rel="next">', html).group(1)  # type: ignore[union-attr]
    assert board_ids(board.page(next_url.replace("&amp;", "&")).text) == [filed["駐輪場の位置"]]


def test_board_explains_a_bad_parameter(board: Board) -> None:
    for path, word in (("/requests?sort=loudest", "sort"), ("/requests?status=lost", "status"),
                       ("/requests?cursor=xyz", "cursor")):
        response = board.page(path)
        assert response.status_code == 400 and word in response.text, path


def test_request_page_shows_timeline_votes_comments_and_answers(board: Board,
                                                                filed: dict[str, int]) -> None:
    rid = filed["公衆トイレの設備"]
    response = board.page(f"/requests/{rid}?lang=en")
    assert response.status_code == 200
    html = response.text
    assert "<h1>公衆トイレの設備</h1>" in html
    assert '<dd class="votes">3</dd>' in html
    assert "多目的トイレも欲しい" in html and "店舗データに含めました" in html
    timeline = html.split('class="timeline"')[1].split("</ol>")[0]
    assert timeline.index("Open") < timeline.index("Published")
    assert '<a href="/datasets/test-shops?version=2">' in html
    assert f'href="/showcases#showcase-{filed["showcase"]}"' in html
    assert f"curl -X POST http://testserver/v1/requests/{rid}/votes" in html


def test_a_declined_request_shows_the_reason_in_the_page_language(
        board: Board, filed: dict[str, int]) -> None:
    """The reason code's text (``REASON_TEXT``) through the catalogues; the note as written."""
    path = f"/requests/{filed['避難所の収容人数']}"
    ja = board.page(f"{path}?lang=ja").text
    assert "データは市ではなく他の機関が保有しています。" in ja and "防災課が管理" in ja
    assert "The data is held by another body" not in ja
    assert '<dd class="status">却下</dd>' in ja
    en = board.page(f"{path}?lang=en").text
    assert "The data is held by another body, not the city." in en and "防災課が管理" in en


def test_an_unknown_request_is_a_404_page(board: Board) -> None:
    response = board.page("/requests/99999")
    assert response.status_code == 404 and "no data request 99999" in response.text


def test_gallery_shows_approved_showcases_with_image_kind_and_pinned_datasets(
        board: Board, filed: dict[str, int]) -> None:
    html = board.page("/showcases?lang=en").text
    assert "だれでもトイレマップ" in html and "審査中の研究" not in html
    card = html.split(f'id="showcase-{filed["showcase"]}"')[1].split("</li>")[0]
    assert f'src="/v1/showcases/{filed["showcase"]}/image"' in card
    assert '<dd class="kind">App</dd>' in card
    assert '<a href="/datasets/test-shops?version=2">test-shops v2</a>' in card
    image = board.client.get(f"/v1/showcases/{filed['showcase']}/image")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"


def test_dataset_page_shows_its_showcases_and_answered_requests(
        board: Board, filed: dict[str, int]) -> None:
    html = board.page("/datasets/test-shops").text
    uses = html.split('id="uses-heading"')[1]
    assert "だれでもトイレマップ" in uses and "審査中の研究" not in uses
    assert f'<a href="/requests/{filed["公衆トイレの設備"]}">公衆トイレの設備</a>' in uses
    assert "駐輪場の位置" not in uses


@pytest.mark.parametrize("path", ["/requests", "/requests/1", "/showcases"])
def test_co_creation_pages_load_nothing_from_another_host(board: Board, filed: dict[str, int],
                                                          path: str) -> None:
    page = parse(board.page(path).text)
    loaded = [url for t, a in page.tags
              if t in ("script", "img", "iframe", "link", "source")
              and (url := a.get("src") or a.get("href"))]
    assert loaded and all(not urlsplit(url).netloc for url in loaded), loaded
    if path == "/showcases":
        assert any("/image" in url for url in loaded)
