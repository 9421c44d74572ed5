"""Choose how a source is prepared from its dataset definition's ``format``.

``table`` (default): one CSV/XLSX file -> :func:`etl.prepare.prepare`, or a table already
read -> :func:`etl.prepare.prepare_table` (:func:`prepare_read_table`).
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
from typing import TYPE_CHECKING, Any

from etl.read_limits import ReadLimits
from hub.catalog import DEFAULT_SOURCE_FORMAT, DatasetDefinition

if TYPE_CHECKING:
    from etl.read import RawTable


def source_format(definition: DatasetDefinition) -> str:
    return str(definition.raw.get("format", DEFAULT_SOURCE_FORMAT))


def prepare_source(
    definition: DatasetDefinition, path: Path, *, encoding: str | None = None,
    delimiter: str | None = None, sheet: str | None = None, max_errors: int = 1000,
    skip_invalid: bool = False, on_invalid_optional: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    references: Mapping[str, frozenset[str] | None] | None = None,
    read_limits: ReadLimits | None = None,
) -> Any:
    """Prepare ``path`` for ``definition``: a Prepared (tables) or a Publishable (feeds).

    ``on_invalid_optional`` (the policy for invalid cells of optional fields; None: the
    dataset's) is a table preparer's: feeds have no optional-cell policy."""
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
                       on_invalid_optional=on_invalid_optional, progress=progress,
                       read_limits=read_limits)
    return _checked_references(prepared, definition, references, skip_invalid)


def prepare_read_table(
    definition: DatasetDefinition, raw: RawTable, *, max_errors: int = 1000,
    skip_invalid: bool = False, on_invalid_optional: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    references: Mapping[str, frozenset[str] | None] | None = None,
) -> Any:
    """Prepare a table that was already read (``format = "table"`` datasets only)."""
    if source_format(definition) != "table":
        raise ValueError(f"{definition.id}: a {source_format(definition)!r} dataset is "
                         "prepared from its files, not from one table")
    from etl.prepare import prepare_table

    prepared = prepare_table(definition, raw, max_errors=max_errors,
                             skip_invalid=skip_invalid,
                             on_invalid_optional=on_invalid_optional, progress=progress)
    return _checked_references(prepared, definition, references, skip_invalid)


def _checked_references(prepared: Any, definition: DatasetDefinition,
                        references: Mapping[str, frozenset[str] | None] | None,
                        skip_invalid: bool) -> Any:
    if not definition.raw.get("references"):
        return prepared
    from etl.ridership import check_references

    return check_references(prepared, definition, references, skip_invalid=skip_invalid)


def row_count(prepared: Any) -> int:
    """Rows of the main table, whichever kind ``prepared`` is."""
    main = getattr(prepared, "main", None)
    return len(main.frame) if main is not None else len(prepared.frame)
