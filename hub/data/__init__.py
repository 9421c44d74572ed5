"""The only package that executes data and catalogue queries for the API.

Builders in :mod:`hub.query` return statements; modules here run them and hand plain values
(JSON text written by PostGIS, tuples, byte streams) to the serialisers. One module per area
(``core``: catalogue and records; others for exports, tiles, ...), all taking the engine.
"""

from hub.data.core import Data, Gone, NotFound, RecordsPage

__all__ = ["Data", "Gone", "NotFound", "RecordsPage"]
