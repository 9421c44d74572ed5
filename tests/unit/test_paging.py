"""The next-page URL: the same request with only the cursor moved."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from hub.api.paging import next_link_header, next_page_url


def test_next_page_keeps_every_parameter_in_order_and_replaces_the_cursor() -> None:
    params = [("name__in", "a,b"), ("cursor", "old"), ("sort", "-name"), ("name__in", "c"),
              ("q", "渋谷 書店")]
    url = next_page_url("https://hub.example/v1/datasets/x/records", params, "new")
    parts = urlsplit(url)
    assert parts.path == "/v1/datasets/x/records"
    assert parse_qsl(parts.query) == [("name__in", "a,b"), ("sort", "-name"),
                                      ("name__in", "c"), ("q", "渋谷 書店"), ("cursor", "new")]


def test_first_page_gets_a_cursor() -> None:
    assert next_page_url("/items", [("limit", "2")], "c2") == "/items?limit=2&cursor=c2"


def test_link_header() -> None:
    assert next_link_header("/items?cursor=c") == '</items?cursor=c>; rel="next"'
