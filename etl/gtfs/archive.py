"""Open a feed (a zip archive or a folder of ``.txt`` files) and hand out its files' bytes,
after checking that the archive is safe to read.

A feed zip comes from outside (an operator's website, an upload), so nothing in it is
trusted: the central directory is checked *before* any member is read. Member names must be
relative paths without ``..`` (zip slip), no member may be a symlink or encrypted, and the
declared sizes must stay under :data:`MAX_MEMBER_BYTES` per file and :data:`MAX_FEED_BYTES`
in total, with a compression ratio under :data:`MAX_COMPRESSION_RATIO` (zip bombs). Members
are then read into memory, never extracted to disk, and reading stops one byte past the
declared size, so a header that lies about it cannot make us read more.
"""

from __future__ import annotations

import hashlib
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from etl.read import ReadError

MiB = 1 << 20
# One GTFS file: large city feeds have stop_times.txt of a few hundred MB.
MAX_MEMBER_BYTES = 512 * MiB
# All members together (declared, uncompressed).
MAX_FEED_BYTES = 2048 * MiB
# Text CSV compresses 5-20x; a ratio beyond this on a member larger than
# RATIO_CHECK_MIN_BYTES is a decompression bomb, not a timetable.
MAX_COMPRESSION_RATIO = 200
RATIO_CHECK_MIN_BYTES = 1 * MiB
# Members in one archive (a feed has ~10-40 files).
MAX_MEMBERS = 10_000


class UnsafeArchive(ReadError):
    """The zip is refused before anything in it is read (traversal, symlink, size, bomb)."""


@dataclass(frozen=True)
class FeedFile:
    """One file of the feed: its name relative to the feed root, as written in the archive."""

    name: str  # e.g. "stops.txt" (the feed root prefix removed)
    member: str  # name inside the zip / path relative to the folder
    size: int  # declared uncompressed size


class Feed:
    """The files of a feed, from a zip archive or a folder; see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.source_name = self.path.name
        self._zip: zipfile.ZipFile | None = None
        if self.path.is_dir():
            self.files, self.source_sha256 = _folder_files(self.path)
        elif self.path.is_file():
            self._zip, self.files, self.source_sha256 = _zip_files(self.path)
        else:
            raise ReadError(self.path.name, "no such file or folder")
        self.root = _feed_root(self.files)

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    @property
    def names(self) -> list[str]:
        """File names relative to the feed root (``stops.txt`` ...), sorted."""
        return sorted(self.by_name)

    @property
    def by_name(self) -> dict[str, FeedFile]:
        prefix = self.root
        return {
            f.member[len(prefix):]: f for f in self.files
            if f.member.startswith(prefix) and "/" not in f.member[len(prefix):]
        }

    @property
    def outside_root(self) -> list[str]:
        """Members not directly in the feed root (sub-folders, ``__MACOSX/`` ...)."""
        inside = {f.member for f in self.by_name.values()}
        return sorted(f.member for f in self.files if f.member not in inside)

    def read(self, name: str) -> bytes:
        """The bytes of one file (by its name relative to the feed root)."""
        entry = self.by_name[name]
        if self._zip is None:
            target = self.path / entry.member
            with target.open("rb") as handle:
                data = handle.read(MAX_MEMBER_BYTES + 1)
        else:
            try:
                with self._zip.open(entry.member) as handle:
                    data = handle.read(entry.size + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                raise ReadError(self.source_name, f"{entry.member}: cannot decompress: {exc}") \
                    from exc
        if len(data) > min(entry.size, MAX_MEMBER_BYTES):
            raise UnsafeArchive(self.source_name, f"{entry.member}: more data than declared "
                                f"({entry.size} bytes); refused")
        return data


def _zip_files(path: Path) -> tuple[zipfile.ZipFile, list[FeedFile], str]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ReadError(path.name, f"not a readable zip archive: {exc}") from exc
    try:
        files = check_members(archive.infolist(), path.name)
    except UnsafeArchive:
        archive.close()
        raise
    return archive, files, digest.hexdigest()


def check_members(infos: list[zipfile.ZipInfo], archive_name: str) -> list[FeedFile]:
    """The regular files of an archive, or :class:`UnsafeArchive` naming the first problem.

    Runs on the central directory only (nothing is decompressed here).
    """
    def refuse(message: str) -> UnsafeArchive:
        return UnsafeArchive(archive_name, f"unsafe zip archive, nothing was read: {message}")

    if len(infos) > MAX_MEMBERS:
        raise refuse(f"{len(infos)} members (at most {MAX_MEMBERS})")
    files: list[FeedFile] = []
    total = 0
    for info in infos:
        name = info.filename
        problem = unsafe_member_name(name)
        if problem:
            raise refuse(f"member {name!r}: {problem}")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise refuse(f"member {name!r} is a symbolic link")
        if info.flag_bits & 0x1:
            raise refuse(f"member {name!r} is encrypted")
        if info.is_dir():
            continue
        if info.file_size > MAX_MEMBER_BYTES:
            raise refuse(f"member {name!r} declares {info.file_size} bytes uncompressed "
                         f"(at most {MAX_MEMBER_BYTES} per file)")
        total += info.file_size
        if total > MAX_FEED_BYTES:
            raise refuse(f"members declare more than {MAX_FEED_BYTES} bytes uncompressed in total")
        if info.file_size > RATIO_CHECK_MIN_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > MAX_COMPRESSION_RATIO:
                raise refuse(f"member {name!r} expands {ratio:.0f}x "
                             f"(at most {MAX_COMPRESSION_RATIO}x): a decompression bomb?")
        files.append(FeedFile(name=PurePosixPath(name).name, member=name, size=info.file_size))
    return files


def unsafe_member_name(name: str) -> str | None:
    """Why a member name could escape the extraction root, or None when it is safe."""
    if not name or "\x00" in name:
        return "empty name or NUL byte"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        return "'..' in the path (path traversal)"
    return None


def _folder_files(path: Path) -> tuple[list[FeedFile], str]:
    """Regular files of a folder (one level), and the folder's checksum: SHA-256 over
    ``name NUL sha256(bytes) LF`` of every file in name order, so the same files give the same
    checksum wherever the folder lives."""
    digest = hashlib.sha256()
    files: list[FeedFile] = []
    for entry in sorted(path.iterdir(), key=lambda p: p.name):
        if entry.is_symlink():
            raise UnsafeArchive(path.name, f"{entry.name} is a symbolic link; refused")
        if not entry.is_file():
            continue
        size = entry.stat().st_size
        if size > MAX_MEMBER_BYTES:
            raise UnsafeArchive(path.name, f"{entry.name} has {size} bytes "
                                f"(at most {MAX_MEMBER_BYTES} per file)")
        content = hashlib.sha256()
        with entry.open("rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                content.update(block)
        digest.update(f"{entry.name}\x00{content.hexdigest()}\n".encode())
        files.append(FeedFile(name=entry.name, member=entry.name, size=size))
    if sum(f.size for f in files) > MAX_FEED_BYTES:
        raise UnsafeArchive(path.name, f"files hold more than {MAX_FEED_BYTES} bytes in total")
    return files, digest.hexdigest()


def _feed_root(files: list[FeedFile]) -> str:
    """The folder prefix inside the archive where the feed's files are: "" normally, or
    ``"feed/"`` when the whole feed was zipped inside one folder (a common mistake)."""
    members = {f.member for f in files}
    if any(m in members for m in ("stops.txt", "routes.txt", "trips.txt", "board_alight.txt",
                                  "ridership.txt")):
        return ""
    candidates = sorted({
        m[: -len(name)] for m in members for name in ("stops.txt", "board_alight.txt",
                                                       "ridership.txt")
        if m.endswith("/" + name)
    })
    return candidates[0] if len(candidates) == 1 else ""
