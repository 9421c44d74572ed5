"""HTTP parameters -> FeatureQuery: every accepted form and every rejected one."""

from __future__ import annotations

from datetime import date

import pytest

from hub.catalog import TableSchema
from hub.query.model import PageLimits, QueryError
from hub.query.params import (
    OGC_ITEM,
    OGC_ITEMS,
    V1_RECORD,
    check_record_parameters,
    decode_cursor,
    encode_cursor,
    parse_records_query,
)

SCHEMA = TableSchema.from_json(
    {
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "name", "type": "string"},
            {"name": "floors", "type": "integer"},
            {"name": "rating", "type": "number"},
            {"name": "open_24h", "type": "boolean"},
            {"name": "surveyed", "type": "date"},
        ],
        "primaryKey": ["id"],
    }
)


def parse(*pairs: tuple[str, str], geometry: bool = True):
    return parse_records_query(
        list(pairs), SCHEMA, has_geometry=geometry, limits=PageLimits(10, 100, 5000),
    )


def test_plain_equality_and_operators_are_typed() -> None:
    query = parse(("name", "カフェ"), ("floors__gte", "２"), ("rating__lt", "4.5"),
                  ("open_24h", "true"), ("surveyed__gt", "2020-01-01"))
    by_field = {f.field: f for f in query.filters}
    assert by_field["name"].op == "exact" and by_field["name"].value == "カフェ"
    assert by_field["floors"].op == "gte" and by_field["floors"].value == 2  # full-width digit
    assert by_field["rating"].value == 4.5
    assert by_field["open_24h"].value is True
    assert by_field["surveyed"].value == date(2020, 1, 1)


def test_in_and_isnull() -> None:
    query = parse(("floors__in", "1,2,3"), ("name__isnull", "false"))
    assert query.filters[0].value == (1, 2, 3)
    assert query.filters[1].op == "isnull" and query.filters[1].value is False


@pytest.mark.parametrize(
    ("pairs", "parameter", "fragment"),
    [
        ((("colour", "red"),), "colour", "unknown field 'colour'"),
        ((("name__like", "x"),), "name__like", "unknown operator 'like'"),
        ((("floors", "two"),), "floors", "not a valid integer"),
        ((("floors__contains", "1"),), "floors__contains", "does not apply to integer field"),
        ((("open_24h__gt", "true"),), "open_24h__gt", "does not apply to boolean"),
        ((("bbox", "1,2,3"),), "bbox", "4 numbers"),
        ((("bbox", "139,35,138,36"),), "bbox", "minLon is greater"),
        ((("bbox", "139,95,140,96"),), "bbox", "latitudes"),
        ((("near", "139.7,35.6"),), "near", "outside -90..90"),
        ((("near", "35.6,139.7"), ("radius", "0")), "radius", "more than 0"),
        ((("near", "35.6,139.7"), ("radius", "900000")), "radius", "at most 5000"),
        ((("radius", "0"),), "radius", "more than 0"),
        ((("within", "POINT (139 35)"),), "within", "Polygon or MultiPolygon"),
        ((("within", "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))"),), "within", "not a valid"),
        ((("within", "{not json"),), "within", "neither a GeoJSON"),
        ((("sort", "height"),), "sort", "unknown field 'height'"),
        ((("sort", "distance_m"),), "sort", "needs 'near'"),
        ((("fields", "id,nope"),), "fields", "nope"),
        ((("limit", "0"),), "limit", "between 1 and 100"),
        ((("limit", "1000"),), "limit", "between 1 and 100"),
        ((("limit", "ten"),), "limit", "integer"),
        ((("cursor", "!!!"),), "cursor", "malformed"),
        ((("q", "a"), ("q", "b")), "q", "more than once"),
    ],
)
def test_rejections_name_the_parameter(pairs, parameter, fragment) -> None:
    with pytest.raises(QueryError) as caught:
        parse(*pairs)
    assert caught.value.parameter == parameter
    assert fragment in caught.value.detail


def test_geometry_parameters_need_a_geometry() -> None:
    with pytest.raises(QueryError, match="has none"):
        parse(("bbox", "139,35,140,36"), geometry=False)


def test_geojson_polygon_accepted_as_wkt() -> None:
    polygon = '{"type":"Polygon","coordinates":[[[139,35],[140,35],[140,36],[139,35]]]}'
    query = parse(("within", polygon))
    assert query.within is not None and query.within.geom_type == "Polygon"


def test_a_radius_alone_qualifies_nothing_and_is_ignored() -> None:
    """As a lone `bbox-crs`: the documents cannot relate it to `near`, so they allow it
    alone; its value is still checked (above)."""
    assert parse(("radius", "100")) == parse()


def test_near_defaults_to_distance_sort() -> None:
    query = parse(("near", "35.6,139.7"))
    assert [k.field for k in query.sort] == ["distance_m"]
    assert query.is_unfiltered  # nearest-N without radius keeps every row


def test_cursor_round_trip_and_sort_binding() -> None:
    query = parse(("sort", "-surveyed,name"))
    token = encode_cursor((date(2020, 1, 2), "x"), 17, query)
    cursor = decode_cursor(token, query, SCHEMA)
    assert cursor.values == (date(2020, 1, 2), "x") and cursor.fid == 17  # typed again
    other = parse(("sort", "name"))
    with pytest.raises(QueryError, match="different sort"):
        decode_cursor(token, other, SCHEMA)


def test_a_v1_filter_may_be_repeated_and_each_one_holds() -> None:
    query = parse(("name__contains", "駅"), ("name__contains", "東"))
    assert [(f.op, f.value) for f in query.filters] == [("contains", "駅"), ("contains", "東")]


@pytest.mark.parametrize("key", ["name", "name__contains", "limit", "sortby"])
def test_ogc_refuses_any_parameter_given_twice(key: str) -> None:
    """OGC API - Features does not define a repeated property filter, and the OGC document
    declares one value for each property."""
    value = "name" if key == "sortby" else "1"
    with pytest.raises(QueryError, match="give it once") as caught:
        parse_records_query([(key, value), (key, value)], SCHEMA, has_geometry=True,
                            limits=PageLimits(10, 100, 5000), dialect=OGC_ITEMS)
    assert caught.value.parameter == key


@pytest.mark.parametrize(("dialect", "key", "value"), [
    (V1_RECORD, "f", "json"), (OGC_ITEM, "crs", "http://www.opengis.net/def/crs/OGC/1.3/CRS84")])
def test_a_single_record_takes_each_parameter_once(dialect, key: str, value: str) -> None:
    check_record_parameters([(key, value)], dialect)
    with pytest.raises(QueryError, match="give it once"):
        check_record_parameters([(key, value), (key, value)], dialect)
