"""Stamp a version row with the WAL position just past a commit that changed it.

A read replica may serve a version only once it has replayed the commit that published it
(hub.data.read_routing). The position must be at or past the END of that commit record, and
no position read inside the transaction is: ``pg_current_wal_insert_lsn()`` taken before
the commit points before the commit record, and other transactions' records may come
between. So the stamp is taken after the commit, by one UPDATE that evaluates
``pg_current_wal_insert_lsn()``: the insert position only moves forward, and the commit has
already been inserted, so the value is at or past its end. The UPDATE needs no connection
of its own to the commit: the WAL position is the cluster's, not the session's.

The cost is a short window: between the commit and the stamp the column is NULL, and a
NULL stamp means "primary only" (never stale, only not offloaded). The UPDATE stamps every
unstamped row, so a stamp that a crash prevented is written by the next publish or
withdrawal. It changes no status, so the change feed's trigger writes nothing for it.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import Engine, func, literal_column, update

from hub.db.tables import versions

CURRENT_INSERT_LSN = func.pg_current_wal_insert_lsn() - literal_column("'0/0'::pg_lsn")


def stamp_commit_lsn(engine: Engine, event: Literal["published", "withdrawn"]) -> None:
    """Record where the WAL stands now on every version published (or withdrawn) but not
    yet stamped: the commit just made, and any earlier one whose stamp a crash prevented
    (its commit is older still, so the same position is at or past it too)."""
    if event == "published":
        statement = (update(versions).where(versions.c.published_lsn.is_(None))
                     .values(published_lsn=CURRENT_INSERT_LSN))
    else:
        statement = (update(versions)
                     .where(versions.c.status == "withdrawn", versions.c.withdrawn_lsn.is_(None))
                     .values(withdrawn_lsn=CURRENT_INSERT_LSN))
    with engine.begin() as conn:
        conn.execute(statement)
