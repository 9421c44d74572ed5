"""`hub serve --workers 2`: two processes, each with its own webhook delivery worker, share
the outbox without sending an event twice; counting quotas in each worker's memory is
announced at start-up (docs/scaling.md, "Workers and HTTP cache")."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hub.data.webhooks import WebhookStore
from hub.db.cluster import free_port
from hub.db.events import emit
from hub.people.audit import AuditEntry
from tests.e2e.processes import hub_env, serving
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.slow

EVENTS = 60  # three of the worker's batches of 20: both workers find work at once


def test_two_workers_deliver_every_event_exactly_once(db_url: str, tmp_path: Path) -> None:
    engine = create_engine(db_url)
    env = hub_env(db_url, tmp_path / "data", webhooks_poll_s="0.1",
                  webhooks_allow_private_targets="127.0.0.0/8")
    log = tmp_path / "hub.log"
    try:
        with Receiver() as receiver, serving(env, free_port(), 2, log):
            WebhookStore(engine).create(
                receiver.url, ["version.published"], "whsec_" + "a" * 32, "test",
                lambda row: AuditEntry.by_operator("webhook.create", "webhook", str(row["id"])))
            with engine.begin() as conn:
                ids = [emit(conn, "version.published",
                            {"dataset": "test-shops", "version": n, "change": n})
                       for n in range(1, EVENTS + 1)]
            deadline = time.monotonic() + 60
            while len(receiver.received) < EVENTS and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1)  # several polls of both workers: a second send would arrive now
            sent = Counter(r.headers["webhook-id"] for r in receiver.received)
        assert set(sent) == set(ids)
        assert [event for event, times in sent.items() if times > 1] == []
        with engine.connect() as conn:
            states = conn.execute(text(
                "SELECT status, attempts, count(*) FROM hub.webhook_deliveries "
                "GROUP BY status, attempts")).all()
        assert states == [("delivered", 1, EVENTS)]
        assert log.read_text().count("Application startup complete") == 2
    finally:
        engine.dispose()


def test_quotas_counted_apart_are_announced(db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "hub.log"
    with serving(hub_env(db_url, tmp_path / "data"), free_port(), 2, log):
        pass
    output = " ".join(log.read_text().split())  # the console wraps long lines
    assert "2 workers count quotas in their own memory" in output
    assert "HUB_RATE_LIMIT_STORAGE=redis://" in output
