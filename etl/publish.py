"""Publish a prepared file as the next immutable version of a dataset, atomically.

One transaction does everything: lock the dataset row (so two publishes of one dataset
queue rather than race), create and fill ``data.<base>__v<N>`` with COPY, index, analyse,
measure, summarise changes, insert the version row and move the dataset's current pointer.
Readers see either the old version or the complete new one; never a partial table.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from etl.changes import change_summary
from etl.load import copy_rows, create_version_table, index_and_analyse, measure
from etl.prepare import Prepared
from hub.catalog import DatasetDefinition, TableSchema, version_table_name
from hub.db.tables import datasets, versions


class PublishRefused(RuntimeError):
    """The file has validation errors and ``skip_invalid`` was not asked for."""


@dataclass(frozen=True)
class PublishResult:
    dataset_id: str
    version: int | None
    row_count: int
    content_sha256: str
    change_summary: dict[str, Any]
    unchanged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset_id,
            "version": self.version,
            "row_count": self.row_count,
            "content_sha256": self.content_sha256,
            "changes": self.change_summary,
            "unchanged": self.unchanged,
        }


def stored_schema(definition: DatasetDefinition) -> dict[str, Any]:
    """The Table Schema as stored with a version, with the effective primary key and geometry."""
    raw = dict(definition.schema.raw)
    raw["primaryKey"] = list(definition.primary_key)
    raw["x-geometry"] = definition.geometry.kind != "none"
    return raw


def definition_row(definition: DatasetDefinition, now: datetime) -> dict[str, Any]:
    return {
        "id": definition.id,
        "title_ja": definition.title_ja,
        "title_en": definition.title_en,
        "description_ja": definition.description_ja,
        "description_en": definition.description_en,
        "organisation": definition.organisation,
        "licence": definition.licence,
        "keywords": list(definition.keywords),
        "definition": definition.raw,
        "created_at": now,
        "updated_at": now,
    }


def publish(
    engine: Engine,
    prepared: Prepared,
    *,
    publisher: str | None = None,
    force: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> PublishResult:
    """Publish ``prepared`` as version N+1; refuse when it has errors it was not told to skip.

    When the normalised content equals the current version's, nothing is published (the
    result says ``unchanged``) unless ``force`` is set: a version number should mean new data.
    """
    if not prepared.report.ok and prepared.report.rows_skipped == 0:
        raise PublishRefused(
            f"{prepared.raw.source_name}: {len(prepared.report.errors)} validation error(s); "
            "nothing was published"
        )
    definition = prepared.definition
    now = datetime.now(UTC)
    publisher = publisher or getpass.getuser()
    with engine.begin() as conn:
        row = definition_row(definition, now)
        upsert = pg_insert(datasets).values(**row)
        conn.execute(
            upsert.on_conflict_do_update(
                index_elements=[datasets.c.id],
                set_={k: upsert.excluded[k] for k in row if k not in ("id", "created_at")},
            )
        )
        current = conn.execute(
            select(datasets.c.current_version).where(datasets.c.id == definition.id).with_for_update()
        ).scalar_one()
        last = conn.execute(
            select(func.max(versions.c.version)).where(versions.c.dataset_id == definition.id)
        ).scalar_one()
        previous = None
        if current is not None:
            previous = conn.execute(
                select(versions).where(
                    versions.c.dataset_id == definition.id, versions.c.version == current
                )
            ).mappings().one()
        number = (last or 0) + 1
        table_name = version_table_name(definition.table_base, number)
        create_version_table(conn, definition, table_name)

        def copy_progress(done: int, total: int) -> None:
            if progress:
                progress("load", done, total)

        content_sha256 = copy_rows(
            conn, definition, table_name, prepared.frame, prepared.geometry_wkt,
            prepared.search_text, copy_progress,
        )
        if previous is not None and previous["content_sha256"] == content_sha256 and not force:
            conn.rollback()
            return PublishResult(definition.id, None, int(previous["row_count"]),
                                 content_sha256, {}, unchanged=True)
        if progress:
            progress("index", 0, 1)
        index_and_analyse(conn, definition, table_name)
        row_count, bbox = measure(conn, definition, table_name)
        summary = change_summary(
            conn,
            new_table=table_name,
            new_schema=definition.schema,
            old_table=previous["table_name"] if previous is not None else None,
            old_schema=TableSchema.from_json(previous["schema"]) if previous is not None else None,
            old_version=current,
            geometry=definition.has_geometry,
        )
        conn.execute(
            insert(versions).values(
                dataset_id=definition.id,
                version=number,
                table_name=table_name,
                row_count=row_count,
                bbox=bbox,
                schema=stored_schema(definition),
                content_sha256=content_sha256,
                source_name=prepared.raw.source_name,
                source_sha256=prepared.raw.source_sha256,
                publisher=publisher,
                published_at=now,
                change_summary=summary,
                warnings=[i.to_dict() for i in prepared.report.warnings[:200]],
            )
        )
        conn.execute(
            update(datasets).where(datasets.c.id == definition.id).values(current_version=number)
        )
        if progress:
            progress("index", 1, 1)
    return PublishResult(definition.id, number, row_count, content_sha256, summary)
