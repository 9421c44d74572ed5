"""The trigram index's buckets: where they are cut, and the one clause that reaches them."""

from __future__ import annotations

from sqlalchemy import column
from sqlalchemy.dialects import postgresql

from hub.catalog import TableSchema, bucket_bounds, bucket_predicates, version_table
from hub.query.model import FeatureQuery
from hub.query.records import where_clause

SCHEMA = TableSchema.from_json({"fields": [{"name": "name", "type": "string"}]})


def _sql(clause) -> str:
    return str(clause.compile(dialect=postgresql.psycopg.dialect()))


def test_bounds_cut_fids_into_nearly_equal_ranges() -> None:
    assert bucket_bounds(1_000_000, 2) == (500_000,)
    assert bucket_bounds(10, 3) == (4, 7)
    assert bucket_bounds(7, 4) == (2, 4, 6)


def test_one_bucket_or_too_few_rows_make_one_index() -> None:
    assert bucket_bounds(1_000_000, 1) == ()
    assert bucket_bounds(1, 2) == ()
    assert bucket_bounds(0, 2) == ()


def test_predicates_cover_every_fid_once_with_literal_bounds() -> None:
    texts = [_sql(p) for p in bucket_predicates(column("_fid"), (4, 7))]
    assert texts == ["_fid <= 4", "_fid > 4 AND _fid <= 7", "_fid > 7"]
    assert bucket_predicates(column("_fid"), ()) == []


def test_search_clause_adds_the_buckets_of_a_split_index() -> None:
    table = version_table("x__v1", SCHEMA, has_geometry=False, search_bounds=(50,)).alias("t")
    compiled = where_clause(table, FeatureQuery(q="かふぇ 1")).compile(
        dialect=postgresql.psycopg.dialect())
    text = str(compiled)
    assert text.count("t._search LIKE") == 2
    assert "(t._fid <= 50 OR t._fid > 50)" in text
    assert "かふぇ" not in text and "かふぇ" in compiled.params.values()  # terms stay bound


def test_search_clause_of_a_whole_index_has_no_buckets() -> None:
    table = version_table("x__v1", SCHEMA, has_geometry=False).alias("t")
    assert "_fid" not in _sql(where_clause(table, FeatureQuery(q="かふぇ")))


def test_no_terms_no_bucket_clause() -> None:
    table = version_table("x__v1", SCHEMA, has_geometry=False, search_bounds=(50,)).alias("t")
    assert "_fid" not in _sql(where_clause(table, FeatureQuery(q="   ")))
