"""The count behind numberMatched stops reading at the cap (Data.number_matched)."""

from __future__ import annotations

import re

from sqlalchemy.dialects import postgresql

from hub.catalog import TableSchema, version_table
from hub.query.model import PageLimits
from hub.query.params import parse_records_query
from hub.query.records import count_statement

SCHEMA = TableSchema.from_json(
    {"fields": [{"name": "id", "type": "string"}, {"name": "category", "type": "string"}],
     "primaryKey": ["id"]}
)
TABLE = version_table("shops__v1", SCHEMA, has_geometry=True)


def test_the_count_reads_at_most_one_row_past_the_cap() -> None:
    query = parse_records_query([("category", "カフェ")], SCHEMA, has_geometry=True,
                                limits=PageLimits(10, 100, 5000))
    sql = count_statement(TABLE, query, 1000).compile(dialect=postgresql.psycopg.dialect())
    text = " ".join(str(sql).split())
    assert text.startswith("SELECT count(*) AS count_1 FROM (SELECT")
    assert re.search(r"LIMIT %\(param_\d\)s::INTEGER\) AS anon_1$", text)
    assert 1001 in sql.params.values() and "カフェ" in sql.params.values()
