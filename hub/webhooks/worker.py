"""The delivery worker: claims due deliveries from PostgreSQL, sends them, records the result.

One runs in each server process (``hub serve``, ``hub demo``), in a thread of its own, so
neither a publish nor a request ever waits for a receiver. Claims use ``FOR UPDATE SKIP
LOCKED`` (``hub.query.webhooks.claim_due``), so several processes share the queue without
sending a delivery twice.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from hub.data.webhooks import Attempt, WebhookStore
from hub.settings import Settings
from hub.webhooks.messages import body, signed_headers
from hub.webhooks.retry import next_delay_s, retry_after_s
from hub.webhooks.sender import Response, send

log = logging.getLogger("hub.webhooks")

BATCH = 20


class WebhookWorker:
    def __init__(self, store: WebhookStore, settings: Settings, base_url: str) -> None:
        self.store = store
        self.settings = settings
        self.base_url = base_url.rstrip("/")
        self.allowed = settings.webhook_private_networks()
        self.rng = random.Random()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(timeout=settings.webhooks_timeout_s,
                                    follow_redirects=False,
                                    headers={"user-agent": "co-creation-hub-webhooks"})

    def run_once(self, now: datetime | None = None) -> int:
        """Send every delivery due at ``now``; returns how many were attempted. Tests pass
        ``now`` to step through retries without waiting."""
        now = now or datetime.now(UTC)
        # The lease outlasts every redirect hop's timeout, so a live worker never loses it.
        lease = timedelta(seconds=self.settings.webhooks_timeout_s * 8 + 30)
        claimed = self.store.claim_due(now, now + lease, BATCH)
        for delivery in claimed:
            attempt = self._attempt(delivery, now)
            self.store.record(delivery["id"], delivery["endpoint_id"], datetime.now(UTC),
                              attempt)
        return len(claimed)

    def _attempt(self, delivery: dict[str, Any], now: datetime) -> Attempt:
        content = body(delivery["event_type"], delivery["payload"],
                       delivery["event_created_at"], self.base_url)
        sent_at = datetime.now(UTC)
        headers = signed_headers(delivery["secret"], delivery["event_id"], sent_at, content)
        answer = send(self._client, delivery["url"], content, headers, self.allowed)
        return self._outcome(answer, delivery["attempts"], now)

    def _outcome(self, answer: Response, attempts: int, now: datetime) -> Attempt:
        if answer.ok:
            return Attempt(True, answer.status_code, "", answer.excerpt, None)
        if answer.status_code == 410:
            return Attempt(False, 410, "HTTP 410: the receiver asked for no more deliveries; "
                           "the webhook is disabled", answer.excerpt, None,
                           disable_reason="the receiver answered 410 Gone at "
                           + now.isoformat())
        if attempts >= self.settings.webhooks_max_attempts:
            return Attempt(False, answer.status_code,
                           f"{answer.error} (attempt {attempts}, the last)", answer.excerpt,
                           None)
        delay = next_delay_s(attempts, self.settings.webhooks_backoff_s,
                             retry_after_s(answer.retry_after, now), self.rng)
        return Attempt(False, answer.status_code, answer.error, answer.excerpt,
                       now + timedelta(seconds=delay))

    # -- the background thread --------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hub-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.webhooks_timeout_s + 5)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("webhook worker pass failed; trying again")
                busy = 0
            if not busy:
                self._stop.wait(self.settings.webhooks_poll_s)
