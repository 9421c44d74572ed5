"""The hub with two of the fixes bench/README.md suggests, applied in-process to size them.

Not shipped and not the hub: an ASGI entry point (``uvicorn bench.whatif:app``) that builds
the real app after two monkeypatches, so the suite can measure what the fixes would buy
before anyone changes hub/ (system ``hub-whatif`` in the results):

1. ``PublishedVersion.table()`` returns one cached ``Table`` per version table instead of a
   new ``MetaData``/``Table`` per request. Versions are immutable, so the cache is safe; and
   because SQLAlchemy's compiled-statement cache keys on the ``Table`` object, this is what
   lets the cache hit at all.
2. The engine is built without ``pool_pre_ping`` (a ``SELECT 1`` round trip on every pool
   checkout, and the hub checks out two to four connections per request).
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy

import hub.catalog as catalog
import hub.db.engine as engine_module
from hub.api.app import create_app
from hub.settings import Settings

_version_table = catalog.version_table


@functools.lru_cache(maxsize=512)
def _cached_table(table_name: str, schema: catalog.TableSchema,
                  has_geometry: bool) -> sqlalchemy.Table:
    return _version_table(table_name, schema, has_geometry=has_geometry)


def _table(self: catalog.PublishedVersion) -> sqlalchemy.Table:
    return _cached_table(self.table_name, self.schema, self.has_geometry)


def _create_engine(*args: Any, **kwargs: Any) -> sqlalchemy.Engine:
    return sqlalchemy.create_engine(*args, **{**kwargs, "pool_pre_ping": False})


catalog.PublishedVersion.table = _table  # type: ignore[method-assign]
engine_module.create_engine = _create_engine  # type: ignore[assignment]

app = create_app(Settings())
