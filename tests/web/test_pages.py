"""The portal's pages over HTTP through the real app and a real PostGIS: negotiation on
``/``, language choice, catalogue search and facets, the dataset page's parts, the diff
page, errors, and that nothing on a page points at another host."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import mapbox_vector_tile
import mercantile
import orjson
import pytest
import yaml
from markupsafe import escape

from tests.web.conftest import BROWSER, Portal


class Collect(HTMLParser):
    """Tags with their attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Collect:
    collected = Collect()
    collected.feed(html)
    return collected


def html_lang(html: str) -> str:
    return next(a["lang"] for t, a in parse(html).tags if t == "html")  # type: ignore[return-value]


def card_ids(html: str) -> list[str]:
    return re.findall(r'<h3><a href="/datasets/([^"]+)">', html)


# -- / : the portal for browsers, the landing document for API clients ------------------------


@pytest.mark.parametrize("accept", [None, "*/*", "application/json",
                                    "application/json, text/html"])
def test_api_clients_keep_the_json_landing(portal: Portal, accept: str | None) -> None:
    headers = {"accept": accept} if accept else {}
    response = portal.client.get("/", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "Accept" in response.headers["vary"]
    rels = {link["rel"] for link in response.json()["links"]}
    assert {"data", "service-desc", "service-doc"} <= rels


def test_a_browser_gets_the_catalogue(portal: Portal) -> None:
    response = portal.page("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Accept" in response.headers["vary"]
    assert set(card_ids(response.text)) == {"test-shops", "yaizu-aed", "bus-routes-muroran"}


# -- language --------------------------------------------------------------------------------


def test_language_by_parameter_cookie_then_accept_language(portal: Portal) -> None:
    client = portal.client
    assert html_lang(client.get("/datasets/yaizu-aed", headers=BROWSER).text) == "ja"
    english = client.get("/datasets/yaizu-aed", headers={
        **BROWSER, "accept-language": "en-GB,en;q=0.9,ja;q=0.5"})
    assert html_lang(english.text) == "en" and "<h1>Yaizu: AED locations</h1>" in english.text
    assert english.headers["content-language"] == "en"
    switched = client.get("/datasets/yaizu-aed?lang=en", headers=BROWSER)
    assert html_lang(switched.text) == "en"
    assert "hub_lang=en" in switched.headers["set-cookie"]
    # the cookie the switch set now wins over the browser's Japanese
    client.cookies.set("hub_lang", "en")
    after = client.get("/", headers={**BROWSER, "accept-language": "ja"})
    assert html_lang(after.text) == "en" and "Open data catalogue" in after.text
    client.cookies.set("hub_lang", "fr")
    unknown = client.get("/?lang=xx", headers={**BROWSER, "accept-language": "en"})
    assert html_lang(unknown.text) == "en" and "set-cookie" not in unknown.headers
    client.cookies.clear()


def test_dataset_texts_follow_the_language(portal: Portal) -> None:
    ja = portal.page("/datasets/test-shops?lang=ja").text
    en = portal.page("/datasets/test-shops?lang=en").text
    assert "<h1>テスト店舗一覧</h1>" in ja and "テスト用の店舗データ" in ja
    assert "<h1>Test shops</h1>" in en and "Shops used by the test suite" in en
    assert "スキーマ" in ja and "Schema" in en
    portal.client.cookies.clear()


# -- catalogue -------------------------------------------------------------------------------


def test_catalogue_search_uses_the_api_q(portal: Portal) -> None:
    page = portal.page("/?q=AED")
    api = portal.client.get("/v1/datasets", params={"q": "AED"}).json()
    assert card_ids(page.text) == [d["id"] for d in api["datasets"]] == ["yaizu-aed"]


@pytest.mark.parametrize("q", ["ＡＥＤ", "aed", "バス", "ばす 室蘭", "test"])
def test_catalogue_folds_and_ranks_as_the_api(portal: Portal, q: str) -> None:
    """Spelling variants (full-width, kana) match and results come in the API's rank order."""
    api = [d["id"] for d in portal.client.get("/v1/datasets", params={"q": q}).json()[
        "datasets"]]
    assert api, q
    page = portal.client.get("/", params={"q": q}, headers=BROWSER)
    assert card_ids(page.text) == api


def test_catalogue_facets_format_and_map(portal: Portal) -> None:
    api = portal.client.get("/v1/datasets").json()
    assert {"value": "gtfs", "count": 1} in api["facets"]["format"]
    assert {"value": "table", "count": 2} in api["facets"]["format"]
    assert api["facets"]["has_map"] == [{"value": True, "count": 3}]
    gtfs = portal.client.get("/v1/datasets", params={"format": "gtfs"}).json()
    assert [d["id"] for d in gtfs["datasets"]] == ["bus-routes-muroran"]
    assert portal.client.get("/v1/datasets", params={"has_map": "false"}).json()["total"] == 0
    page = portal.page("/?format=gtfs")
    assert card_ids(page.text) == ["bus-routes-muroran"]
    # the active facet links back to the catalogue without it
    assert 'href="/" aria-current="true"' in page.text


def first_card(html: str) -> str:
    card = html[html.index('<li class="card">'):]
    return card[:card.index("</li>")]


def test_cards_show_rows_last_version_and_licence(portal: Portal) -> None:
    licence = portal.client.get("/v1/datasets/test-shops").json()["licence"]
    assert licence["id"] == "CC-BY-4.0"
    for language in ("en", "ja"):
        card = first_card(portal.page(f"/?q=test-shops&lang={language}").text)
        assert "290" in card  # rows of version 2
        assert "(v2)" in card
        # the licence object of the API: its title in the page's language, linked to its URL
        assert (f'<a href="{licence["url"]}" rel="license">{licence["title"][language]}</a>'
                in card)
    portal.client.cookies.clear()


def test_licence_facet_counts_ids_and_shows_titles(portal: Portal) -> None:
    api = portal.client.get("/v1/datasets").json()
    ids = {entry["value"] for entry in api["facets"]["licence"]}
    assert "CC-BY-4.0" in ids
    html = portal.page("/?lang=ja").text
    facets = html[html.index('id="facets-heading"'):html.index('id="results-heading"')]
    for licence_id in ids:
        title = portal.client.get("/v1/datasets", params={"licence": licence_id}).json()[
            "datasets"][0]["licence"]["title"]["ja"]
        assert f'href="/?licence={licence_id}"' in facets and title in facets
    portal.client.cookies.clear()


def test_dataset_page_links_its_licence_with_the_note(portal: Portal) -> None:
    licence = portal.client.get("/v1/datasets/yaizu-aed").json()["licence"]
    html = portal.page("/datasets/yaizu-aed?lang=en").text
    facts = html[html.index('<dl class="facts">'):html.index("</dl>")]
    assert f'<a href="{licence["url"]}" rel="license">{licence["title"]["en"]}</a>' in facts
    assert licence["note"] and licence["note"] in facts
    portal.client.cookies.clear()


def test_recent_changes_come_from_the_change_feed(portal: Portal) -> None:
    html = portal.page("/?lang=en").text
    recent = html[html.index('id="recent-heading"'):]
    feed = portal.client.get("/v1/changes").json()["changes"]
    newest = feed[-1]
    assert f'/datasets/{newest["dataset"]}?version={newest["version"]}' in recent
    assert "version 2 published" in recent  # the test shops' second publish
    portal.client.cookies.clear()


# -- dataset page ----------------------------------------------------------------------------


def test_dataset_page_schema_table(portal: Portal) -> None:
    html = portal.page("/datasets/yaizu-aed").text
    schema = portal.client.get("/v1/datasets/yaizu-aed/versions/latest").json()["schema"]
    section = html[html.index('id="schema-heading"'):html.index('id="versions-heading"')]
    for field in schema["fields"]:
        assert f"<code>{field['name']}</code>" in section
    assert "primary key" in section and "全国地方公共団体コード" in section


def test_table_preview_uses_the_api_filters_and_links_the_same_query(portal: Portal) -> None:
    shop = portal.shops_v2[3]
    html = portal.page(f"/datasets/test-shops?name__contains={shop.name}&lang=en").text
    link = re.search(r'<a class="api-link" href="([^"]+)"', html)
    assert link is not None
    api_url = link.group(1).replace("&amp;", "&")
    assert api_url.startswith("/v1/datasets/test-shops/versions/2/records?")
    api = portal.client.get(api_url).json()
    assert [r["shop_id"] for r in api["records"]] == [shop.shop_id]
    rows = re.findall(r"<tr><td>(S\d+)</td>", html)
    assert rows == [shop.shop_id]
    portal.client.cookies.clear()


def test_table_pages_with_the_api_cursor(portal: Portal) -> None:
    html = portal.page("/datasets/test-shops?sort=-shop_id").text
    first = re.findall(r"<tr><td>(S\d+)</td>", html)
    assert len(first) == 20 and first[0] == "S0290"
    next_url = re.search(r'<a href="([^"]+)#table-heading" rel="next"', html)
    assert next_url is not None
    second = re.findall(r"<tr><td>(S\d+)</td>",
                        portal.page(next_url.group(1).replace("&amp;", "&")).text)
    assert second[0] == "S0270" and not set(first) & set(second)


def table_first_cells(html: str) -> list[str]:
    return re.findall(r"<tr><td>([^<]*)</td>", html)


def test_table_preview_resolves_stops_of_another_dataset_as_the_api_does(
        portal: Portal) -> None:
    """``near_stop`` needs the catalogue (the API's resolver): the preview answers it."""
    stop = portal.client.get("/v1/datasets/bus-routes-muroran/layers/stops/records",
                             params={"limit": 1}).json()["records"][0]
    near = {"near_stop": f"bus-routes-muroran:{stop['stop_id']}", "radius": "400"}
    api = portal.client.get("/v1/datasets/bus-routes-muroran/layers/stops/records",
                            params={**near, "limit": 20}).json()["records"]
    assert api
    response = portal.page("/datasets/bus-routes-muroran?layer=stops&near_stop="
                           f"{near['near_stop']}&radius={near['radius']}")
    assert response.status_code == 200, response.text
    assert table_first_cells(response.text) == [str(r[next(iter(r))]) for r in api]


def test_table_preview_refuses_a_limit_as_the_api_does(portal: Portal) -> None:
    too_many = portal.client.get("/v1/datasets/test-shops/records?limit=100000")
    assert too_many.status_code == 400
    page = portal.page("/datasets/test-shops?limit=100000")
    assert page.status_code == 400
    assert str(escape(too_many.json()["detail"])) in page.text


def test_a_bad_filter_is_explained_on_the_page(portal: Portal) -> None:
    response = portal.page("/datasets/test-shops?floors__gte=many&lang=en")
    assert response.status_code == 400
    assert 'role="alert"' in response.text and "floors" in response.text
    portal.client.cookies.clear()


def test_downloads_list_size_and_sha256_of_the_files(portal: Portal) -> None:
    html = portal.page("/datasets/test-shops").text
    links = re.findall(r'href="(/v1/datasets/test-shops/versions/2/download\.[^"]+)" download '
                       r'data-sha256="([0-9a-f]{64})"', html)
    assert {url.rsplit(".", 1)[-1] for url, _sha in links} >= {"csv", "geojson", "parquet",
                                                                "gpkg", "zip"}
    url, sha = next((u, s) for u, s in links if u.endswith("download.csv"))
    body = portal.client.get(url).content
    assert hashlib.sha256(body).hexdigest() == sha
    assert f'title="{len(body)} bytes"' in html


def test_citation_in_text_bibtex_and_cff(portal: Portal) -> None:
    html = portal.page("/datasets/test-shops").text
    section = html[html.index('id="citation-heading"'):html.index('id="api-heading"')]
    citation = portal.client.get("/v1/datasets/test-shops/versions/2").json()["citation"]
    cff_block = re.findall(r"<pre[^>]*><code>(.*?)</code></pre>", section, re.S)[2]
    cff = yaml.safe_load(cff_block.replace("&#34;", '"').replace("&#39;", "'")
                         .replace("&amp;", "&"))
    assert cff == citation["cff"]
    assert "@misc{test_shops_v2," in section


def test_api_examples_name_the_hub_and_qgis_url(portal: Portal) -> None:
    html = portal.page("/datasets/test-shops").text
    assert "curl &#39;http://testserver/v1/datasets/test-shops/versions/2/records" in html
    assert "import httpx" in html
    assert "http://testserver/ogc</code>" in html


def test_map_config_points_at_the_hubs_own_pinned_tiles(portal: Portal) -> None:
    html = portal.page("/datasets/bus-routes-muroran").text
    raw = re.search(r"data-map='([^']+)'", html)
    assert raw is not None
    config = orjson.loads(raw.group(1).replace("&#34;", '"').replace("&amp;", "&"))
    layers = {layer["id"]: layer for layer in config["layers"]}
    assert {"routes", "stops"} <= set(layers)
    stops = layers["stops"]
    assert stops["tilejson"] == ("/ogc/collections/bus-routes-muroran.stops@v1/tiles/"
                                 "WebMercatorQuad/tilejson.json")
    tilejson = portal.client.get(stops["tilejson"]).json()
    assert tilejson["tilejson"] == "3.0.0"
    west, south, east, north = config["bounds"]
    tile = mercantile.tile((west + east) / 2, (south + north) / 2, 12)
    template = tilejson["tiles"][0].removeprefix("http://testserver")
    response = portal.client.get(template.format(z=tile.z, x=tile.x, y=tile.y))
    assert response.status_code == 200
    assert stops["source_layer"] in mapbox_vector_tile.decode(response.content)


def test_versions_list_and_diff_page(portal: Portal) -> None:
    html = portal.page("/datasets/test-shops?lang=en").text
    assert 'href="/datasets/test-shops/diff?from=1&amp;to=2"' in html
    diff = portal.page("/datasets/test-shops/diff?from=1&to=2&lang=en")
    assert diff.status_code == 200
    api = portal.client.get("/v1/datasets/test-shops/versions/1/diff/2").json()
    removed = [c["key"]["shop_id"] for c in api["changes"] if c["change"] == "removed"]
    assert len(removed) == 10
    for shop_id in removed:
        assert f"<code>shop_id={shop_id}</code>" in diff.text
    portal.client.cookies.clear()


def test_an_older_version_can_be_shown(portal: Portal) -> None:
    html = portal.page("/datasets/test-shops?version=1&lang=en").text
    assert "not the current one" in html and "/versions/1/download.csv" in html
    portal.client.cookies.clear()


@pytest.mark.parametrize(("path", "status"), [
    ("/datasets/no-such-dataset", 404), ("/datasets/test-shops?version=9", 404),
    ("/datasets/test-shops/diff?from=1&to=9", 404),
    ("/datasets/test-shops/diff?from=1&to=2&cursor=!!", 400),
])
def test_errors_are_pages_with_the_reason(portal: Portal, path: str, status: int) -> None:
    response = portal.page(path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert '<p class="problem">' in response.text


@pytest.mark.parametrize("path", ["/requests", "/showcases"])
def test_co_creation_pages_have_their_place(portal: Portal, path: str) -> None:
    response = portal.page(path)
    assert response.status_code == 200 and 'aria-current="page"' in response.text


def test_the_staff_console_asks_a_visitor_to_sign_in(portal: Portal) -> None:
    response = portal.page("/staff")
    assert response.status_code == 401 and 'action="/signin"' in response.text


@pytest.mark.parametrize("path", ["/", "/datasets/test-shops", "/static/portal/portal.css"])
def test_pages_pass_the_rate_limit_like_any_request(portal: Portal, path: str) -> None:
    response = portal.page(path)
    assert response.status_code == 200
    assert response.headers["ratelimit-policy"].startswith('"anonymous";')
    assert "ratelimit" in response.headers


# -- self-contained --------------------------------------------------------------------------


PAGES = ["/", "/datasets/test-shops", "/datasets/bus-routes-muroran",
         "/datasets/test-shops/diff?from=1&to=2", "/requests", "/docs"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_load_nothing_from_another_host(portal: Portal, path: str) -> None:
    page = parse(portal.page(path).text)
    loaded = [url for t, a in page.tags
              if t in ("script", "img", "iframe", "link", "source")
              and (url := a.get("src") or a.get("href"))]
    assert loaded and all(not urlsplit(url).netloc for url in loaded), loaded


def test_docs_use_swagger_ui_served_by_the_hub(portal: Portal) -> None:
    html = portal.client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn.jsdelivr.net" not in html and "fastapi.tiangolo.com" not in html
    assert portal.client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert portal.client.get("/redoc").status_code == 404


def test_maplibre_is_served_with_its_licence(portal: Portal) -> None:
    client = portal.client
    assert client.get("/static/vendor/maplibre-gl/maplibre-gl.js").status_code == 200
    licence = client.get("/static/vendor/maplibre-gl/LICENSE.txt")
    assert licence.status_code == 200 and "Copyright" in licence.text


@pytest.mark.parametrize("path", ["/", "/datasets/test-shops", "/requests",
                                  "/docs", "/static/portal/portal.css",
                                  "/static/vendor/maplibre-gl/maplibre-gl.js"])
def test_head_of_a_page_or_asset_is_its_get_without_the_body(portal: Portal,
                                                              path: str) -> None:
    """RFC 9110 9.3.2, for pages as for the API (hub.api.routing.HeadAsGet); the assets are
    Starlette's own static files, which answer HEAD themselves."""
    get = portal.page(path)
    head = portal.client.head(path, headers=BROWSER)
    assert head.status_code == get.status_code == 200, head.text

    def comparable(headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
        return {k: v for k, v in headers.items() if k not in ("set-cookie", "ratelimit")}

    assert comparable(head.headers) == comparable(get.headers)
    assert get.content and head.content == b""
