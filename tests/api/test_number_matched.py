"""numberMatched: one counting rule for /v1 records and /ogc items (Data.number_matched).

Exact or absent, never a guess: the stored row count when nothing is filtered; the page's
own length on a first page that holds every match; otherwise a count that stops at
HUB_COUNT_CAP, left out when more rows match. Paging by the ``next`` link finds every match
either way.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from tests.api.conftest import Hub
from tests.conftest import make_settings
from tests.shopdata import CATEGORIES

V1 = "/v1/datasets/test-shops/records"
OGC = "/ogc/collections/test-shops/items"
CAP = 20


@pytest.fixture(scope="module")
def capped(hub: Hub) -> Iterator[TestClient]:
    """The same database served with a small count cap."""
    with TestClient(create_app(make_settings(hub.url, count_cap=CAP))) as client:
        yield client


def _category(hub: Hub, n: int) -> tuple[str, int]:
    return CATEGORIES[n], sum(1 for s in hub.shops_v2 if s.category == CATEGORIES[n])


def _pages(client: TestClient, url: str, params: dict[str, str]) -> Iterator[dict]:
    body = client.get(url, params=params).json()
    yield body
    while (following := [link["href"] for link in body["links"] if link["rel"] == "next"]):
        body = client.get(following[0]).json()
        yield body


def _items(body: dict) -> list[dict]:
    return body["features"] if "features" in body else body["records"]


@pytest.mark.parametrize("url", [V1, OGC])
def test_unfiltered_pages_carry_the_stored_row_count(hub: Hub, capped: TestClient,
                                                     url: str) -> None:
    assert capped.get(url, params={"limit": 5}).json()["numberMatched"] == len(hub.shops_v2)


@pytest.mark.parametrize("url", [V1, OGC])
def test_filtered_pages_count_exactly_up_to_the_cap(hub: Hub, url: str) -> None:
    category, expected = _category(hub, 0)
    assert expected > 10
    pages = list(_pages(hub.client, url, {"category": category, "limit": "10"}))
    assert len(pages) > 1
    assert [page["numberMatched"] for page in pages] == [expected] * len(pages)


@pytest.mark.parametrize("url", [V1, OGC])
def test_filtered_pages_leave_the_count_out_above_the_cap(hub: Hub, capped: TestClient,
                                                         url: str) -> None:
    category, expected = _category(hub, 0)
    assert expected > CAP
    pages = list(_pages(capped, url, {"category": category, "limit": "10"}))
    assert all("numberMatched" not in page for page in pages)
    assert sum(len(_items(page)) for page in pages) == expected  # paging still finds all


@pytest.mark.parametrize("url", [V1, OGC])
def test_a_first_page_holding_every_match_counts_itself(hub: Hub, url: str) -> None:
    with TestClient(create_app(make_settings(hub.url, count_cap=0))) as never_counts:
        category, expected = _category(hub, 0)
        body = never_counts.get(url, params={"category": category, "limit": "500"}).json()
        assert body["numberMatched"] == expected == len(_items(body))
        partial = never_counts.get(url, params={"category": category, "limit": "10"}).json()
        assert "numberMatched" not in partial
