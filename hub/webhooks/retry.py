"""When to try a failed delivery again: exponential backoff with jitter, or ``Retry-After``."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_DELAY_S = 6 * 3600.0


def backoff_s(attempt: int, base_s: float, rng: random.Random | None = None) -> float:
    """``base * 2**(attempt-1)``, capped at 6 hours, times a random 0.8-1.2 so receivers that
    failed together are not all retried in the same second."""
    delay = min(base_s * 2 ** (attempt - 1), MAX_DELAY_S)
    return delay * (rng or random).uniform(0.8, 1.2)


def retry_after_s(header: str | None, now: datetime) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), capped at a day;
    None when absent or unreadable."""
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        return min(float(header), 24 * 3600.0)
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), 24 * 3600.0)


def next_delay_s(attempt: int, base_s: float, retry_after: float | None,
                 rng: random.Random | None = None) -> float:
    """The receiver's ``Retry-After`` wins when it asks for longer than our backoff."""
    delay = backoff_s(attempt, base_s, rng)
    return max(delay, retry_after) if retry_after is not None else delay
