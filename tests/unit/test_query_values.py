"""Query-string text -> a field's type: the one converter of filters, ids, datetime and CQL2."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from hub.catalog import TableSchema
from hub.query.cql2 import parse_cql2
from hub.query.params import record_key
from hub.query.values import parse_flag, parse_value


@pytest.mark.parametrize(("field_type", "text", "expected"), [
    ("integer", "４２", 42),  # full-width digits, NFKC like the stored data
    ("integer", " -7 ", -7),
    ("year", "2024", 2024),
    ("number", "3.5", 3.5),
    ("number", "1e3", 1000.0),
    ("boolean", "true", True),
    ("boolean", "No", False),
    ("boolean", "1", True),
    ("date", "2024-04-01", date(2024, 4, 1)),
    ("datetime", "2024-04-01T09:00:00Z", datetime(2024, 4, 1, 9, tzinfo=UTC)),
    ("time", "09:30", time(9, 30)),
    ("string", "ｶﾌｪ", "カフェ"),
])
def test_text_becomes_the_field_type(field_type: str, text: str, expected: object) -> None:
    assert parse_value(field_type, text) == expected
    assert type(parse_value(field_type, text)) is type(expected)


@pytest.mark.parametrize(("field_type", "text"), [
    ("integer", "2.5"), ("integer", str(2**63)), ("number", "inf"), ("number", "nan"),
    ("boolean", "maybe"), ("date", "2024-13-01"), ("datetime", "yesterday"), ("time", "25:00"),
])
def test_text_that_is_not_the_type_is_refused(field_type: str, text: str) -> None:
    with pytest.raises(ValueError):
        parse_value(field_type, text)


def test_flags() -> None:
    assert parse_flag("ＴＲＵＥ") is True
    with pytest.raises(ValueError):
        parse_flag("")


SCHEMA = TableSchema.from_json({"fields": [
    {"name": "id", "type": "integer"}, {"name": "open", "type": "boolean"},
    {"name": "opened", "type": "date"}], "primaryKey": ["id"]})


def test_record_ids_use_the_converter() -> None:
    assert record_key(SCHEMA, "１２") == ("id", 12)
    with pytest.raises(LookupError):
        record_key(SCHEMA, "twelve")


def test_cql2_text_literals_use_the_converter() -> None:
    # The same words as a URL filter: 'yes' is a boolean, a full-width number an integer.
    tree = parse_cql2("open = 'yes' AND id = '１２'", "cql2-text", SCHEMA, has_geometry=False)
    assert tree["args"][0]["args"][1] is True
    assert tree["args"][1]["args"][1] == 12
    # GDAL writes dates with a bare trailing T.
    tree = parse_cql2("opened > '2020-01-01T'", "cql2-text", SCHEMA, has_geometry=False)
    assert tree["args"][1] == date(2020, 1, 1)
