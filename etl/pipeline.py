"""The one publish pipeline: rows from a source -> prepared -> refused or published.

Every door into the catalogue goes through :func:`publish_dataset`: ``hub publish``, ``hub
demo``, ``hub ckan pull``, and the HTTP upload and accepted community contributions to come.
It reads its source once, prepares it, applies the one refusal rule (:func:`refusal`),
publishes it staged and registered at once (:func:`etl.publish.publish`) and answers with one
:class:`PublishOutcome`, so every door reports and refuses alike.

Where rows come from is a :class:`RowSource`: a file on disk (:class:`FileSource`: CSV, XLSX,
a GTFS feed, as the dataset's ``format`` says) or a table already read
(:class:`ReadTableSource`: a file pulled from CKAN; rows assembled from the current version
plus accepted contributions will be one too, as a :class:`~etl.read.RawTable` of text cells
prepared like any file).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy import Engine

from etl.fault_hook import fault_point
from etl.publish import AfterPublish, InTransaction, Progress, PublishResult, publish
from etl.read import RawTable
from etl.read_limits import ReadLimits
from etl.report import Report
from etl.sources import prepare_read_table, prepare_source, row_count
from hub.catalog import DatasetDefinition

References = Mapping[str, frozenset[str] | None]
Status = Literal["refused", "dry-run", "unchanged", "published"]


@dataclass(frozen=True)
class PublishOptions:
    """How to publish. ``on_invalid_optional`` is the per-cell policy for invalid optional
    values (:data:`hub.catalog.INVALID_OPTIONAL_POLICIES`); preparation owns it and gets it
    untouched (None: the dataset's ``on_invalid_optional``)."""

    dry_run: bool = False
    force: bool = False
    skip_invalid: bool = False
    max_errors: int = 1000
    on_invalid_optional: str | None = None
    read_limits: ReadLimits = field(default_factory=ReadLimits)


class RowSource(Protocol):
    """Where a publish's rows come from; prepares them for a dataset definition."""

    @property
    def name(self) -> str:
        """What the rows are called in reports (a file name)."""
        ...

    def prepare(self, definition: DatasetDefinition, options: PublishOptions, *,
                references: References | None, progress: Progress | None) -> Any:
        """The rows read once and prepared: a Prepared table or a multi-layer Publishable."""
        ...


def source_provenance(source: RowSource) -> dict[str, Any] | None:
    """The provenance a source decided while preparing (a city file that keeps community
    rows says which), or None: a source may expose it as a ``provenance`` attribute."""
    return getattr(source, "provenance", None)


@dataclass(frozen=True)
class FileSource:
    """A file (or GTFS folder) on disk; ``encoding``/``delimiter``/``sheet`` override
    detection and the dataset's ``[source]`` hints."""

    path: Path
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None

    @property
    def name(self) -> str:
        return self.path.name

    def prepare(self, definition: DatasetDefinition, options: PublishOptions, *,
                references: References | None, progress: Progress | None) -> Any:
        return prepare_source(
            definition, self.path, encoding=self.encoding, delimiter=self.delimiter,
            sheet=self.sheet, max_errors=options.max_errors, skip_invalid=options.skip_invalid,
            on_invalid_optional=options.on_invalid_optional, progress=progress,
            references=references, read_limits=options.read_limits,
        )


@dataclass(frozen=True)
class ReadTableSource:
    """A table already read into text cells (a CSV pulled from CKAN, whose schema was
    inferred from the same read). Preparing it consumes its cells: use it once."""

    table: RawTable

    @property
    def name(self) -> str:
        return self.table.source_name

    def prepare(self, definition: DatasetDefinition, options: PublishOptions, *,
                references: References | None, progress: Progress | None) -> Any:
        return prepare_read_table(
            definition, self.table, max_errors=options.max_errors,
            skip_invalid=options.skip_invalid, on_invalid_optional=options.on_invalid_optional,
            progress=progress, references=references,
        )


def refusal(report: Report, options: PublishOptions) -> str | None:
    """Why rows with this report must not be published, or None: the one refusal rule.

    Warnings never refuse. Errors refuse, unless ``skip_invalid`` was asked for and the
    preparer dropped the invalid rows; errors about the file as a whole (no row: a missing
    required column, an invalid optional cell under ``on_invalid_optional = refuse``) are
    never dropped away, so they always refuse, and the reason does not suggest
    --skip-invalid for them. Which problems are errors and which warnings is the preparers'
    decision, recorded in the report.
    """
    errors = report.errors
    if not errors:
        return None
    count = f"{len(errors)} validation error(s)"
    if any(issue.row is None for issue in errors):
        return f"{count}, some about the file as a whole, which --skip-invalid cannot drop"
    if not options.skip_invalid:
        return f"{count}; fix them, or use --skip-invalid to publish the valid rows only"
    if report.rows_skipped == 0:
        return f"{count} that --skip-invalid did not drop (this source drops no rows)"
    return None


@dataclass(frozen=True)
class PublishOutcome:
    """What happened to one publish: the validation report (errors, warnings, dropped rows),
    the refusal if any, and the version published (or ``unchanged``) with its change summary."""

    dataset_id: str
    source_name: str
    report: Report
    row_count: int  # rows prepared: published, or that would be
    refused: str | None = None
    result: PublishResult | None = None  # None: refused, or a dry run

    @property
    def status(self) -> Status:
        if self.refused is not None:
            return "refused"
        if self.result is None:
            return "dry-run"
        return "unchanged" if self.result.unchanged else "published"

    @property
    def version(self) -> int | None:
        return self.result.version if self.result else None

    @property
    def change_summary(self) -> dict[str, Any]:
        return self.result.change_summary if self.result else {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset_id,
            "source": self.source_name,
            "status": self.status,
            "refused": self.refused,
            "rows": self.row_count,
            "rows_skipped": self.report.rows_skipped,
            "version": self.version,
            "changes": self.change_summary,
            "report": self.report.to_dict(),
        }


def publish_dataset(
    definition: DatasetDefinition,
    source: RowSource,
    options: PublishOptions | None = None,
    *,
    engine: Engine | None,
    publisher: str | None = None,
    progress: Progress | None = None,
    after_publish: AfterPublish | None = None,
    provenance: dict[str, Any] | None = None,
    in_transaction: InTransaction | None = None,
) -> PublishOutcome:
    """Read ``source`` once, prepare it for ``definition``, refuse or publish it.

    ``engine`` may be None for a dry run (nothing is looked up: references between datasets
    are then not checked). ``provenance`` and ``in_transaction`` go to
    :func:`etl.publish.publish` untouched (accepted contributions use them); without one,
    the source's own (:func:`source_provenance`) is used. Raises
    :class:`etl.read.ReadError` when the source cannot be read
    as a table at all; database errors propagate after the transaction has rolled back.
    """
    options = options or PublishOptions()
    if engine is None and not options.dry_run:
        raise ValueError("publishing needs a database engine (engine=None is for dry runs)")
    prepared = source.prepare(definition, options, references=_references(engine, definition),
                              progress=_with_fault_points(progress))
    outcome = PublishOutcome(dataset_id=definition.id, source_name=source.name,
                             report=prepared.report, row_count=row_count(prepared),
                             refused=refusal(prepared.report, options))
    if outcome.refused is not None or options.dry_run:
        return outcome
    assert engine is not None
    if provenance is None:
        provenance = source_provenance(source)
    result = publish(engine, prepared, publisher=publisher, force=options.force,
                     progress=progress, after_publish=after_publish,
                     provenance=provenance, in_transaction=in_transaction)
    return replace(outcome, row_count=result.row_count, result=result)


def _with_fault_points(progress: Progress | None) -> Progress:
    """``progress``, plus the test-only fault hook at the preparing stages it reports
    (:mod:`etl.fault_hook`; nothing happens unless the hook's variable is set)."""

    def report(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)
        if stage in ("read", "validate"):
            fault_point(stage)

    return report


def _references(engine: Engine | None, definition: DatasetDefinition) -> References | None:
    """Known ids of the datasets ``definition`` references, or None (nothing referenced, or
    no database to ask)."""
    if engine is None or not definition.raw.get("references"):
        return None
    from etl.ridership import referenced_keys

    return referenced_keys(engine, definition)

