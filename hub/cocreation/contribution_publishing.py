"""The current version plus accepted contributions -> the next version, through the one
publish pipeline (:func:`etl.pipeline.publish_dataset` with a
:class:`~etl.pipeline.ReadTableSource`).

The current version's rows are read back as text cells (as a CSV export would write them),
the accepted changes are applied to those cells, and the whole table is prepared and checked
like any file: a result that fails validation is refused as a whole and nothing changes. The
contributions are marked ``published`` inside the publish transaction, so they are published
if and only if their version is. Which rows came from whom goes into the version's
provenance (:mod:`hub.cocreation.provenance`).

This module imports ``etl`` (allowed for ``hub.cocreation`` only: see the package docstring).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine

from etl.pipeline import PublishOptions, PublishOutcome, ReadTableSource, publish_dataset
from etl.read import RawTable
from hub.catalog import DatasetDefinition, PublishedVersion
from hub.cocreation.arrival import COMMUNITY_KEY_PREFIX, PENDING_KEY, cell_text
from hub.cocreation.errors import Conflict
from hub.cocreation.provenance import COMMUNITY, carried, credited
from hub.cocreation.publishing import PublishAudit, failed_publish_audit, publish_audit

# (connection, new version number, version the rows were read from, contribution ids):
# marks them published in the publish transaction (``hub.data.contributions``); raises when
# any is no longer accepted or another version came in between, which rolls it all back.
MarkPublished = Callable[[Connection, int, int, list[int]], None]


@dataclass(frozen=True)
class CurrentRows:
    """The version contributions apply to: its number, rows as text cells keyed by record
    key (in the version's order) and its provenance."""

    version: int
    rows: dict[str, dict[str, str]]
    provenance: dict[str, Any]


@dataclass(frozen=True)
class Assembled:
    table: RawTable
    provenance: dict[str, Any]
    applied: list[int]


def new_record_key(contribution_id: int) -> str:
    """The key the hub gives a new record sent without one."""
    return f"{COMMUNITY_KEY_PREFIX}{contribution_id}"


def assemble(definition: DatasetDefinition, current: CurrentRows,
             accepted: list[dict[str, Any]]) -> Assembled:
    """The next version's rows as a :class:`RawTable`: ``current`` with ``accepted`` applied
    in id order. A contribution that no longer fits (its record was removed, a new record's
    key is taken) refuses the whole publish with :class:`Conflict` naming it."""
    key_field = definition.schema.primary_key[0]
    rows = {k: dict(v) for k, v in current.rows.items()}
    records = carried(current.provenance, rows)
    removed: dict[str, list[int]] = {}
    removal_names: list[str] = []
    for c in sorted(accepted, key=lambda c: c["id"]):
        cid, key = int(c["id"]), c["record_key"]
        names = [c["display_name"]] if c.get("display_name") else []
        if c["kind"] == "new":
            values = dict(c["proposed"])
            if values.get(key_field) in (None, PENDING_KEY):
                values[key_field] = new_record_key(cid)
            key = str(values[key_field])
            if key in rows:
                raise Conflict(f"contribution {cid} adds record '{key}', which exists now; "
                               "reject it or propose a correction instead")
            rows[key] = {name: cell_text(value) for name, value in values.items()}
            records[key] = {"source": COMMUNITY, "contributions": [cid], "contributors": names}
            continue
        if key not in rows:
            raise Conflict(f"contribution {cid} ({c['kind']}) names record '{key}', which the "
                           f"current version {current.version} does not have")
        if c["kind"] == "removal":
            del rows[key]
            records.pop(key, None)
            removed[key] = [cid]
            removal_names += names
            continue
        rows[key].update({name: cell_text(value) for name, value in c["proposed"].items()})
        before = records.get(key, {"contributions": [], "contributors": []})
        records[key] = {"source": COMMUNITY,
                        "contributions": sorted({*before["contributions"], cid}),
                        "contributors": sorted({*before["contributors"], *names})}
    applied = sorted(int(c["id"]) for c in accepted)
    return Assembled(_raw_table(definition, rows, applied),
                     credited(records, applied, removed, removal_names), applied)


def _raw_table(definition: DatasetDefinition, rows: dict[str, dict[str, str]],
               applied: list[int]) -> RawTable:
    headers = list(definition.schema.field_names)
    frame = pd.DataFrame({h: [r.get(h, "") for r in rows.values()] for h in headers},
                         dtype=object)
    name = "contributions " + ",".join(map(str, applied))
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
    return RawTable(source_name=name[:200], source_sha256=digest, encoding="utf-8",
                    delimiter=None, headers=headers, frame=frame,
                    source_rows=np.arange(1, len(frame) + 1))


def publish_accepted(definition: DatasetDefinition, engine: Engine, current: CurrentRows,
                     accepted: list[dict[str, Any]], *, publisher: str,
                     mark_published: MarkPublished, dry_run: bool = False,
                     max_errors: int = 1000) -> PublishOutcome:
    """Publish ``accepted`` onto ``current`` as the next version, or refuse as a whole.

    Refused (nothing written) when there is nothing to publish, when a contribution no longer
    fits, when the result fails validation, or when another version was published since
    ``current`` was read (the rows would be stale)."""
    if not accepted:
        raise Conflict(f"dataset '{definition.id}' has no accepted contributions to publish")
    assembled = assemble(definition, current, accepted)
    expected = current.version

    def in_transaction(conn: Connection, number: int) -> None:
        mark_published(conn, number, expected, assembled.applied)

    return publish_dataset(
        definition, ReadTableSource(assembled.table),
        PublishOptions(dry_run=dry_run, max_errors=max_errors),
        engine=engine, publisher=publisher, provenance=assembled.provenance,
        in_transaction=in_transaction)


class ContributionStore(Protocol):
    """What publishing reads (``hub.data.contributions.Contributions`` provides it)."""

    engine: Engine

    def accepted(self, dataset_id: str) -> list[dict[str, Any]]: ...

    def rows(self, version: PublishedVersion) -> dict[str, dict[str, str]]: ...

    @staticmethod
    def mark_published(conn: Connection, number: int, base_version: int,
                       ids: list[int]) -> None: ...


def publish_contributions(definition: DatasetDefinition, version: PublishedVersion,
                          store: ContributionStore, *, publisher: str,
                          audit: Callable[[PublishAudit], None], dry_run: bool = False
                          ) -> tuple[PublishOutcome, list[int]]:
    """The one door for ``hub publish-contributions`` and its HTTP route: publish, and hand
    the audit entry of the outcome (the one :mod:`hub.cocreation.publishing` names for every
    publish, with the contribution ids) to ``audit``. Returns the outcome (refused ones too)
    and the contribution ids; raises :class:`Conflict` when nothing could be tried."""
    accepted = store.accepted(definition.id)
    current = CurrentRows(version.version, store.rows(version),
                          dict(version.meta.get("provenance") or {}))
    ids = [int(c["id"]) for c in accepted]
    try:
        outcome = publish_accepted(definition, store.engine, current, accepted,
                                   publisher=publisher, mark_published=store.mark_published,
                                   dry_run=dry_run)
    except Exception as exc:
        audit(_with_ids(failed_publish_audit(definition.id, "contributions", str(exc)), ids))
        raise
    audit(_with_ids(publish_audit(outcome), ids))
    return outcome, ids


def _with_ids(entry: PublishAudit, ids: list[int]) -> PublishAudit:
    return replace(entry, detail={**entry.detail, "contributions": ids})
