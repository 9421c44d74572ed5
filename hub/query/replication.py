"""Statements about replication: where a replica's replay stands, and what the catalogue
needs a replica to have replayed before it may answer a catalogue read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, case, func, literal_column, select

from hub.db.tables import versions

_ZERO_LSN = literal_column("'0/0'::pg_lsn")


def replay_state() -> Select[Any]:
    """On a replica: (in recovery, replayed WAL position in bytes, replay lag in seconds).

    The lag is the age of the last replayed commit, but only while there is received WAL
    still to replay: an idle primary sends nothing, and a replica with nothing to replay is
    not behind however old its last commit is."""
    receive = func.pg_last_wal_receive_lsn()
    replay = func.pg_last_wal_replay_lsn()
    lag = case(
        (receive == replay, 0.0),
        else_=func.coalesce(
            func.extract("epoch", func.now() - func.pg_last_xact_replay_timestamp()), 0.0),
    )
    return select(func.pg_is_in_recovery(), replay - _ZERO_LSN, lag)


def catalogue_lsn() -> Select[Any]:
    """On the primary: the newest publish or withdrawal position (bytes) a catalogue read
    depends on; NULL while some publish or withdrawal is not stamped yet (hub.db.commit_lsn),
    which sends catalogue reads to the primary until it is."""
    unstamped = func.bool_or(
        versions.c.published_lsn.is_(None)
        | ((versions.c.status == "withdrawn") & versions.c.withdrawn_lsn.is_(None)))
    newest = func.greatest(func.max(versions.c.published_lsn),
                           func.max(versions.c.withdrawn_lsn))
    return select(case((unstamped, None), else_=func.coalesce(newest, 0)))
