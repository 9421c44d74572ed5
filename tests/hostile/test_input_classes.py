"""Each class of odd input a city's export can contain, read through the real preparation:
it is either read as the person meant it, with a warning naming row and column, or refused
with a report; never stored as garbage.

Fixture: tests/fixtures/datasets/etl-toilets (the same as tests/unit/test_prepare_truth.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.prepare import prepare
from etl.read import ReadError
from tests.unit.test_prepare_truth import HEADER, definition, issues, row

LINES = [",".join(HEADER), ",".join(row(1)), ",".join(row(2))]


def file_of(tmp_path: Path, data: bytes, name: str = "toilets.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("label", "encode"), [
    ("utf-8", lambda t: t.encode("utf-8")),
    ("utf-8 with BOM", lambda t: b"\xef\xbb\xbf" + t.encode("utf-8")),
    ("cp932", lambda t: t.encode("cp932")),
    ("euc-jp", lambda t: t.encode("euc_jp")),
    # Excel's "Unicode text": UTF-16 with a BOM, once misread as CP932 mojibake
    ("utf-16-le", lambda t: t.encode("utf-16")),
    ("utf-16-be", lambda t: b"\xfe\xff" + t.encode("utf-16-be")),
    ("utf-32", lambda t: t.encode("utf-32")),
])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])  # "\r": classic Mac (CR only)
def test_encodings_and_line_ends_read_the_same(tmp_path: Path, label: str, encode,
                                               newline: str) -> None:
    path = file_of(tmp_path, encode(newline.join(LINES) + newline))
    prepared = prepare(definition(), path)
    assert prepared.report.ok, prepared.report
    assert list(prepared.frame["name"]) == ["トイレ1", "トイレ2"], label
    # rows are named by their line in the file, whatever ends the lines
    assert [i.row for i in prepared.report.issues] == []


def test_an_error_on_a_cr_only_file_names_its_line(tmp_path: Path) -> None:
    bad = row(2)
    bad[5] = "北緯"  # latitude
    path = file_of(tmp_path, "\r".join([LINES[0], LINES[1], ",".join(bad)]).encode() + b"\r")
    prepared = prepare(definition(), path)
    assert not prepared.report.ok
    assert {i.row for i in prepared.report.issues if i.severity == "error"} == {3}


def test_a_bom_inside_the_data_is_removed_with_a_warning(tmp_path: Path) -> None:
    """Two exports concatenated: the second one's BOM lands at the start of a record."""
    data = b"\xef\xbb\xbf" + "\n".join(LINES[:2]).encode() + b"\n\xef\xbb\xbf" + (
        LINES[2].encode() + b"\n")
    prepared = prepare(definition(), file_of(tmp_path, data))
    assert prepared.report.ok
    assert list(prepared.frame["id"]) == ["T01", "T02"]
    assert issues(prepared, "stray-bom") == [(3, "ID", "<U+FEFF>T02", "warning")]


def test_a_doubled_bom_at_the_start_is_one_bom(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf\xef\xbb\xbf" + "\n".join(LINES).encode() + b"\n"
    prepared = prepare(definition(), file_of(tmp_path, data))
    assert prepared.report.ok
    assert list(prepared.frame["id"]) == ["T01", "T02"]


def test_nul_bytes_are_removed_with_a_warning(tmp_path: Path) -> None:
    data = "\n".join(LINES).replace("トイレ2", "トイ\x00レ2").encode() + b"\n"
    prepared = prepare(definition(), file_of(tmp_path, data))
    assert list(prepared.frame["name"]) == ["トイレ1", "トイレ2"]
    assert issues(prepared, "nul-byte") == [(3, "名称", "トイ\\0レ2", "warning")]


def test_a_file_that_is_not_text_is_refused_naming_the_bytes(tmp_path: Path) -> None:
    path = file_of(tmp_path, bytes(range(256)) * 40, "binary.csv")
    with pytest.raises(ReadError, match=r"binary\.csv: "):
        prepare(definition(), path)


def test_a_utf16_bom_on_bytes_that_are_not_utf16_is_refused(tmp_path: Path) -> None:
    path = file_of(tmp_path, b"\xff\xfe" + b"\x00\xd8a,b\n", "liar.csv")
    with pytest.raises(ReadError, match=r"liar\.csv: starts with a UTF-16 byte order mark"):
        prepare(definition(), path)
