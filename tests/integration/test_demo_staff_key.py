"""The demo's staff key against a real PostGIS: issued through the keys store once, kept in a
file only its owner can read, reused while it works, replaced once revoked."""

from __future__ import annotations

import stat

from sqlalchemy import create_engine, text

from hub.cli_demo import DEMO_KEY_SCOPES, demo_key_path, demo_staff_key
from hub.data.people import People
from hub.people.principal import Key


def test_issued_once_kept_owner_only_and_replaced_when_revoked(settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        token, issued = demo_staff_key(settings, engine)
        assert issued
        path = demo_key_path(settings)
        assert path.parent == settings.data_dir
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text(encoding="utf-8").strip() == token
        key = People(engine).resolve(token)
        assert isinstance(key, Key) and key.scopes == DEMO_KEY_SCOPES

        path.chmod(0o644)
        assert demo_staff_key(settings, engine) == (token, False)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

        with engine.begin() as conn:
            conn.execute(text("UPDATE hub.api_keys SET revoked_at = now()"))
        replaced, issued = demo_staff_key(settings, engine)
        assert issued and replaced != token
        assert path.read_text(encoding="utf-8").strip() == replaced
        with engine.connect() as conn:
            created = conn.execute(text("SELECT count(*) FROM hub.audit_log "
                                        "WHERE action = 'key.create'")).scalar()
        assert created == 2
    finally:
        engine.dispose()
