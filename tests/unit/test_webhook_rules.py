"""Pure rules of webhooks: retry timing, the SSRF guard on IP literals, the event type table
(documented), the private-network setting."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network
from pathlib import Path

import pytest
from pydantic import ValidationError

from hub.db.events import EVENT_TYPES, UnknownEventType, check_event_types
from hub.settings import Settings
from hub.webhooks.retry import MAX_DELAY_S, backoff_s, next_delay_s, retry_after_s
from hub.webhooks.targets import RefusedTarget, check_target

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    for attempt, nominal in [(1, 30), (2, 60), (3, 120), (6, 960)]:
        delay = backoff_s(attempt, 30, rng)
        assert 0.8 * nominal <= delay <= 1.2 * nominal
    assert backoff_s(40, 30, rng) <= 1.2 * MAX_DELAY_S


def test_retry_after_wins_only_when_longer() -> None:
    rng = random.Random(2)
    assert next_delay_s(1, 30, 3600, rng) == 3600
    assert 24 <= next_delay_s(1, 30, 1, rng) <= 36


@pytest.mark.parametrize(("header", "seconds"), [
    ("120", 120.0), ("Sun, 06 Dec 2026 13:00:00 GMT", 3600.0), ("999999999", 86400.0),
    ("Sun, 06 Dec 2026 11:00:00 GMT", 0.0), ("soon", None), ("", None), (None, None),
])
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert retry_after_s(header, NOW) == seconds


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/h", "http://10.0.0.1/h", "http://172.16.5.5/h", "http://192.168.1.1/h",
    "http://169.254.169.254/latest", "http://[::1]/h", "http://[fe80::1]/h",
    "http://[::ffff:10.0.0.1]/h", "http://0.0.0.0/h", "http://224.0.0.1/h",
    "http://100.64.0.1/h", "http://[fd00::1]/h",
])
def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(RefusedTarget, match="address"):
        check_target(url, ())


def test_allowed_networks_open_only_themselves() -> None:
    allowed = (ip_network("127.0.0.0/8"),)
    check_target("http://127.0.0.1:8080/h", allowed)
    with pytest.raises(RefusedTarget):
        check_target("http://10.0.0.1/h", allowed)


def test_public_addresses_pass() -> None:
    check_target("https://93.184.215.14/hook", ())
    check_target("http://[2606:4700:4700::1111]/hook", ())


@pytest.mark.parametrize(("url", "why"), [("file:///etc/passwd", "http or https"),
                                          ("http:///nohost", "host"),
                                          ("https://u:p@93.184.215.14/", "credentials")])
def test_odd_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(RefusedTarget, match=why):
        check_target(url, ())


def test_event_types_are_checked_and_documented() -> None:
    assert check_event_types(["version.published", "version.published"]) == [
        "version.published"]
    with pytest.raises(UnknownEventType, match=r"version\.eaten"):
        check_event_types(["version.eaten"])
    docs = DOCS.read_text(encoding="utf-8")
    assert [name for name in EVENT_TYPES if f"`{name}`" not in docs] == []


def test_private_target_setting_is_validated() -> None:
    settings = Settings(webhooks_allow_private_targets="127.0.0.0/8, ::1/128")
    assert settings.webhook_private_networks() == (ip_network("127.0.0.0/8"),
                                                   ip_network("::1/128"))
    with pytest.raises(ValidationError, match="HUB_WEBHOOKS_ALLOW_PRIVATE_TARGETS"):
        Settings(webhooks_allow_private_targets="localhost")


def test_now_plus_delay_is_a_datetime() -> None:  # the worker adds delays to aware datetimes
    assert NOW + timedelta(seconds=next_delay_s(1, 30, None)) > NOW
