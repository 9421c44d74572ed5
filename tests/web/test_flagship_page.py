"""The headline question on the home page and the pages of the datasets it joins: the
counts, tables and map URLs are the /v1 answers, with the line's route id found in the feed.

The three Kobe datasets are published with the hub's own ETL into a real PostGIS; every
number the page shows is compared with the API's answer to the URL the page prints."""

from __future__ import annotations

import html as html_text
import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from etl.publish import publish
from etl.sources import prepare_source
from hub.api.app import create_app
from hub.catalog import load_definition
from hub.cocreation.publishing import withdraw_version
from tests.conftest import ROOT, create_test_database, drop_test_database, make_settings
from tests.web.conftest import BROWSER
from tests.web.test_pages import parse

KOBE = ("kobe-subway", "kobe-ud-toilets", "kobe-aed")


def publish_kobe(url: str, datasets: tuple[str, ...] = KOBE) -> None:
    engine = create_engine(url)
    try:
        for dataset_id in datasets:
            definition = load_definition(dataset_id, ROOT / "datasets", ROOT / "schemas")
            source = definition.directory / definition.source["file"]
            publish(engine, prepare_source(
                definition, source, skip_invalid=bool(definition.source.get("skip_invalid"))),
                publisher="test")
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def kobe(pg_cluster) -> Iterator[TestClient]:
    url = create_test_database(pg_cluster)
    publish_kobe(url)
    settings = make_settings(url, assets_dir=ROOT / "node_modules")
    with TestClient(create_app(settings)) as client:
        yield client
    drop_test_database(pg_cluster, url)


def api_links(page: str) -> list[str]:
    return [html_text.unescape(a["href"] or "") for t, a in parse(page).tags
            if t == "a" and "api-link" in (a.get("class") or "")
            and "near_route" in (a.get("href") or "")]


def flagship_map(page: str) -> dict:
    (config,) = [a["data-flagship"] for t, a in parse(page).tags if a.get("data-flagship")]
    return json.loads(config or "")


def counts(page: str) -> dict[str, int]:
    """Each dataset's count as the page prints it (``data-count`` holds the same number)."""
    found = {}
    for dataset_id, count, text in re.findall(
            r'<span class="count" data-dataset="([^"]+)" data-count="(\d+)">([^<]*)<', page):
        assert count in text.replace(",", ""), text
        found[dataset_id] = int(count)
    return found


@pytest.mark.parametrize("path", ["/", "/datasets/kobe-ud-toilets", "/datasets/kobe-aed",
                                  "/datasets/kobe-subway"])
def test_the_question_is_answered_with_the_api_calls_it_prints(kobe: TestClient,
                                                                path: str) -> None:
    page = kobe.get(path, headers=BROWSER)
    assert page.status_code == 200, page.text
    assert "西神・山手線" in page.text
    links = api_links(page.text)
    assert links == [
        "/v1/datasets/kobe-ud-toilets/records?near_route=kobe-subway%3Aseishin&radius=300"
        "&sort=distance_m",
        "/v1/datasets/kobe-aed/records?near_route=kobe-subway%3Aseishin&radius=300"
        "&sort=distance_m"]
    shown = counts(page.text)
    for link in links:
        dataset_id = link.split("/")[3]
        answer = kobe.get(link + "&limit=1000").json()
        assert shown[dataset_id] == len(answer["records"])
    assert shown == {"kobe-ud-toilets": 29, "kobe-aed": 143}


def test_the_table_lists_the_nearest_records_as_the_api_orders_them(kobe: TestClient) -> None:
    page = kobe.get("/", headers=BROWSER).text
    first = kobe.get(api_links(page)[0] + "&limit=10").json()["records"]
    section = page.split('id="flagship-caption-1"', 1)[1].split("</table>", 1)[0]
    names = re.findall(r"<tr><td>([^<]*)</td>", section)
    assert names == [r["name"] for r in first]


def test_the_map_draws_the_same_queries_the_line_and_its_stations(kobe: TestClient) -> None:
    config = flagship_map(kobe.get("/", headers=BROWSER).text)
    for layer in config["layers"]:
        assert "near_route=kobe-subway%3Aseishin" in layer["url"] and "f=geojson" in layer["url"]
    toilets = kobe.get(config["layers"][0]["url"]).json()
    assert len(toilets["features"]) == 29
    line = kobe.get(config["line"]).json()
    assert [f["properties"]["route_id"] for f in line["features"]] == ["seishin"]
    stations = kobe.get(config["stations"]).json()["features"]
    names = {f["properties"]["stop_name"] for f in stations}
    assert {"谷上", "西神中央", "三宮"} <= names and "新長田" in names


def test_a_search_page_does_not_repeat_the_question(kobe: TestClient) -> None:
    page = kobe.get("/", params={"q": "AED"}, headers=BROWSER).text
    assert "flagship-heading" not in page


def test_the_question_follows_the_language(kobe: TestClient) -> None:
    en = kobe.get("/?lang=en", headers=BROWSER).text
    ja = kobe.get("/?lang=ja", headers=BROWSER).text
    assert "Multipurpose toilets and AEDs within 300 m of the stations of the 西神・山手線" in en
    assert "西神・山手線の駅から300 m以内の多目的トイレとAED" in ja


def test_without_the_feed_the_question_is_not_shown(pg_cluster) -> None:
    """Also: the answer kept for the current versions is asked again once one changes (the
    feed published: shown; a dataset's only version withdrawn: not shown)."""
    url = create_test_database(pg_cluster)
    try:
        publish_kobe(url, ("kobe-ud-toilets",))
        settings = make_settings(url)
        with TestClient(create_app(settings)) as client:
            home = client.get("/", headers=BROWSER)
            assert home.status_code == 200 and "flagship-heading" not in home.text
            page = client.get("/datasets/kobe-ud-toilets", headers=BROWSER)
            assert page.status_code == 200 and "flagship-heading" not in page.text
            publish_kobe(url, ("kobe-subway", "kobe-aed"))
            assert counts(client.get("/", headers=BROWSER).text) == {
                "kobe-ud-toilets": 29, "kobe-aed": 143}
            engine = create_engine(url)
            try:
                withdraw_version(settings, engine, "kobe-aed", 1, "test")
            finally:
                engine.dispose()
            assert "flagship-heading" not in client.get("/", headers=BROWSER).text
    finally:
        drop_test_database(pg_cluster, url)
