"""Rewrite search text that older folding rules wrote (`hub db refold`).

Stored search text and queries must be folded by the same rules (hub/textfold.py). Each
version row records the identity of the rules its ``_search`` column was written with
(``versions.search_fold``; NULL for versions published before folding existed). After an
upgrade that changes the rules or ``schemas/search-synonyms.toml``, the stale versions
still answer, but a query folded by the new rules can miss what the old ones stored (車椅子
now folds to 車いす; an old table holds 車椅子). Refolding recomputes ``_search`` of those
version tables from their own string columns, and the catalogue's search columns of every
dataset, then stamps the new identity. The folding is Python, so no SQL migration can do it.

The version's data and content hash do not change: ``_search`` is derived from the row's
fields, like an index. Each version is refolded in its own transaction, so an interrupted
run leaves every version either old and stamped old, or new and stamped new.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, select, text, update

from etl.gtfs.layers import SEARCH_FIELDS as GTFS_SEARCH_FIELDS
from etl.normalise import search_text
from hub.catalog import DatasetDescription, TableSchema
from hub.db.commit_lsn import stamp_commit_lsn
from hub.db.tables import DATA_SCHEMA, datasets, versions
from hub.textfold import fold_identity

REFOLD_CHUNK_ROWS = 50_000


@dataclass(frozen=True)
class RefoldResult:
    """Datasets whose catalogue search columns changed, versions rewritten, rows rewritten."""

    datasets: int
    versions: list[tuple[str, int]]
    rows: int


def refold(engine: Engine, progress: Callable[[str, int], None] | None = None) -> RefoldResult:
    """Refold the catalogue's search columns and every version whose stamp is stale; with
    nothing stale it only reads (so `hub db up` runs it every time)."""
    identity = fold_identity()
    with engine.begin() as conn:
        rows = conn.execute(select(datasets)).mappings().all()
        changed = 0
        for row in rows:
            description = DatasetDescription(
                id=row["id"], title_ja=row["title_ja"], title_en=row["title_en"],
                description_ja=row["description_ja"], description_en=row["description_en"],
                organisation=row["organisation"], licence=row["licence"],
                keywords=tuple(row["keywords"]),
            )
            columns = description.search_columns()
            if any(row[name] != value for name, value in columns.items()):
                conn.execute(update(datasets).where(datasets.c.id == row["id"]).values(**columns))
                changed += 1
        stale = conn.execute(
            select(versions, datasets.c.definition)
            .join(datasets, datasets.c.id == versions.c.dataset_id)
            .where(versions.c.search_fold.is_distinct_from(identity))
            .order_by(versions.c.dataset_id, versions.c.version)
        ).mappings().all()
    done: list[tuple[str, int]] = []
    total_rows = 0
    for version in stale:
        with engine.begin() as conn:
            for table_name, fields in _tables_of(version):
                total_rows += _refold_table(conn, table_name, fields)
            conn.execute(update(versions).where(
                versions.c.dataset_id == version["dataset_id"],
                versions.c.version == version["version"],
            # the table's rows changed: read replicas serve it again once they have
            # replayed this commit (hub.db.commit_lsn stamps it just after)
            ).values(search_fold=identity, published_lsn=None))
        stamp_commit_lsn(engine, "published")
        done.append((version["dataset_id"], version["version"]))
        if progress:
            progress(version["dataset_id"], version["version"])
    return RefoldResult(changed, done, total_rows)


def _tables_of(version: Any) -> list[tuple[str, list[str]]]:
    """Each table of a version with the fields its search text is made of (as at publish:
    GTFS layers by etl.gtfs.layers.SEARCH_FIELDS, other tables by their schema)."""
    gtfs = version["definition"].get("format") == "gtfs"

    def fields(layer: str, schema: TableSchema) -> list[str]:
        if gtfs:
            return [f for f in GTFS_SEARCH_FIELDS.get(layer, ()) if f in schema.field_names]
        return schema.search_fields(version["dataset_id"])

    tables = [(version["table_name"],
               fields(version["main_layer"], TableSchema.from_json(version["schema"])))]
    for name, layer in sorted(version["layers"].items()):
        tables.append((layer["table_name"], fields(name, TableSchema.from_json(layer["schema"]))))
    return tables


def _refold_table(conn: Connection, table_name: str, fields: list[str]) -> int:
    """Recompute ``_search`` of one table, a keyset page of rows at a time; rows done."""
    qualified = f'{DATA_SCHEMA}."{table_name}"'
    columns = "".join(f', "{name}"' for name in fields)
    after, done = 0, 0
    while True:
        page = conn.execute(text(
            f"SELECT _fid{columns} FROM {qualified} WHERE _fid > :after ORDER BY _fid "
            f"LIMIT {REFOLD_CHUNK_ROWS}"), {"after": after}).all()
        if not page:
            return done
        frame = pd.DataFrame([tuple(r) for r in page], columns=["_fid", *fields], dtype=object)
        folded = search_text(frame, fields).tolist()
        conn.execute(
            text(f"UPDATE {qualified} AS t SET _search = v.search "
                 "FROM unnest(CAST(:fids AS bigint[]), CAST(:texts AS text[])) "
                 "AS v(fid, search) WHERE t._fid = v.fid"),
            {"fids": [int(f) for f in frame["_fid"]], "texts": folded},
        )
        after = int(page[-1][0])
        done += len(page)
