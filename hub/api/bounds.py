"""The integer ranges the catalogue's columns hold, declared on every path and query parameter
that reaches them, so OpenAPI states them and a number past them is a client error instead of
an overflow inside PostgreSQL (a 500); the one written form of dates and times in query
strings; and what an integer in a JSON body is."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import BeforeValidator

from hub.query.values import BIGINT_MAX

MAX_INT = 2**31 - 1  # an integer column (a key's rate_limit)
MAX_VERSION = MAX_INT  # hub.versions.version is an integer
MAX_ID = BIGINT_MAX  # ids, change ids and offsets are bigints
# What a version reference in a path may be: `latest` or a version number without leading
# zeros, at most nine digits (so below MAX_VERSION). hub.api.v1.version_number applies it.
VERSION_PATTERN = r"^(latest|[1-9][0-9]{0,8})$"


def _iso_text(value: object) -> object:
    """Dates and times in query strings are written as RFC 3339 text; pydantic would also
    take a bare number as a Unix time ("0.5"), which the document (format: date-time) does
    not allow."""
    if isinstance(value, str) and re.match(r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}", value) is None:
        raise ValueError("not an RFC 3339 date or date-time (YYYY-MM-DD or "
                         "YYYY-MM-DDTHH:MM:SS+09:00)")
    return value


# A query parameter holding an RFC 3339 date-time, or a date.
Timestamp = Annotated[datetime, BeforeValidator(_iso_text)]
Day = Annotated[date, BeforeValidator(_iso_text)]


def _json_integer(value: object) -> object:
    """A JSON integer, as the document's `type: integer` says: a number without a fraction
    (JSON Schema counts 5.0 as one); pydantic would also take `true`/`false` or the text
    "5" and read them as numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("must be an integer")
    return int(value)


# Read an integer field of a JSON body as a JSON integer; put it after the field's bounds
# (`Annotated[int, Field(ge=.., le=..), JSON_INTEGER]`), so the document keeps them.
JSON_INTEGER = BeforeValidator(_json_integer)
