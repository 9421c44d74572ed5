"""Publish prepared data as the next immutable version of a dataset, never half-built.

Three steps. Stage: COPY each layer into a staging table no catalogue row points at
(:mod:`hub.db.staging`), commit, build its indexes and analyse it on two connections at once
while a third measures it and summarises its changes against the current version. Register:
one short transaction locks the dataset row (so two publishes of one dataset queue rather
than race for a version number), renames the staging tables to ``data.<base>__v<N>``, inserts the
version row and moves the dataset's current pointer. Readers see the old version until that
commit and the complete new one after it. Whatever stops a publish before it commits leaves
only staging tables: dropped on the way out when the process lives, or, when it was killed,
by the next publish or ``hub db gc`` (:func:`hub.db.staging.drop_orphaned_staging`).
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from etl.changes import change_summary
from etl.fault_hook import fault_point
from etl.load import (
    LayerData,
    Publishable,
    attach_row_key,
    build_indexes,
    index_jobs,
    measure,
    rename_layer_table,
    search_bounds,
    stage_layer,
)
from hub.catalog import (
    SEARCH_BOUNDS_KEY,
    DatasetDefinition,
    PublishedVersion,
    TableSchema,
    version_table_name,
)
from hub.db.commit_lsn import stamp_commit_lsn
from hub.db.staging import (
    drop_orphaned_staging,
    drop_staging_tables,
    staging_lease,
    staging_table_name,
)
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
                       prepared.search_fields),
    )


def stored_schema(schema: TableSchema, has_geometry: bool,
                  bounds: tuple[int, ...] = ()) -> dict[str, Any]:
    """The Table Schema as stored with a version: effective primary key, geometry flag, and
    how its trigram index is split (hub.search_buckets; absent when it is one index)."""
    raw = {k: v for k, v in schema.raw.items()
           if k not in ("primaryKey", SEARCH_BOUNDS_KEY)}
    raw["fields"] = schema.raw.get("fields", [])
    raw["primaryKey"] = list(schema.primary_key)
    raw["x-geometry"] = has_geometry
    if bounds:
        raw[SEARCH_BOUNDS_KEY] = list(bounds)
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


@dataclass(frozen=True)
class _Staged:
    """One layer on its way in: its layer name, its staging table, its data, and the
    bounds its trigram index is cut at."""

    name: str | None  # None: the main layer
    staged: str
    layer: LayerData

    @property
    def search_bounds(self) -> tuple[int, ...]:
        return search_bounds(self.layer)


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
    """Publish prepared rows as version N+1: staged, indexed, then registered at once.

    ``provenance`` is stored with the version as given (which rows came from the community
    and whom the version credits; empty: every row is the city's). ``in_transaction`` runs
    in the registering transaction after the version row is written and before the commit;
    raising rolls the registration back.

    This step does not judge the validation report: whether rows with errors may be published
    is decided once, by :func:`etl.pipeline.publish_dataset`, the function every caller uses.
    When the normalised content equals the current version's, nothing is published (the
    result says ``unchanged``) unless ``force`` is set: a version number should mean new data.
    """
    data = publishable(prepared)
    drop_orphaned_staging(engine)  # a killed publish's tables go before ours are built
    with staging_lease(engine) as token:
        layers = [_Staged(None, staging_table_name(token, 0), data.main)] + [
            _Staged(name, staging_table_name(token, n), layer)
            for n, (name, layer) in enumerate(sorted(data.extra_layers.items()), start=1)
        ]
        try:
            result = _publish_staged(engine, data, layers, publisher=publisher, force=force,
                                     progress=progress, provenance=provenance,
                                     in_transaction=in_transaction)
        finally:
            _drop_leftovers(engine, [s.staged for s in layers])
    if not result.unchanged:
        # The position replicas must have replayed before they serve this version, taken
        # after the registering transaction committed (hub.db.commit_lsn says why).
        stamp_commit_lsn(engine, "published")
    if not result.unchanged:  # after the lease: bulk files or a CKAN push hold no lock
        _run_after_publish(after_publish, result)
    return result


def _publish_staged(
    engine: Engine, data: Publishable, layers: list[_Staged], *, publisher: str | None,
    force: bool, progress: Progress | None, provenance: dict[str, Any] | None,
    in_transaction: InTransaction | None,
) -> PublishResult:
    definition = data.definition

    def copied(done: int, total: int) -> None:
        if progress:
            progress("load", done, total)
        fault_point("copy")  # mid-COPY: the staging table exists, uncommitted

    hashes: dict[str | None, str] = {}
    with engine.begin() as conn:
        for staged in layers:
            hashes[staged.name] = stage_layer(conn, staged.staged, staged.layer,
                                              copied if staged.name is None else None)
    content_sha256 = _content_hash(hashes)
    with engine.connect() as conn:
        previous = _current_version(conn, definition.id)
    if _unchanged(previous, content_sha256, force):
        assert previous is not None
        return PublishResult(definition.id, None, int(previous["row_count"]), content_sha256,
                             {}, unchanged=True)

    fault_point("index")  # committed staging tables, not yet indexed
    if progress:
        progress("index", 0, 1)
    # Measuring and summarising read the committed rows and need no index, so they run on
    # a connection of their own beside the builds (a read shares the builds' locks) rather
    # than after them, while a build connection would idle through the last build.
    with ThreadPoolExecutor(max_workers=1) as beside:
        facts = beside.submit(_measure_and_summarise, engine, data, layers, previous)
        build_indexes(engine, [job for s in layers
                               for job in index_jobs(s.staged, s.layer, s.search_bounds)])
    measured, summary = facts.result()
    if progress:
        progress("index", 1, 1)

    now = datetime.now(UTC)
    with engine.begin() as conn:
        current = _lock_dataset(conn, definition, now)
        if (previous["version"] if previous is not None else None) != current:
            # Another publish registered while this one was staging: compare with that one.
            previous = _current_version(conn, definition.id)
            if _unchanged(previous, content_sha256, force):
                assert previous is not None
                conn.rollback()
                return PublishResult(definition.id, None, int(previous["row_count"]),
                                     content_sha256, {}, unchanged=True)
            summary = _summary(conn, data, layers[0].staged, previous)
        last = conn.execute(
            select(func.max(versions.c.version)).where(versions.c.dataset_id == definition.id)
        ).scalar_one()
        number = (last or 0) + 1
        table_name = version_table_name(definition.table_base, number)
        final = {s.name: table_name if s.name is None else f"{table_name}__{s.name}"
                 for s in layers}
        for staged in layers:
            rename_layer_table(conn, staged.staged, final[staged.name])
            attach_row_key(conn, final[staged.name])
        row_count, bbox = measured[None]
        conn.execute(insert(versions).values(
            dataset_id=definition.id,
            version=number,
            table_name=table_name,
            row_count=row_count,
            bbox=bbox,
            schema=stored_schema(data.main.schema, data.main.has_geometry,
                                 layers[0].search_bounds),
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
                s.name: {
                    "table_name": final[s.name],
                    "row_count": measured[s.name][0],
                    "bbox": measured[s.name][1],
                    "content_sha256": hashes[s.name],
                    "schema": stored_schema(s.layer.schema, s.layer.has_geometry,
                                            s.search_bounds),
                }
                for s in layers if s.name is not None
            },
        ))
        conn.execute(
            update(datasets).where(datasets.c.id == definition.id).values(current_version=number)
        )
        if in_transaction is not None:
            in_transaction(conn, number)
        fault_point("register")  # everything written, nothing committed
    return PublishResult(definition.id, number, row_count, content_sha256, summary)


def _content_hash(hashes: dict[str | None, str]) -> str:
    """The version's content hash: the main layer's, combined with each extra layer's."""
    extras = {name: value for name, value in hashes.items() if name is not None}
    if not extras:
        return hashes[None]
    combined = hashlib.sha256(hashes[None].encode())
    for name, value in sorted(extras.items()):
        combined.update(f"{name}:{value}".encode())
    return combined.hexdigest()


def _current_version(conn: Connection, dataset_id: str) -> dict[str, Any] | None:
    """The dataset's current version row, or None (a new dataset, or all withdrawn)."""
    row = conn.execute(
        select(versions).select_from(versions.join(
            datasets, (datasets.c.id == versions.c.dataset_id)
            & (datasets.c.current_version == versions.c.version)))
        .where(datasets.c.id == dataset_id)
    ).mappings().first()
    return dict(row) if row is not None else None


def _unchanged(previous: dict[str, Any] | None, content_sha256: str, force: bool) -> bool:
    return previous is not None and previous["content_sha256"] == content_sha256 and not force


Measured = dict[str | None, tuple[int, list[float] | None]]  # layer -> row count, bbox


def _measure_and_summarise(engine: Engine, data: Publishable, layers: list[_Staged],
                           previous: dict[str, Any] | None) -> tuple[Measured, dict[str, Any]]:
    """Each staged layer's row count and bbox, and the main layer's change summary."""
    with engine.begin() as conn:
        measured: Measured = {s.name: measure(conn, s.staged, s.layer.has_geometry)
                              for s in layers}
        return measured, _summary(conn, data, layers[0].staged, previous)


def _summary(conn: Connection, data: Publishable, staged_main: str,
             previous: dict[str, Any] | None) -> dict[str, Any]:
    return change_summary(
        conn, new_table=staged_main, new_schema=data.main.schema,
        new_geometry=data.main.has_geometry,
        previous=PublishedVersion.from_row(previous) if previous is not None else None,
    )


def _drop_leftovers(engine: Engine, staged: list[str]) -> None:
    """Drop what is left of this publish's staging tables (nothing, once registered: they
    were renamed). A failure here is logged, not raised: the publish's own outcome or error
    is what the caller needs, and the next publish or ``hub db gc`` drops what remains."""
    try:
        with engine.begin() as conn:
            drop_staging_tables(conn, staged)
    except Exception:
        log.exception("could not drop staging tables %s (the next publish or `hub db gc` "
                      "will)", ", ".join(staged))


def _run_after_publish(hook: AfterPublish | None, result: PublishResult) -> None:
    """Run a post-commit hook; it can never make a committed publish fail."""
    if hook is None:
        return
    try:
        hook(result)
    except Exception:  # logged, not raised: the version is published whatever happens here
        log.exception("after-publish hook failed for %s version %s (the publish stands)",
                      result.dataset_id, result.version)
