"""Publish prepared data as the next immutable version of a dataset, atomically.

One transaction does everything: lock the dataset row (so two publishes of one dataset
queue rather than race), create and fill ``data.<base>__v<N>`` (plus one table per extra
layer) with COPY, index, analyse, measure, summarise changes, insert the version row and
move the dataset's current pointer. Readers see either the old version or the complete new
one; never a partial table.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from etl.changes import change_summary
from etl.load import LayerData, Publishable, load_layer
from hub.catalog import DatasetDefinition, PublishedVersion, TableSchema, version_table_name
from hub.db.commit_lsn import stamp_commit_lsn
from hub.db.tables import datasets, versions
from hub.textfold import fold_identity

Progress = Callable[[str, int, int], None]
AfterPublish = Callable[["PublishResult"], None]
# Runs inside the publish transaction once the version row exists (connection, version
# number); raising rolls the whole publish back. Accepted contributions are marked published
# this way, so they are published if and only if their version is.
InTransaction = Callable[[Connection, int], None]
log = logging.getLogger(__name__)


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


def publishable(prepared: Any) -> Publishable:
    """Adapt what ``etl.prepare.prepare`` returns (one table) to a :class:`Publishable`."""
    if isinstance(prepared, Publishable):
        return prepared
    return Publishable(
        definition=prepared.definition,
        source_name=prepared.raw.source_name,
        source_sha256=prepared.raw.source_sha256,
        report=prepared.report,
        main=LayerData(prepared.definition.schema, prepared.frame, prepared.geometry_wkt,
                       prepared.search_text),
    )


def stored_schema(schema: TableSchema, has_geometry: bool) -> dict[str, Any]:
    """The Table Schema as stored with a version: effective primary key, geometry flag."""
    raw = {k: v for k, v in schema.raw.items() if k not in ("primaryKey",)}
    raw["fields"] = schema.raw.get("fields", [])
    raw["primaryKey"] = list(schema.primary_key)
    raw["x-geometry"] = has_geometry
    return raw


def _definition_row(definition: DatasetDefinition, now: datetime) -> dict[str, Any]:
    return {
        "id": definition.id,
        "title_ja": definition.title_ja,
        "title_en": definition.title_en,
        "description_ja": definition.description_ja,
        "description_en": definition.description_en,
        "organisation": definition.organisation,
        **definition.licence.columns(),
        "keywords": list(definition.keywords),
        "definition": definition.raw,
        "created_at": now,
        "updated_at": now,
        **definition.search_columns(),
    }


def _lock_dataset(conn: Connection, definition: DatasetDefinition, now: datetime) -> int | None:
    """Upsert the dataset's metadata and lock its row; return its current version."""
    row = _definition_row(definition, now)
    upsert = pg_insert(datasets).values(**row)
    conn.execute(upsert.on_conflict_do_update(
        index_elements=[datasets.c.id],
        set_={k: upsert.excluded[k] for k in row if k not in ("id", "created_at")},
    ))
    return conn.execute(
        select(datasets.c.current_version).where(datasets.c.id == definition.id).with_for_update()
    ).scalar_one()


def publish(
    engine: Engine,
    prepared: Any,
    *,
    publisher: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
    after_publish: AfterPublish | None = None,
    provenance: dict[str, Any] | None = None,
    in_transaction: InTransaction | None = None,
) -> PublishResult:
    """Publish prepared rows as version N+1 in one transaction.

    ``provenance`` is stored with the version as given (which rows came from the community
    and whom the version credits; empty: every row is the city's). ``in_transaction`` runs
    after the version row is written and before the commit.

    This step does not judge the validation report: whether rows with errors may be published
    is decided once, by :func:`etl.pipeline.publish_dataset`, the function every caller uses.
    When the normalised content equals the current version's, nothing is published (the
    result says ``unchanged``) unless ``force`` is set: a version number should mean new data.
    """
    data = publishable(prepared)
    definition = data.definition
    now = datetime.now(UTC)
    with engine.begin() as conn:
        current = _lock_dataset(conn, definition, now)
        last = conn.execute(
            select(func.max(versions.c.version)).where(versions.c.dataset_id == definition.id)
        ).scalar_one()
        previous = None
        if current is not None:
            previous = conn.execute(select(versions).where(
                versions.c.dataset_id == definition.id, versions.c.version == current
            )).mappings().one()
        number = (last or 0) + 1
        table_name = version_table_name(definition.table_base, number)

        def report(done: int, total: int) -> None:
            if progress:
                progress("load", done, total)

        main = load_layer(conn, table_name, data.main, report)
        extras = {
            name: load_layer(conn, f"{table_name}__{name}", layer)
            for name, layer in sorted(data.extra_layers.items())
        }
        content_sha256 = main.content_sha256
        if extras:
            combined = hashlib.sha256(main.content_sha256.encode())
            for name, loaded in extras.items():
                combined.update(f"{name}:{loaded.content_sha256}".encode())
            content_sha256 = combined.hexdigest()
        if previous is not None and previous["content_sha256"] == content_sha256 and not force:
            conn.rollback()
            return PublishResult(definition.id, None, int(previous["row_count"]),
                                 content_sha256, {}, unchanged=True)
        summary = change_summary(
            conn, new_table=table_name, new_schema=data.main.schema,
            new_geometry=data.main.has_geometry,
            previous=PublishedVersion.from_row(previous) if previous is not None else None,
        )
        conn.execute(insert(versions).values(
            dataset_id=definition.id,
            version=number,
            table_name=table_name,
            row_count=main.row_count,
            bbox=main.bbox,
            schema=stored_schema(data.main.schema, data.main.has_geometry),
            content_sha256=content_sha256,
            source_name=data.source_name,
            source_sha256=data.source_sha256,
            publisher=publisher or getpass.getuser(),
            published_at=now,
            change_summary=summary,
            warnings=[i.to_dict() for i in data.report.warnings[:200]],
            main_layer=data.main_layer,
            search_fold=fold_identity(),
            provenance=provenance or {},
            layers={
                name: {
                    "table_name": loaded.table_name,
                    "row_count": loaded.row_count,
                    "bbox": loaded.bbox,
                    "content_sha256": loaded.content_sha256,
                    "schema": stored_schema(data.extra_layers[name].schema,
                                            data.extra_layers[name].has_geometry),
                }
                for name, loaded in extras.items()
            },
        ))
        conn.execute(
            update(datasets).where(datasets.c.id == definition.id).values(current_version=number)
        )
        if in_transaction is not None:
            in_transaction(conn, number)
    stamp_commit_lsn(engine, "published")
    result = PublishResult(definition.id, number, main.row_count, content_sha256, summary)
    _run_after_publish(after_publish, result)
    return result


def _run_after_publish(hook: AfterPublish | None, result: PublishResult) -> None:
    """Run a post-commit hook; it can never make a committed publish fail."""
    if hook is None:
        return
    try:
        hook(result)
    except Exception:  # logged, not raised: the version is published whatever happens here
        log.exception("after-publish hook failed for %s version %s (the publish stands)",
                      result.dataset_id, result.version)
