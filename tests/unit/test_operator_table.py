"""The operator table is the one source of the operators: parser, SQL and documentation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.dialects import postgresql

from hub.api.v1 import RECORDS_DESCRIPTION
from hub.catalog import TableSchema
from hub.query.model import PageLimits, QueryError
from hub.query.operators import OPERATORS
from hub.query.params import parse_records_query
from hub.query.records import filter_predicate

API_GUIDE = Path(__file__).parents[2] / "docs" / "api.md"
SCHEMA = TableSchema.from_json({"fields": [
    {"name": "name", "type": "string"}, {"name": "floors", "type": "integer"},
    {"name": "open", "type": "boolean"}]})
TABLE = Table("t", MetaData(), Column("name", String), Column("floors", Integer))


def documented_operators() -> list[str]:
    """The first column of the operator table in docs/api.md (datasette checks its docs
    against its code the same way)."""
    text = API_GUIDE.read_text(encoding="utf-8")
    section = text.split("| operator | field types | meaning |", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)


def test_docs_list_exactly_the_operators_of_the_table() -> None:
    assert documented_operators() == list(OPERATORS)


def test_openapi_description_lists_every_operator_with_its_text() -> None:
    for operator in OPERATORS.values():
        assert f"`__{operator.name}`: {operator.doc}" in RECORDS_DESCRIPTION


@pytest.mark.parametrize("name", list(OPERATORS))
def test_every_operator_parses_and_builds_sql(name: str) -> None:
    value = {"list": "a,b", "flag": "true"}.get(OPERATORS[name].shape, "a")
    query = parse_records_query([(f"name__{name}", value)], SCHEMA, has_geometry=False,
                                limits=PageLimits(10, 100, 1000))
    sql = str(filter_predicate(TABLE.c.name, query.filters[0]).compile(
        dialect=postgresql.dialect()))
    assert "t.name" in sql


def test_field_types_come_from_the_table() -> None:
    for name, operator in OPERATORS.items():
        accepted = operator.applies_to("boolean")
        pairs = [(f"open__{name}", "true,false" if operator.shape == "list" else "true")]
        if accepted:
            parse_records_query(pairs, SCHEMA, has_geometry=False,
                                limits=PageLimits(10, 100, 1000))
        else:
            with pytest.raises(QueryError, match="does not apply to boolean"):
                parse_records_query(pairs, SCHEMA, has_geometry=False,
                                    limits=PageLimits(10, 100, 1000))
