"""OGC parameter parsing that needs no database: collection ids, CRS names, bbox, datetime."""

from __future__ import annotations

from datetime import date

import pytest

from hub.catalog import TableSchema
from hub.query.model import PropertyFilter, QueryError
from hub.query.ogc_params import (
    CRS84,
    CollectionRef,
    collection_id,
    crs_by_uri,
    datetime_filters,
    parse_bbox,
    parse_collection_id,
)

SCHEMA = TableSchema.from_json({"fields": [{"name": "name", "type": "string"},
                                           {"name": "opened", "type": "date"}]})


@pytest.mark.parametrize("raw, ref", [
    ("kobe-aed", CollectionRef("kobe-aed", None, None)),
    ("kobe-aed@v3", CollectionRef("kobe-aed", None, 3)),
    ("bus-routes-muroran.stops", CollectionRef("bus-routes-muroran", "stops", None)),
    ("bus-routes-muroran.stops@v2", CollectionRef("bus-routes-muroran", "stops", 2)),
])
def test_collection_ids_round_trip(raw, ref):
    assert parse_collection_id(raw) == ref
    assert collection_id(ref.dataset_id, ref.layer, "records", ref.version) == raw


@pytest.mark.parametrize("raw", ["kobe-aed@3", "kobe-aed@v0", "kobe-aed@v", "kobe-aed.",
                                 ".stops", "@v1"])
def test_malformed_collection_ids_are_not_found(raw):
    with pytest.raises(LookupError):
        parse_collection_id(raw)


def test_main_layer_has_no_suffix():
    assert collection_id("gtfs", "stops", "stops") == "gtfs"
    assert collection_id("gtfs", "trips", "stops", 4) == "gtfs.trips@v4"


def test_crs_spellings():
    assert crs_by_uri("EPSG:4326", "crs").lat_lon
    assert crs_by_uri("[EPSG:6668]", "crs").srid == 6668
    assert crs_by_uri("https://www.opengis.net/def/crs/OGC/1.3/CRS84", "crs").uri == CRS84
    with pytest.raises(QueryError):
        crs_by_uri("EPSG:2451", "bbox-crs")


def test_bbox_axis_order_and_6_numbers():
    latlon = crs_by_uri("EPSG:4326", "bbox-crs")
    assert parse_bbox("35,139,36,140", latlon) == pytest.approx((139, 35, 140, 36))
    crs84 = crs_by_uri(CRS84, "bbox-crs")
    assert parse_bbox("139,35,0,140,36,10", crs84) == (139, 35, 140, 36)
    with pytest.raises(QueryError):
        parse_bbox("140,35,139,36", crs84)


def test_datetime_intervals_become_property_filters():
    assert datetime_filters("2020-01-01/2020-12-31", SCHEMA) == (
        PropertyFilter("opened", "gte", date(2020, 1, 1)),
        PropertyFilter("opened", "lte", date(2020, 12, 31)))
    assert datetime_filters("../2020-12-31", SCHEMA) == (
        PropertyFilter("opened", "lte", date(2020, 12, 31)),)
    assert datetime_filters("2020-05-05T10:00:00Z", SCHEMA) == (
        PropertyFilter("opened", "exact", date(2020, 5, 5)),)
    with pytest.raises(QueryError):
        datetime_filters("2021-01-01/2020-01-01", SCHEMA)
    no_time = TableSchema.from_json({"fields": [{"name": "name", "type": "string"}]})
    with pytest.raises(QueryError, match="no"):
        datetime_filters("2020-01-01", no_time)


def test_an_interval_of_a_day_and_a_time_with_an_offset_is_two_bounds():
    """Both are RFC 3339 as the document's pattern allows; Python cannot order a day read
    at midnight without an offset against a time with one (a TypeError: a 500)."""
    timed = TableSchema.from_json({"fields": [{"name": "at", "type": "datetime"}]})
    start, end = datetime_filters("2020-01-01/2020-01-01T10:00:00-06:00", timed)
    assert (start.op, end.op) == ("gte", "lte")
    assert end.value.utcoffset() is not None and start.value.tzinfo is None
