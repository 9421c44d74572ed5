"""The integer ranges the catalogue's columns hold, declared on every path and query parameter
that reaches them, so OpenAPI states them and a number past them is a client error instead of
an overflow inside PostgreSQL (a 500)."""

from __future__ import annotations

MAX_VERSION = 2**31 - 1  # hub.versions.version is an integer
MAX_ID = 2**63 - 1  # ids, change ids and offsets are bigints
# What a version reference in a path may be: `latest` or a version number without leading
# zeros, at most nine digits (so below MAX_VERSION). hub.api.v1.version_number applies it.
VERSION_PATTERN = r"^(latest|[1-9][0-9]{0,8})$"
