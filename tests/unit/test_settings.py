"""Settings: validated, passed in, and every one documented (docs that cannot drift)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hub.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`HUB_{name.upper()}`" not in text]
    assert missing == [], f"undocumented settings: {missing}"


def test_environment_is_read_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_PORT", "8123")
    monkeypatch.setenv("HUB_MAX_LIMIT", "50")
    monkeypatch.setenv("HUB_DEFAULT_LIMIT", "20")
    settings = Settings()
    assert (settings.port, settings.max_limit, settings.default_limit) == (8123, 50, 20)


def test_inconsistent_limits_are_rejected() -> None:
    with pytest.raises(ValidationError, match="exceeds HUB_MAX_LIMIT"):
        Settings(default_limit=500, max_limit=100)


def test_replica_urls_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_DATABASE_REPLICA_URLS",
                       "postgresql+psycopg://u:p@10.0.0.2:5432/hub, "
                       "postgresql+psycopg://u:p@10.0.0.3:5432/hub,")
    assert Settings().database_replica_urls == ["postgresql+psycopg://u:p@10.0.0.2:5432/hub",
                                                "postgresql+psycopg://u:p@10.0.0.3:5432/hub"]
    monkeypatch.setenv("HUB_DATABASE_REPLICA_URLS", "")
    assert Settings().database_replica_urls == []
