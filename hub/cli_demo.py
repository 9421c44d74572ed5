"""The demo's staff key: ``hub demo`` gives a newcomer a key to sign in to the staff console
with, issued through the keys store once and kept in a file under the data directory (never
in the repository: ``.hub/`` is git-ignored), readable by its owner only.

A kept token that no longer works (revoked, expired, or a fresh database) is replaced; one
that works is reused, so restarting the demo does not pile up keys.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine

from hub.people.audit import AuditEntry, operator_actor
from hub.people.keys import NewKey
from hub.people.principal import Key
from hub.people.scopes import KeyKind, Scope
from hub.settings import Settings

DEMO_KEY_NAME = "demo staff"
DEMO_KEY_FILE = "demo-staff-key"
DEMO_KEY_SCOPES = frozenset({Scope.PUBLISH, Scope.MODERATE})
OWNER_ONLY = 0o600


def demo_key_path(settings: Settings) -> Path:
    return settings.data_dir / DEMO_KEY_FILE


def demo_staff_key(settings: Settings, engine: Engine) -> tuple[str, bool]:
    """The demo's staff token and whether it was issued now (False: the kept one works)."""
    from hub.data.people import People

    people = People(engine)
    path = demo_key_path(settings)
    if path.is_file():
        kept = path.read_text(encoding="utf-8").strip()
        if isinstance(people.resolve(kept), Key):
            os.chmod(path, OWNER_ONLY)
            return kept, False
    new = NewKey(name=DEMO_KEY_NAME, kind=KeyKind.STAFF, scopes=DEMO_KEY_SCOPES,
                 created_by=operator_actor())
    _row, token = people.issue(new, lambda r: AuditEntry.by_operator(
        "key.create", "key", str(r["id"]), name=r["name"], scopes=r["scopes"],
        datasets=r["datasets"], expires_at=None))
    _write_owner_only(path, token)
    return token, True


def _write_owner_only(path: Path, text: str) -> None:
    """Write ``text`` to a file no one else can read, from its first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text + "\n")
