"""Choose how a source is prepared from its dataset definition's ``format``.

``table`` (default): one CSV/XLSX file -> :func:`etl.prepare.prepare`.
``gtfs``: a GTFS / GTFS-JP feed (zip or folder) -> :func:`etl.gtfs.prepare_feed`, which
returns a multi-layer :class:`etl.load.Publishable`.
``gtfs-ride``: a GTFS-Ride fileset -> :func:`etl.ridership.prepare_ride` (layers
board_alight, ridership).

A definition with ``[references]`` (ridership naming its bus-routes dataset) has its ids
checked against ``references``: referenced layer -> known ids, which the caller reads with
:func:`etl.ridership.referenced_keys` (a database lookup; None: not checked, with a warning).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hub.catalog import DEFAULT_SOURCE_FORMAT, DatasetDefinition


def source_format(definition: DatasetDefinition) -> str:
    return str(definition.raw.get("format", DEFAULT_SOURCE_FORMAT))


def prepare_source(
    definition: DatasetDefinition, path: Path, *, encoding: str | None = None,
    delimiter: str | None = None, sheet: str | None = None, max_errors: int = 1000,
    skip_invalid: bool = False, on_invalid_optional: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    references: Mapping[str, frozenset[str] | None] | None = None,
) -> Any:
    """Prepare ``path`` for ``definition``: a Prepared (tables) or a Publishable (feeds)."""
    if source_format(definition) == "gtfs":
        from etl.gtfs import prepare_feed

        return prepare_feed(definition, path, max_errors=max_errors, progress=progress)
    if source_format(definition) == "gtfs-ride":
        from etl.ridership import prepare_ride

        return prepare_ride(definition, path, known=references, max_errors=max_errors,
                            skip_invalid=skip_invalid, progress=progress)
    from etl.prepare import prepare

    prepared = prepare(definition, path, encoding=encoding, delimiter=delimiter, sheet=sheet,
                       max_errors=max_errors, skip_invalid=skip_invalid,
                       on_invalid_optional=on_invalid_optional, progress=progress)
    if definition.raw.get("references"):
        from etl.ridership import check_references

        prepared = check_references(prepared, definition, references,
                                    skip_invalid=skip_invalid)
    return prepared


def row_count(prepared: Any) -> int:
    """Rows of the main table, whichever kind ``prepared`` is."""
    main = getattr(prepared, "main", None)
    return len(main.frame) if main is not None else len(prepared.frame)
