"""Which schemas a single uploaded table may be proposed for.

Every schema under the schemas folder is a candidate except the layers of feeds: GTFS and
GTFS-Ride files are read by their own loaders from a zip or folder, never as one table, and
their loaders own the list of schemas they use.
"""

from __future__ import annotations

from pathlib import Path

from etl.gtfs.layers import LAYER_SCHEMAS
from etl.ridership import RIDE_LAYERS
from hub.catalog import TableSchema

FEED_SCHEMAS = frozenset({*LAYER_SCHEMAS.values(), *(s for _f, s in RIDE_LAYERS.values())})


def candidate_schemas(schemas_dir: Path) -> dict[str, TableSchema]:
    """Schema file name -> schema, for every schema a CSV/XLSX can be published with."""
    return {path.name: TableSchema.load(path) for path in sorted(schemas_dir.glob("*.json"))
            if path.name not in FEED_SCHEMAS}
