"""A thinned tile reads each kept row by its key, whatever PostgreSQL estimates.

A filtered tile (``?category=...``, or any CQL2 filter) makes the planner expect a handful of
rows. Joined to the table, the kept cells were then compared with every kept row by a join
filter: quadratic in the cells, 177 ms instead of 18 ms for 1,264 kept rows of the 1M bench
table. The plan is read here with ``EXPLAIN ANALYZE`` on a real PostGIS: no row may be
removed by a join filter, and the kept rows must be read through the primary key."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, Table
from sqlalchemy.dialects import postgresql

from hub.catalog import SchemaField, TableSchema
from hub.query.model import FeatureQuery, PropertyFilter
from hub.query.tiles import search_bounds, tile_parameters, tile_statements, tiles_over
from tests.conftest import version_table_holding

SCHEMA = TableSchema(fields=(SchemaField(name="name", type="string"),
                             SchemaField(name="category", type="string")))
CATEGORIES = [f"category {n}" for n in range(20)]
AREA = (139.69, 35.65, 139.71, 35.67)  # about 1.8 x 2.2 km in Shibuya
ZOOM = 14


@pytest.fixture(scope="module")
def dense_table(pg_cluster) -> Iterator[tuple[Engine, Table]]:
    """20,000 points in one z14 tile's area, in 20 categories of 1,000 each."""
    rng = random.Random(5)
    west, south, east, north = AREA
    rows = [{"geom": f"SRID=4326;POINT({rng.uniform(west, east)!r} {rng.uniform(south, north)!r})",
             "name": f"place {n}", "category": CATEGORIES[n % len(CATEGORIES)]}
            for n in range(20_000)]
    with version_table_holding(pg_cluster, "dense_places__v1", SCHEMA, rows) as made:
        yield made


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def test_a_filtered_thinned_tile_reads_its_kept_rows_by_key(dense_table):
    engine, table = dense_table
    centre = ((AREA[0] + AREA[2]) / 2, (AREA[1] + AREA[3]) / 2)
    first_x, first_y, last_x, last_y = tiles_over((*centre, *centre), ZOOM)
    x, y = (first_x + last_x) // 2, (first_y + last_y) // 2  # the tile of the centre
    west, south, east, north = search_bounds(ZOOM, x, y)
    query = FeatureQuery(filters=(PropertyFilter("category", "exact", CATEGORIES[3]),))
    statement = tile_statements(table, SCHEMA, query, "places").thinned
    compiled = statement.compile(dialect=postgresql.dialect())
    parameters = {**compiled.params, **tile_parameters(ZOOM, x, y), "cell": 16.0}
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        (plan_json,) = raw.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + str(compiled),
                                   parameters).fetchone()
        kept = len(raw.execute(
            "SELECT 1 FROM " + table.fullname + " WHERE category = %(c)s AND geom && "
            "ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326)",
            {"c": CATEGORIES[3], "w": west, "s": south, "e": east, "n": north}).fetchall())
    plan = (plan_json if isinstance(plan_json, list) else json.loads(plan_json))[0]["Plan"]
    nodes = list(_nodes(plan))
    removed = sum(node.get("Rows Removed by Join Filter", 0) for node in nodes)
    assert removed == 0, f"{removed} rows compared and dropped by a join filter"
    by_key = [node for node in nodes if node.get("Relation Name") == table.name
              and "pkey" in node.get("Index Name", "")]
    assert by_key, "the kept rows should be read through the primary key"
    assert kept > 300, kept
    assert sum(node["Actual Rows"] * node["Actual Loops"] for node in by_key) > kept // 2
