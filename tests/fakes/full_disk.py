"""FAULT at the storage edge: the bulk-file store's disk fills up.

Every file written through a :class:`hub.storage.local.LocalStaging` counts against one
budget; the write that crosses it is cut short and raises ``OSError(ENOSPC)`` exactly as the
kernel does (the bytes up to the budget are written, the rest are not). Nothing else of the
store is touched, so what the hub does with the half-written file is its own code's doing.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import pytest

from hub.storage.local import LocalStaging


class _FillingFile:
    def __init__(self, handle: BinaryIO, disk: FullDisk) -> None:
        self._handle = handle
        self._disk = disk

    def write(self, data: Any) -> int:
        room = self._disk.room()
        view = memoryview(data).cast("B")
        if len(view) > room:
            self._handle.write(view[:room])
            self._disk.used += room
            raise OSError(errno.ENOSPC, "No space left on device")
        self._disk.used += len(view)
        return self._handle.write(view)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


class FullDisk:
    """The disk: ``budget`` bytes free until :meth:`free_space` (an operator cleaning up)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.full = True

    def room(self) -> int:
        return max(self.budget - self.used, 0) if self.full else 1 << 62

    def free_space(self) -> None:
        self.full = False


@contextmanager
def full_disk(monkeypatch: pytest.MonkeyPatch, budget: int) -> Iterator[FullDisk]:
    disk = FullDisk(budget)
    original = LocalStaging.open_write

    @contextmanager
    def open_write(self: LocalStaging, name: str) -> Iterator[Any]:
        with original(self, name) as handle:
            yield _FillingFile(handle, disk)

    monkeypatch.setattr(LocalStaging, "open_write", open_write)
    yield disk
