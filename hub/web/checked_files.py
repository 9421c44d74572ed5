"""Files staff have checked and not yet published: kept on disk between the two steps.

The console checks an upload first (a dry run of the one publish pipeline) and shows the
report; publishing it is a second request. The file waits under
``HUB_DATA_DIR/uploads/checked/<key id>-<random>/``: only the key that checked it can
publish it (the folder name starts with its id, the random part is in that key's page
only), and folders older than :data:`KEEP_S` are removed whenever another is kept.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from pathlib import Path

from hub.api.uploads import Upload

KEEP_S = 24 * 3600
_TICKET = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _root(uploads_dir: Path) -> Path:
    return uploads_dir / "checked"


def keep(upload: Upload, uploads_dir: Path, key_id: int) -> str:
    """Move a checked upload aside for ``key_id``; returns the ticket that names it."""
    root = _root(uploads_dir)
    root.mkdir(parents=True, exist_ok=True)
    _forget_old(root)
    ticket = secrets.token_urlsafe(32)
    upload.folder.rename(root / f"{key_id}-{ticket}")
    return ticket


def take(uploads_dir: Path, key_id: int, ticket: str) -> Upload | None:
    """The checked file of ``ticket`` if ``key_id`` kept it (None otherwise: another key's,
    published already, or forgotten)."""
    if not _TICKET.match(ticket):
        return None
    folder = _root(uploads_dir) / f"{key_id}-{ticket}"
    files = [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
    if len(files) != 1:
        return None
    return Upload(folder=folder, path=files[0], fields={})


def _forget_old(root: Path) -> None:
    cutoff = time.time() - KEEP_S
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
