"""Zip safety: malicious archives are refused before any member is read or extracted."""

from __future__ import annotations

import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from etl.gtfs import archive, prepare_feed
from etl.gtfs.archive import Feed, UnsafeArchive, check_members, unsafe_member_name
from etl.read import ReadError
from tests.gtfs_feeds import MINI_FEED, transit_definition, write_feed, zip_folder


def make_zip(path: Path, members: dict[str, bytes], *, symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, "/etc/passwd")
    return path


def feed_members(**extra: bytes) -> dict[str, bytes]:
    return {**{k: v.encode() for k, v in MINI_FEED.items()}, **extra}


@pytest.fixture
def no_reads(monkeypatch):
    """Fail the test if anything is decompressed: refusal must come from the directory."""
    original = zipfile.ZipFile.open

    def guarded(self, name, mode="r", *args, **kwargs):
        if mode == "r":
            raise AssertionError(f"member {name} was opened for reading")
        return original(self, name, mode, *args, **kwargs)
    monkeypatch.setattr(zipfile.ZipFile, "open", guarded)


@pytest.mark.parametrize("name, why", [
    ("../evil.txt", "path traversal"),
    ("feed/../../evil.txt", "path traversal"),
    ("..\\evil.txt", "path traversal"),
    ("/etc/cron.d/evil", "absolute path"),
    ("\\windows\\evil", "absolute path"),
    ("C:/evil.txt", "absolute path"),
])
def test_traversal_and_absolute_names_are_refused(tmp_path, no_reads, name, why):
    path = make_zip(tmp_path / "evil.zip", feed_members(**{name: b"x"}))
    with pytest.raises(UnsafeArchive, match=why) as refused:
        Feed(path)
    assert refused.value.file == "evil.zip" and repr(name) in str(refused.value)
    assert not (tmp_path / "evil.txt").exists()
    assert unsafe_member_name("stops.txt") is None and unsafe_member_name("feed/stops.txt") is None


def test_symlink_member_is_refused(tmp_path, no_reads):
    path = make_zip(tmp_path / "link.zip", feed_members(), symlink="stops_link.txt")
    with pytest.raises(UnsafeArchive, match="symbolic link"):
        Feed(path)


def _patch_declared_size(path: Path, member: str, size: int) -> None:
    """Rewrite a member's uncompressed size in its local header and the central directory."""
    data = bytearray(path.read_bytes())
    encoded = member.encode()
    for signature, size_offset, name_offset in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            if data[start + name_offset: start + name_offset + len(encoded)] == encoded:
                struct.pack_into("<I", data, start + size_offset, size)
            start += 4
    path.write_bytes(bytes(data))


def test_huge_declared_size_is_refused_before_reading(tmp_path, no_reads):
    path = make_zip(tmp_path / "big.zip", feed_members())
    _patch_declared_size(path, "stop_times.txt", archive.MAX_MEMBER_BYTES + 1)
    assert zipfile.ZipFile(path).getinfo("stop_times.txt").file_size > archive.MAX_MEMBER_BYTES
    with pytest.raises(UnsafeArchive, match="declares 536870913 bytes"):
        Feed(path)


def test_total_declared_size_is_bounded():
    infos = []
    for i in range(5):
        info = zipfile.ZipInfo(f"part{i}.txt")
        info.file_size = 500 * archive.MiB
        info.compress_size = 100 * archive.MiB
        infos.append(info)
    with pytest.raises(UnsafeArchive, match="in total"):
        check_members(infos, "parts.zip")
    assert len(check_members(infos[:4], "parts.zip")) == 4  # 2000 MiB: allowed


def test_compression_bomb_is_refused(tmp_path, no_reads):
    bomb = b"0" * (4 * archive.MiB)  # deflates about 1000x
    path = make_zip(tmp_path / "bomb.zip", feed_members(**{"shapes.txt": bomb}))
    with pytest.raises(UnsafeArchive, match="expands"):
        Feed(path)


def test_encrypted_member_is_refused():
    info = zipfile.ZipInfo("stops.txt")
    info.flag_bits |= 0x1
    with pytest.raises(UnsafeArchive, match="encrypted"):
        check_members([info], "locked.zip")


def test_a_member_longer_than_declared_is_not_read_past_its_size(tmp_path):
    path = make_zip(tmp_path / "lie.zip", feed_members())
    real = len(MINI_FEED["stops.txt"].encode())
    _patch_declared_size(path, "stops.txt", real - 10)  # says it is shorter than it is
    with Feed(path) as feed, pytest.raises(ReadError):
        feed.read("stops.txt")  # stops at the declared size; the CRC then fails


def test_folder_with_a_symlink_is_refused(tmp_path):
    folder = write_feed(tmp_path / "feed")
    os.symlink("/etc/passwd", folder / "shapes.txt")
    with pytest.raises(UnsafeArchive, match="symbolic link"):
        Feed(folder)


def test_not_a_zip(tmp_path):
    path = tmp_path / "feed.zip"
    path.write_bytes(b"stop_id,stop_name\n")
    with pytest.raises(ReadError, match="not a readable zip"):
        Feed(path)


def test_feed_inside_a_folder_of_the_zip_is_read_with_a_warning(tmp_path):
    folder = write_feed(tmp_path / "feed")
    path = zip_folder(folder, tmp_path / "nested.zip", prefix="gtfs/")
    definition = transit_definition(tmp_path / "defs", "bus-routes-nested")
    prepared = prepare_feed(definition, path)
    assert prepared.report.ok
    assert [(i.rule, i.value) for i in prepared.report.issues if i.rule == "feed-folder"] == [
        ("feed-folder", "gtfs/")]
    assert len(prepared.extra_layers["stops"].frame) == 5


def test_limits_are_the_documented_ones():
    assert archive.MAX_MEMBER_BYTES == 512 * 2**20
    assert archive.MAX_FEED_BYTES == 2 * 2**30
    assert archive.MAX_COMPRESSION_RATIO == 200
    docs = (Path(__file__).resolve().parents[2] / "docs" / "transit.md").read_text("utf-8")
    for name in ("MAX_MEMBER_BYTES", "MAX_FEED_BYTES", "MAX_COMPRESSION_RATIO", "MAX_MEMBERS"):
        assert name in docs, name
