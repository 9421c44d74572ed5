"""The local-directory artifact store (``HUB_ARTIFACT_DIR``).

Layout::

    <root>/<group>/<name>          committed files, e.g. kobe-aed/v3/download.csv
    <root>/.staging/<group>.<uuid>  a group being written (same filesystem, so rename works)
    <root>/.locks/<group>.lock      flock files serialising generation of a group

A group is committed by renaming its staging directory into place, which POSIX makes atomic:
readers see either no group or the complete one, never a half-written file. A process killed
while writing leaves only a staging directory, removed the next time that group is staged.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from hub.storage.base import StoreError

SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


def _check(path: str) -> tuple[str, ...]:
    parts = tuple(path.split("/"))
    if not parts or any(not SEGMENT.match(p) or p in (".", "..") for p in parts):
        raise StoreError(f"invalid artifact key {path!r}")
    return parts


def _flat(group: str) -> str:
    return "__".join(_check(group))


class LocalStaging:
    """Files of one group written under ``.staging`` until :meth:`commit` renames them."""

    def __init__(self, store: LocalArtifactStore, group: str) -> None:
        self.store = store
        self.group = group
        self.root = store.root / ".staging" / f"{_flat(group)}.{uuid.uuid4().hex}"
        self.root.mkdir(parents=True)
        self.done = False

    def _member(self, name: str) -> Path:
        path = self.root.joinpath(*_check(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def path_for(self, name: str) -> str:
        return str(self._member(name))

    @contextmanager
    def open_write(self, name: str) -> Iterator[BinaryIO]:
        with self._member(name).open("wb") as handle:
            yield handle

    @contextmanager
    def open_read(self, name: str) -> Iterator[BinaryIO]:
        with self._member(name).open("rb") as handle:
            yield handle

    def commit(self) -> None:
        target = self.store.root.joinpath(*_check(self.group))
        target.parent.mkdir(parents=True, exist_ok=True)
        # fsync the files so a crash right after the rename cannot expose empty files
        for path in self.root.rglob("*"):
            if path.is_file():
                with path.open("rb") as handle:
                    os.fsync(handle.fileno())
        trash = None
        if target.exists():
            trash = self.store.root / ".staging" / f"{_flat(self.group)}.old.{uuid.uuid4().hex}"
            target.rename(trash)
        self.root.rename(target)
        self.done = True
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)

    def abort(self) -> None:
        if not self.done:
            shutil.rmtree(self.root, ignore_errors=True)
            self.done = True


class LocalArtifactStore:
    """Artifacts as files under one directory."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def _file(self, group: str, name: str) -> Path:
        return self.root.joinpath(*_check(group), *_check(name))

    def stage(self, group: str) -> LocalStaging:
        # Leftovers of a writer that died: only safe to remove while we hold the group's lock,
        # which is how every caller stages (see hub.export.build).
        staging = self.root / ".staging"
        if staging.exists():
            for stale in staging.glob(f"{_flat(group)}.*"):
                shutil.rmtree(stale, ignore_errors=True)
        return LocalStaging(self, group)

    def exists(self, group: str, name: str) -> bool:
        return self._file(group, name).is_file()

    def size(self, group: str, name: str) -> int:
        try:
            return self._file(group, name).stat().st_size
        except FileNotFoundError as exc:
            raise StoreError(f"no artifact {group}/{name}") from exc

    def read_text(self, group: str, name: str) -> str:
        try:
            return self._file(group, name).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise StoreError(f"no artifact {group}/{name}") from exc

    def open_range(
        self, group: str, name: str, start: int = 0, end: int | None = None,
        chunk_size: int = 256 * 1024,
    ) -> Iterator[bytes]:
        path = self._file(group, name)
        try:
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise StoreError(f"no artifact {group}/{name}") from exc
        return self._chunks(handle, start, end, chunk_size)

    @staticmethod
    def _chunks(handle: BinaryIO, start: int, end: int | None, chunk_size: int) -> Iterator[bytes]:
        with handle:
            handle.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                want = chunk_size if remaining is None else min(chunk_size, remaining)
                chunk = handle.read(want)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    @contextmanager
    def lock(self, group: str) -> Iterator[None]:
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        with (locks / f"{_flat(group)}.lock").open("a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def delete_group(self, group: str) -> None:
        target = self.root.joinpath(*_check(group))
        if target.exists():
            trash = self.root / ".staging" / f"{_flat(group)}.deleted.{uuid.uuid4().hex}"
            trash.parent.mkdir(parents=True, exist_ok=True)
            target.rename(trash)
            shutil.rmtree(trash, ignore_errors=True)
