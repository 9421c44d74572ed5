"""CQL2 text/JSON -> checked tree -> SQL, compiled against the PostgreSQL dialect (no database)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy.dialects import postgresql

from hub.catalog import TableSchema, version_table
from hub.query.cql2 import cql2_predicate, parse_cql2
from hub.query.model import QueryError
from hub.query.ogc_params import crs_by_uri, to_crs84

SCHEMA = TableSchema.from_json({
    "fields": [
        {"name": "shop_id", "type": "string"},
        {"name": "name", "type": "string"},
        {"name": "floors", "type": "integer"},
        {"name": "step_free", "type": "boolean"},
        {"name": "opened", "type": "date"},
        {"name": "rating", "type": "number"},
    ],
    "primaryKey": ["shop_id"],
})
TABLE = version_table("shops__v1", SCHEMA, has_geometry=True)


def sql(text: str, lang: str = "cql2-text", **kwargs) -> str:
    tree = parse_cql2(text, lang, SCHEMA, has_geometry=True, **kwargs)
    clause = cql2_predicate(tree, TABLE)
    return str(clause.compile(dialect=postgresql.dialect(),
                              compile_kwargs={"literal_binds": True}))


def test_comparisons_are_typed_like_their_field():
    assert sql("floors >= 3") == "data.shops__v1.floors >= 3"
    assert sql("name = 'カフェ'") == "data.shops__v1.name = 'カフェ'"
    assert sql("step_free = true") == "data.shops__v1.step_free = true"
    assert sql("opened > DATE('2020-01-01')") == "data.shops__v1.opened > '2020-01-01'"
    # GDAL 3.6 writes dates as quoted text with a trailing T
    assert sql("opened >= '2020-01-01T'") == "data.shops__v1.opened >= '2020-01-01'"
    assert sql("rating <> 3") == "data.shops__v1.rating != 3.0"


def test_logic_like_between_in_isnull():
    assert sql("(name LIKE '渋谷%') AND (floors BETWEEN 2 AND 5)") == (
        "data.shops__v1.name LIKE '渋谷%%' AND data.shops__v1.floors BETWEEN 2 AND 5"
    )
    assert sql("floors IN (1, 2) OR NOT (floors IS NULL)") == (
        "data.shops__v1.floors IN (1, 2) OR data.shops__v1.floors IS NOT NULL"
    )
    assert sql("CASEI(name) LIKE CASEI('%Cafe%')") == (
        "lower(data.shops__v1.name) LIKE lower('%%Cafe%%')"
    )
    assert sql("floors IS NOT NULL") == "data.shops__v1.floors IS NOT NULL"


def test_json_encoding_gives_the_same_sql_as_text():
    as_json = json.dumps({"op": "and", "args": [
        {"op": "between", "args": [{"property": "floors"}, 2, 5]},
        {"op": "in", "args": [{"property": "name"}, ["a", "b"]]},
    ]})
    assert sql(as_json, "cql2-json") == sql("floors BETWEEN 2 AND 5 AND name IN ('a', 'b')")


def test_spatial_operators_use_the_stored_column_and_a_crs84_literal():
    out = sql("S_INTERSECTS(geometry, POLYGON((139 35, 140 35, 140 36, 139 36, 139 35)))")
    assert out.startswith("ST_Intersects(data.shops__v1.geom, ST_GeomFromText('POLYGON ((139 35")
    assert out.endswith(", 4326))")
    assert sql("S_WITHIN(geometry, BBOX(139, 35, 140, 36))").startswith(
        "ST_Within(data.shops__v1.geom, ST_GeomFromText('POLYGON ((140 35, 140 36"
    )
    # literal first: A within geom == geom contains A
    assert sql("S_WITHIN(POINT(139.7 35.6), geometry)").startswith("ST_Contains(")
    dwithin = sql("S_DWITHIN(geometry, POINT(139.7 35.6), 100, meters)")
    point = "geography(ST_GeomFromText('POINT (139.7 35.6)', 4326))"
    # boxes around the literal on the geom index (and moved a turn east and west), then the
    # sphere ring, the exact spheroid test only between 99 and 101 metres
    box = "ST_Expand(ST_GeomFromText('POINT (139.7 35.6)', 4326), "
    assert dwithin.startswith(f"((data.shops__v1.geom && {box}")
    assert dwithin.count("data.shops__v1.geom && ") == 3
    assert dwithin.count(f"ST_Translate({box}") == 2
    assert dwithin.endswith(
        f" AND ST_DWithin(geography(data.shops__v1.geom), {point}, 101.0, false) "
        f"AND (ST_DWithin(geography(data.shops__v1.geom), {point}, 99.0, false) "
        f"OR ST_DWithin(geography(data.shops__v1.geom), {point}, 100.0))")


def test_filter_crs_reprojects_the_literal_not_the_column():
    latlon = to_crs84(crs_by_uri("EPSG:4326", "filter-crs"))
    out = sql("S_INTERSECTS(geometry, POINT(35.6 139.7))", to_crs84=latlon)
    assert "POINT (139.7 35.6)" in out
    mercator = to_crs84(crs_by_uri("http://www.opengis.net/def/crs/EPSG/0/3857", "filter-crs"))
    out = sql("S_INTERSECTS(geometry, POINT(15551000 4247000))", to_crs84=mercator)
    assert "data.shops__v1.geom" in out and "POINT (139.6" in out


@pytest.mark.parametrize("bad, fragment", [
    ("colour = 'red'", "unknown property 'colour'"),
    ("floors = 'many'", "cannot be compared"),
    ("floors LIKE '1%'", "LIKE needs a text property"),
    ("floors + 1 > 3", "arithmetic"),
    ("T_AFTER(opened, DATE('2020-01-01'))", "temporal operator"),
    ("geometry = 1", "does not apply to the geometry"),
    ("S_INTERSECTS(geometry, POINT(500 500))", "outside lon"),
    ("name = ", "not valid cql2-text"),
    ("S_DWITHIN(geometry, POINT(139 35), -1, meters)", "non-negative"),
    ("S_DWITHIN(geometry, POINT(139 35), 1, furlongs)", "units"),
    ("opened > DATE('2020-13-45')", "DATE"),
    ("(" * 5000 + "floors = 1" + ")" * 5000, "nested"),
    ("NOT " * 3000 + "floors = 1", "nested"),
    ("name = 'a\x00'", "NUL"),
])
def test_bad_filters_are_query_errors_naming_the_parameter(bad, fragment):
    with pytest.raises(QueryError) as info:
        sql(bad)
    assert fragment in info.value.detail
    assert info.value.parameter == "filter"


def test_unknown_json_operator_and_language():
    with pytest.raises(QueryError, match="not supported"):
        sql(json.dumps({"op": "bogus", "args": []}), "cql2-json")
    with pytest.raises(QueryError) as info:
        parse_cql2("a = 1", "sql", SCHEMA, has_geometry=True)
    assert info.value.parameter == "filter-lang"


def test_values_are_bound_not_inlined():
    tree = parse_cql2("name = 'x''; DROP TABLE y; --'", "cql2-text", SCHEMA, has_geometry=True)
    compiled = cql2_predicate(tree, TABLE).compile(dialect=postgresql.dialect())
    assert "DROP" not in str(compiled)
    assert list(compiled.params.values()) == ["x'; DROP TABLE y; --"]
    assert parse_cql2("opened = DATE('2021-02-03')", "cql2-text", SCHEMA,
                      has_geometry=True)["args"][1] == date(2021, 2, 3)
