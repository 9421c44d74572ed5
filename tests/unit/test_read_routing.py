"""The replica health rules of hub.data.read_routing, on a clock the test moves: a replica
nobody answers for (a real refused TCP connection) leaves rotation and is asked again only
when its doubling wait is over; which failures send a read back to the primary."""

from __future__ import annotations

import psycopg
import psycopg.errors
from sqlalchemy import create_engine

from hub.data.read_routing import MAX_RETRY_S, Replica, ReplicaTiming, _is_replica_failure
from hub.db.cluster import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_unreachable_replica_leaves_rotation_and_is_asked_again_with_a_doubling_wait() -> None:
    clock = Clock()
    engine = create_engine(f"postgresql+psycopg://hub:x@127.0.0.1:{free_port()}/hub",
                           connect_args={"connect_timeout": 2})
    replica = Replica("nobody", engine, ReplicaTiming(max_lag_s=10, lsn_cache_s=0.5,
                                                      retry_s=2), clock)
    try:
        assert not replica.has_replayed(0)
        assert not replica.in_rotation
        assert replica.next_check_at == 1002.0

        clock.now = 1001.9  # not due: no new check, same wait
        assert not replica.has_replayed(0)
        assert replica.next_check_at == 1002.0

        waits = []
        for _ in range(8):
            clock.now = replica.next_check_at
            assert not replica.has_replayed(0)
            waits.append(replica.next_check_at - clock.now)
        assert waits == [4.0, 8.0, 16.0, 32.0, MAX_RETRY_S, MAX_RETRY_S, MAX_RETRY_S,
                         MAX_RETRY_S]
    finally:
        engine.dispose()


def test_connection_failures_go_back_to_the_primary_timeouts_do_not() -> None:
    assert _is_replica_failure(psycopg.OperationalError("connection refused"))
    assert _is_replica_failure(psycopg.errors.AdminShutdown("terminating connection"))
    assert _is_replica_failure(
        psycopg.errors.SerializationFailure("canceling statement due to conflict with recovery"))
    assert not _is_replica_failure(psycopg.errors.QueryCanceled("statement timeout"))
    assert not _is_replica_failure(psycopg.errors.UndefinedColumn("no such column"))
