"""Query-string text -> a value of a Table Schema field's type, the one conversion every
records parameter (property filters, record ids, ``datetime``) and CQL2 text literals use.

Text is NFKC-normalised first, like the stored data (``etl.normalise``), so a full-width
``２`` filters the same rows as ``2``.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import date, datetime, time
from typing import Any

TRUE_WORDS = frozenset({"true", "1", "yes", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "f"})
# What a valid value looks like, for error messages.
EXAMPLES = {"integer": "42", "year": "2024", "number": "3.5", "boolean": "true",
            "date": "2024-04-01", "datetime": "2024-04-01T09:00:00+09:00", "time": "09:30",
            "string": "text"}


def parse_flag(text: str) -> bool:
    """``true``/``false`` (and 1/0, yes/no, t/f); :class:`ValueError` otherwise."""
    word = unicodedata.normalize("NFKC", text).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{text!r} is not true or false")


# The integers a field holds and a filter on it takes: PostgreSQL's bigint (the OGC
# document states the range on every integer property, hub.serialise.ogc).
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


def parse_value(field_type: str, text: str) -> Any:
    """``text`` as a Python value of ``field_type``; :class:`ValueError` when it is not one.

    Integers are bounded to PostgreSQL's ``bigint`` and numbers must be finite, so no value
    that converts here fails later in SQL. Timestamps may end in ``Z`` (RFC 3339).
    """
    value = unicodedata.normalize("NFKC", text).strip()
    match field_type:
        case "integer" | "year":
            number = int(value)
            if not BIGINT_MIN <= number <= BIGINT_MAX:
                raise ValueError(f"{value} is outside the 64-bit integer range")
            return number
        case "number":
            real = float(value)
            if not math.isfinite(real):
                raise ValueError(f"{value} is not a finite number")
            return real
        case "boolean":
            return parse_flag(value)
        case "date":
            return date.fromisoformat(value)
        case "datetime":
            return datetime.fromisoformat(value)
        case "time":
            return time.fromisoformat(value)
    return value


def type_error_detail(field_type: str, text: str, parameter: str) -> str:
    """The message for a value that :func:`parse_value` refused."""
    return (f"value {text!r} of parameter '{parameter}' is not a valid {field_type} "
            f"(example: {EXAMPLES.get(field_type, 'text')})")
