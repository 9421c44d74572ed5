"""Executes the transit statements of :mod:`hub.query.transit`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Select

from hub.catalog import PublishedVersion
from hub.query.transit import RidershipQuery, reference_count, ridership_per_stop_statement


def count_references(engine: Engine, reference: Select[Any]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(reference_count(reference)).scalar_one())


def ridership_per_stop(
    engine: Engine, ridership: PublishedVersion, stops: PublishedVersion,
    stop_times: PublishedVersion | None, query: RidershipQuery, output: str,
) -> list[Any]:
    """Payload strings (json/geojson) or tuples (csv), one per stop, sorted and limited."""
    statement = ridership_per_stop_statement(
        ridership.table(), stops.table(), stop_times.table() if stop_times else None, query,
        output=output,  # type: ignore[arg-type]
    )
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    if output == "csv":
        return [tuple(r) for r in rows]
    return [r[0] for r in rows]
