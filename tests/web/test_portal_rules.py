"""Pure rules of the portal: language choice, content negotiation, the table's query, and
the translation catalogues kept complete."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from hub.catalog import TableSchema
from hub.query.model import PageLimits
from hub.query.params import V1, parse_records_query
from hub.web.i18n import LOCALE_DIR, choose_language
from hub.web.negotiation import prefers_html
from hub.web.views import (
    display_cell,
    facet_url,
    filter_inputs,
    licence_facet_label,
    licence_view,
    table_query,
)

WEB = LOCALE_DIR.parent
COCREATION = WEB.parent / "cocreation"


def test_language_order_query_cookie_header_default() -> None:
    assert choose_language("en", "ja", "ja") == "en"
    assert choose_language(None, "en", "ja") == "en"
    assert choose_language(None, None, "fr-FR, en-US;q=0.8, ja;q=0.5") == "en"
    assert choose_language(None, None, "en;q=0.2, ja;q=0.9") == "ja"
    assert choose_language("xx", "zz", "en;q=0") == "ja"  # unknown values ignored; q=0 is "no"
    assert choose_language(None, None, None) == "ja"


def test_html_only_for_clients_that_rank_it_above_json() -> None:
    assert prefers_html("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    assert prefers_html("text/html;q=0.9, application/json;q=0.5")
    assert not prefers_html(None)
    assert not prefers_html("*/*")
    assert not prefers_html("application/json")
    assert not prefers_html("application/json, text/html")
    assert not prefers_html("text/*")
    assert not prefers_html("text/html;q=0")


def test_table_query_drops_page_parameters_and_empty_fields() -> None:
    items = [("lang", "en"), ("version", "2"), ("layer", "stops"), ("q", "駅"),
             ("name__contains", ""), ("floors__gte", "3"), ("cursor", "abc")]
    assert table_query(items) == [("q", "駅"), ("floors__gte", "3"), ("cursor", "abc")]


def test_facet_links_toggle_and_restart_paging() -> None:
    params = [("q", "bus"), ("keyword", "GTFS"), ("offset", "20")]
    assert facet_url("/", params, "keyword", "バス", repeatable=True) == (
        "/?q=bus&keyword=GTFS&keyword=%E3%83%90%E3%82%B9", False)
    assert facet_url("/", params, "keyword", "GTFS", repeatable=True) == ("/?q=bus", True)
    assert facet_url("/", [("format", "gtfs")], "format", "table", repeatable=False) == (
        "/?format=table", False)


SCHEMA = TableSchema.from_json({"fields": [
    {"name": "name", "type": "string"}, {"name": "floors", "type": "integer"},
    {"name": "opened", "type": "date"}, {"name": "step_free", "type": "boolean"},
    {"name": "open_at", "type": "time"}]})


def test_table_form_offers_operators_the_api_accepts_for_each_type() -> None:
    names = [i["name"] for i in filter_inputs(SCHEMA, {})]
    assert names == ["name__contains", "floors__gte", "floors__lte", "opened__gte",
                     "opened__lte", "step_free", "open_at__gte", "open_at__lte"]
    limits = PageLimits(20, 1000, 50_000.0)
    for name in names:  # every input the form offers is a filter the records parser takes
        value = {"step_free": "true", "opened": "2020-01-01", "open_at": "09:30"}.get(
            name.split("__")[0], "3")
        parse_records_query([(name, value)], SCHEMA, has_geometry=True, limits=limits,
                            dialect=V1)


def test_licence_is_the_api_object_in_the_page_language() -> None:
    row = {"licence": "CC-BY-4.0", "licence_note": "as published", "licence_title": None,
           "licence_url": None}
    en, ja = licence_view(row, "en"), licence_view(row, "ja")
    assert en["title"] == "Creative Commons Attribution 4.0 International"
    assert ja["title"] == "クリエイティブ・コモンズ 表示 4.0 国際"
    assert en["url"] == ja["url"] == "https://creativecommons.org/licenses/by/4.0/"
    assert en["note"] == "as published"
    other = {"licence": "other", "licence_note": "", "licence_title": "市の利用規約",
             "licence_url": "https://example.city/terms"}
    assert licence_view(other, "en")["title"] == "市の利用規約"
    assert licence_facet_label("PDL-1.0", "ja") == "公共データ利用規約 第1.0版"
    assert licence_facet_label("other", "ja") is None


def test_long_geometries_are_not_printed_in_the_table() -> None:
    assert display_cell("geometry", "POINT(135.1 34.6)") == "POINT(135.1 34.6)"
    assert display_cell("geometry", "LINESTRING(1 2,3 4)") == "LINESTRING (…)"
    assert display_cell("name", None) == ""


def test_every_interface_text_is_translated() -> None:
    """A message added to a template or page without a Japanese translation fails here
    (update with pybabel extract/update, see docs/portal.md)."""
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    # (message, context): pgettext's context tells apart one English word with two meanings.
    # hub/cocreation marks the English texts of its codes with N_ (hub.cocreation.messages).
    used = {(message, context) for folder in (WEB, COCREATION)
            for _f, _l, message, _c, context in extract_from_dir(
                str(folder), method_map=method_map, options_map=options)
            if isinstance(message, str)}
    assert len(used) > 50  # the extraction itself works
    for language in ("ja", "en"):
        with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
            known = {(m.id, m.context) for m in read_po(po) if m.id}
        assert used <= known, (language, used - known)
    with (LOCALE_DIR / "ja" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        untranslated = [m.id for m in read_po(po) if (m.id, m.context) in used and not m.string]
    assert untranslated == []
