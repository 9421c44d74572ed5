"""The records builder compiles to PostgreSQL with every value bound, never inlined."""

from __future__ import annotations

from psycopg import _queries as psycopg_queries
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from hub.catalog import PublishedVersion, TableSchema, version_table
from hub.query.model import PageLimits
from hub.query.params import parse_records_query
from hub.query.records import records_statement, sql_text

SCHEMA = TableSchema.from_json(
    {"fields": [{"name": "id", "type": "string"}, {"name": "name", "type": "string"},
                {"name": "floors", "type": "integer"}], "primaryKey": ["id"]}
)
TABLE = version_table("shops__v1", SCHEMA, has_geometry=True)


def compiled(pairs, output="json"):
    query = parse_records_query(pairs, SCHEMA, has_geometry=True, limits=PageLimits(10, 100, 5000))
    built = records_statement(TABLE, SCHEMA, query, has_geometry=True, output=output)
    return built.statement.compile(dialect=postgresql.psycopg.dialect())


def test_values_are_bound_not_inlined() -> None:
    sql = compiled([("name", "x'; DROP TABLE t; --"), ("q", "カフェ"), ("floors__gte", "3")])
    text = str(sql)
    assert "DROP TABLE" not in text and "カフェ" not in text
    assert "x'; DROP TABLE t; --" in sql.params.values()


def test_radius_is_prefiltered_by_a_bound_box_on_the_geom_column() -> None:
    sql = compiled([("near", "35.6,139.7"), ("radius", "300")])
    text = str(sql)
    assert "data.shops__v1.geom && CAST(%(point_box_0)s" in text
    assert sql.params["point_box_0"].startswith("SRID=4326;POLYGON((139.69")
    assert "ST_DWithin(geography(data.shops__v1.geom)" in text
    # nearest first inside the radius: the bounded plan, ordered by exact distance
    assert "WITH nearest_bound AS" in text
    assert "ST_Distance(geography(data.shops__v1.geom)" in text


def test_nearest_without_radius_is_bounded_by_planar_knn_candidates() -> None:
    """Candidates by KNN on the geom index, then the rows within their farthest spheroid
    distance (a box computed from it on the geom index, then ST_DWithin), ordered by the
    exact distance and _fid (see _nearest_page)."""
    text = str(compiled([("near", "35.6,139.7")]))
    assert "WITH nearest_bound AS" in text
    assert "ORDER BY data.shops__v1.geom <-> CAST(%(near_point)s" in text
    assert "ST_DWithin(geography(data.shops__v1.geom)" in text
    assert "nearest_box AS" in text and "data.shops__v1.geom && nearest_box.box" in text
    assert "ORDER BY nearest._k0 ASC NULLS LAST, nearest._fid ASC" in text


def test_farthest_first_and_other_sorts_take_the_plain_plan() -> None:
    for pairs in ([("near", "35.6,139.7"), ("sort", "-distance_m")],
                  [("near", "35.6,139.7"), ("radius", "300"), ("sort", "-distance_m")],
                  [("near", "35.6,139.7"), ("sort", "name")]):
        assert "nearest_bound" not in str(compiled(pairs))


def test_page_fetches_one_extra_row_and_orders_by_fid_last() -> None:
    sql = compiled([("sort", "-floors"), ("limit", "20")])
    limit_param = str(sql).rstrip().rsplit("LIMIT %(", 1)[1].split(")s")[0]
    assert sql.params[limit_param] == 21
    assert "data.shops__v1.floors DESC NULLS LAST, data.shops__v1._fid ASC" in str(sql)


def test_geojson_feature_uses_primary_key_as_id() -> None:
    text = str(compiled([], output="geojson"))
    assert "json_build_object" in text and "data.shops__v1.id" in text


def test_csv_projects_fields_and_wkt_geometry() -> None:
    text = str(compiled([("fields", "name")], output="csv"))
    assert "ST_AsText(data.shops__v1.geom) AS geometry" in text
    assert "data.shops__v1.floors" not in text


def test_json_keys_are_written_into_the_sql_not_bound() -> None:
    sql = compiled([], output="geojson")
    text = str(sql)
    assert "'properties', json_build_object('id', " in text and "'floors', " in text
    assert not {"id", "name", "floors", "properties", "Feature"} & set(map(str,
                                                                          sql.params.values()))


def test_written_text_is_quoted_and_escaped() -> None:
    text = str(select(sql_text("it's 100%")).compile(dialect=postgresql.psycopg.dialect()))
    assert "'it''s 100%%'" in text  # SQL quote doubled; % doubled for the pyformat driver


def test_the_near_point_is_one_parameter() -> None:
    sql = compiled([("near", "35.6,139.7"), ("radius", "300")])
    assert sql.params["near_point"] == "SRID=4326;POINT(139.7 35.6)"
    assert not any(name.startswith("ST_MakePoint") for name in sql.params)


BENCH_LIKE = TableSchema.from_json({
    "fields": [{"name": n, "type": "string"} for n in (
        "id", "name", "name_kana", "category", "address", "ward", "postal_code", "phone",
        "website", "opened", "floors", "rating", "step_free", "latitude", "longitude",
        "updated")],
    "primaryKey": ["id"],
})


def test_a_nearest_page_is_short_enough_for_psycopgs_query_cache() -> None:
    """psycopg converts ``%(name)s`` placeholders in Python, and caches the conversion only
    for queries up to MAX_CACHED_STATEMENT_LENGTH characters with up to
    MAX_CACHED_STATEMENT_PARAMS parameters; past either, a radius page paid a fifth of the
    server's time converting the same text again."""
    version = PublishedVersion(
        dataset_id="bench-tokyo-places", version=1, table_name="bench_tokyo_places__v1",
        schema=BENCH_LIKE, has_geometry=True, row_count=1, bbox=None, content_sha256="0",
        status="published", withdrawn_reason=None, meta={})
    for pairs in ([("near", "35.69,139.7"), ("radius", "500"), ("limit", "100")],
                  [("near", "35.69,139.7"), ("limit", "100")]):
        query = parse_records_query(pairs, BENCH_LIKE, has_geometry=True,
                                    limits=PageLimits(10, 1000, 5000))
        built = records_statement(version.query_table(), BENCH_LIKE, query,
                                  has_geometry=True, output="geojson")
        sql = built.statement.compile(dialect=postgresql.psycopg.dialect())
        assert "data.bench_tokyo_places__v1 AS t" in str(sql)
        assert len(str(sql)) <= psycopg_queries.MAX_CACHED_STATEMENT_LENGTH
        assert len(sql.params) <= psycopg_queries.MAX_CACHED_STATEMENT_PARAMS
