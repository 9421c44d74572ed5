"""A published version's trigram index is split by ``_fid`` range, every ``q`` path reads
every part through the one search clause, and the matches are those of the terms alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, column, create_engine, select, text
from sqlalchemy.dialects import postgresql

from etl.load import SEARCH_INDEX_BUCKETS
from etl.pipeline import FileSource, publish_dataset
from hub.catalog import PublishedVersion, bucket_predicates, load_definition
from hub.db.tables import versions
from hub.query.model import FeatureQuery
from hub.query.records import count_statement, records_statement
from hub.settings import Settings
from hub.textfold import fold_query
from tests.shopdata import make_shops, write_csv

ROWS = 2000
# Folded as the API folds q: names are 渋谷<category><n>号店.
QUERIES = ["かふぇ", "カフェ", "号店", "渋谷", "1", "12", "119", "書店 1", "薬局 号店 2", "ない"]


@pytest.fixture
def version(settings: Settings, tmp_path: Path) -> Iterator[tuple[Engine, PublishedVersion]]:
    engine = create_engine(settings.database_url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    publish_dataset(definition, FileSource(write_csv(tmp_path / "shops.csv", make_shops(ROWS))),
                    engine=engine)
    with engine.connect() as conn:
        row = conn.execute(select(versions).where(versions.c.dataset_id == "test-shops")
                           ).mappings().one()
    yield engine, PublishedVersion.from_row(row)
    engine.dispose()


def _plan(conn: Connection, statement: Any) -> str:
    """EXPLAIN's JSON plan of a statement, with sequential scans priced out (a small
    table is otherwise read whole whatever its indexes)."""
    sql = str(statement.compile(dialect=postgresql.psycopg.dialect(),
                                compile_kwargs={"literal_binds": True}))
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    with conn.connection.driver_connection.cursor() as cur:
        cur.execute("EXPLAIN (FORMAT JSON) " + sql, {})  # parameters: %% is read as %
        return str(cur.fetchone()[0])


def test_the_trigram_index_is_one_partial_index_per_bucket(version) -> None:
    engine, published = version
    bounds = published.search_bounds  # as stored with the version
    assert len(bounds) == SEARCH_INDEX_BUCKETS - 1
    with engine.connect() as conn:
        found = dict(conn.execute(text(
            "SELECT i.relname, pg_get_expr(x.indpred, x.indrelid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = :t AND i.relname LIKE '%\\_search%'"),
            {"t": published.table_name}).all())
    written = [str(p.compile(dialect=postgresql.dialect()))
               for p in bucket_predicates(column("_fid"), bounds)]
    # the server writes each predicate back with parentheses around every comparison
    assert {name: predicate.replace("(", "").replace(")", "")
            for name, predicate in found.items()} == {
        f"{published.table_name}_search_{n}": predicate for n, predicate in enumerate(written)}


@pytest.mark.parametrize("path", ["records", "count"])
def test_every_q_path_reads_every_partial_index(version, path: str) -> None:
    engine, published = version
    table = published.query_table()
    query = FeatureQuery(q=fold_query("レストラン119号店"), limit=10)  # one row
    statement = {
        "records": lambda: records_statement(table, published.schema, query, has_geometry=True,
                                             output="geojson").statement,
        "count": lambda: count_statement(table, query, 1000),
    }[path]()
    with engine.begin() as conn:
        plan = _plan(conn, statement)
    assert "BitmapOr" in plan
    for n in range(SEARCH_INDEX_BUCKETS):
        assert f"{published.table_name}_search_{n}" in plan


@pytest.mark.parametrize("q", QUERIES)
def test_matches_are_those_of_the_terms(version, q: str) -> None:
    engine, published = version
    table = published.query_table()
    folded = fold_query(q)
    query = FeatureQuery(q=folded, limit=ROWS + 1)
    built = records_statement(table, published.schema, query, has_geometry=True, output="json")
    with engine.connect() as conn:
        got = [row[0] for row in conn.execute(built.statement)]
        counted = conn.execute(count_statement(table, query, ROWS)).scalar_one()
        terms = folded.split()
        where = " AND ".join(f"_search LIKE '%' || :t{i} || '%'" for i in range(len(terms)))
        expected = conn.execute(text(
            f'SELECT _fid FROM data."{published.table_name}" WHERE {where} ORDER BY _fid'),
            {f"t{i}": term for i, term in enumerate(terms)}).scalars().all()
    assert got == expected
    assert counted == len(expected)


def test_a_publish_builds_no_geography_index_and_analyses_the_table(version) -> None:
    """Radius searches read the ``geom`` index (hub.query.geodesic), so a version has no
    GiST on ``geography(geom)``; ANALYZE still runs, last, and gives ``geom`` statistics."""
    engine, published = version
    with engine.connect() as conn:
        definitions = conn.execute(text(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'data' AND tablename = :t"),
            {"t": published.table_name}).scalars().all()
        analysed = conn.execute(text(
            "SELECT count(*) FROM pg_stats WHERE schemaname = 'data' AND tablename = :t "
            "AND attname = 'geom'"), {"t": published.table_name}).scalar_one()
    assert any("USING gist (geom)" in d for d in definitions), definitions
    assert not any("geography" in d for d in definitions), definitions
    assert analysed == 1
