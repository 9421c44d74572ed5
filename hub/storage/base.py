"""The artifact store interface (what an S3-compatible backend would implement)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import BinaryIO, Protocol


class StoreError(RuntimeError):
    """A store operation failed (missing file, bad key, I/O error)."""


class Staging(Protocol):
    """A group of files being written; invisible until :meth:`commit`."""

    def open_write(self, name: str) -> AbstractContextManager[BinaryIO]:
        """A binary file to stream one member into (``name`` relative to the group)."""
        ...

    def path_for(self, name: str) -> str:
        """A local filesystem path for tools that must write a path themselves (GDAL)."""
        ...

    def open_read(self, name: str) -> AbstractContextManager[BinaryIO]:
        """Read back a member written earlier in this staging area (to zip it, hash it)."""
        ...

    def commit(self) -> None:
        """Make the whole group visible at once, replacing any previous group of that key."""
        ...

    def abort(self) -> None:
        """Forget everything written (also what happens when the process dies)."""
        ...


class ArtifactStore(Protocol):
    """Keys are ``group/name`` paths of safe segments (``kobe-aed/v3`` + ``download.csv``)."""

    def stage(self, group: str) -> Staging: ...

    def exists(self, group: str, name: str) -> bool: ...

    def size(self, group: str, name: str) -> int: ...

    def read_text(self, group: str, name: str) -> str: ...

    def open_range(
        self, group: str, name: str, start: int = 0, end: int | None = None,
        chunk_size: int = 256 * 1024,
    ) -> Iterator[bytes]:
        """Bytes ``start``..``end`` inclusive (``end`` None: to the end), in chunks."""
        ...

    def lock(self, group: str) -> AbstractContextManager[None]:
        """Exclusive lock on one group across processes (generation happens under it)."""
        ...

    def delete_group(self, group: str) -> None: ...
