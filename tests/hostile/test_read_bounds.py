"""Hostile tables: every read is bounded in bytes, columns, records and cell size, and an
unclosed quote is reported at the line where it opened.

Each bound is shown to come from the bound itself: the same file is read once with the
limit above its figure (it reads) and once below (it is refused, naming the setting), so
the refusal cannot be an accident of something else."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import openpyxl
import pytest

from etl.read import ReadError, read_table
from etl.read_limits import ReadLimits
from hub.settings import Settings


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_defaults_are_the_settings_defaults() -> None:
    settings = Settings(database_url="postgresql://x/y")
    assert ReadLimits() == ReadLimits.from_settings(settings)
    assert ReadLimits.from_settings(settings.model_copy(update={"read_max_columns": 7})
                                    ).max_columns == 7


def test_two_hundred_thousand_columns_are_refused_at_the_header(tmp_path: Path) -> None:
    """The 1.9 MB, 200,000-column CSV: refused while its first line is read, with little
    memory (it once took minutes and gigabytes)."""
    header = ",".join(f"c{i}" for i in range(200_000))
    path = write(tmp_path, "wide.csv", header + "\n" + ",".join("1" * 200_000) + "\n")
    tracemalloc.start()
    try:
        with pytest.raises(ReadError) as refused:
            read_table(path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(refused.value)
    assert "wide.csv: line 1 has 200,000 columns" in message
    assert "HUB_READ_MAX_COLUMNS" in message
    assert peak < 200 << 20, f"peak {peak:,} bytes"


def test_column_bound_applies_to_a_record_wider_than_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, "ragged.csv", "a,b\n1,2\n" + ",".join("x" * 50) + "\n")
    assert read_table(path, limits=ReadLimits(max_columns=60)).frame.shape[0] == 2
    with pytest.raises(ReadError, match=r"has 50 columns.*limit is 10 columns"):
        read_table(path, limits=ReadLimits(max_columns=10))


def test_file_size_is_checked_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path, "big.csv", "a,b\n" + "1,2\n" * 1000)
    size = path.stat().st_size
    assert len(read_table(path, limits=ReadLimits(max_file_bytes=size)).frame) == 1000
    with pytest.raises(ReadError, match=f"the file is {size:,} bytes.*HUB_READ_MAX_FILE_BYTES"):
        read_table(path, limits=ReadLimits(max_file_bytes=size - 1))


@pytest.mark.parametrize("compact", [False, True])
def test_record_count_is_bounded(tmp_path: Path, compact: bool) -> None:
    path = write(tmp_path, "rows.csv", "a,b\n" + "1,2\n" * 100)
    assert len(read_table(path, compact=compact, limits=ReadLimits(max_rows=100)).frame) == 100
    with pytest.raises(ReadError, match=r"more than 99 records.*HUB_READ_MAX_ROWS"):
        read_table(path, compact=compact, limits=ReadLimits(max_rows=99))


@pytest.mark.parametrize("compact", [False, True])
def test_cell_size_is_bounded_and_names_row_and_column(tmp_path: Path, compact: bool) -> None:
    # 300 characters of 3-byte kana: 900 bytes, so the bound is in bytes, not characters.
    path = write(tmp_path, "cells.csv", "名称,説明\nA,short\nB," + "あ" * 300 + "\n")
    assert len(read_table(path, compact=compact,
                          limits=ReadLimits(max_cell_bytes=900)).frame) == 2
    with pytest.raises(ReadError) as refused:
        read_table(path, compact=compact, limits=ReadLimits(max_cell_bytes=899))
    assert "row 3, column '説明': a cell of 900 bytes" in str(refused.value)


def test_xlsx_is_bounded_by_filled_columns_not_its_formatted_width(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["名称", "住所"])
    sheet.append(["A", "x"])
    sheet.cell(row=1, column=16_000).number_format = "0.00"  # formatted, never filled
    narrow = tmp_path / "narrow.xlsx"
    book.save(narrow)
    assert read_table(narrow, limits=ReadLimits(max_columns=2)).headers == ["名称", "住所"]
    sheet.append([f"v{i}" for i in range(40)])
    wide = tmp_path / "wide.xlsx"
    book.save(wide)
    with pytest.raises(ReadError, match=r"wide\.xlsx: row 3 has 40 columns"):
        read_table(wide, limits=ReadLimits(max_columns=20))


@pytest.mark.parametrize(("content", "line"), [
    ('a,b\n"x,2\n3,4\n', 2),          # the first record: once reported as "row 0"
    ('a,b\n1,2\n3,"open\n5,6\n7,8\n', 3),
    ('"a,b\n1,2\n', 1),               # in the header, which the csv module read silently
    # a closed multi-line cell and an escaped quote before it do not shift the count
    ('a,b\n1,"multi\nline"\n"x"",y",2\n3,"open\n5,6\n', 5),
    ('a,b\r\n1,2\r\n3,"open\r\n5,6\r\n', 3),
])
def test_unterminated_quote_names_the_line_it_opened(tmp_path: Path, content: str,
                                                     line: int) -> None:
    path = write(tmp_path, "quote.csv", content)
    with pytest.raises(ReadError) as refused:
        read_table(path)
    assert f"quote.csv: line {line}: a quote" in str(refused.value)
    assert "never closed" in str(refused.value)


def test_a_quote_inside_a_cell_is_text_not_an_opening(tmp_path: Path) -> None:
    path = write(tmp_path, "inner.csv", 'a,b\n5" screen,2\n3,4\n')
    assert read_table(path).frame.iloc[0, 0] == '5" screen'


def _entity_bomb_xlsx(path: Path, part: str) -> Path:
    """An XLSX whose ``part`` declares "billion laughs" entities (10^9 "lol"s, ~3 GB when
    expanded) and uses the biggest in a cell."""
    import io
    import zipfile

    book = openpyxl.Workbook()
    book.active.append(["名称", "住所"])
    book.active.append(["A", "x"])
    plain = io.BytesIO()
    book.save(plain)
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "' + (f"&lol{i - 1};" if i > 1 else "&lol;") * 10 + '">'
        for i in range(1, 10))
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == part:
                text = data.decode()
                text = f"<!DOCTYPE lolz [{entities}]>" + text.split("?>", 1)[-1]
                data = text.replace(">A<", ">&lol9;<", 1).encode()
            out.writestr(item, data)
    return path


def test_xlsx_entity_expansion_is_refused(tmp_path: Path) -> None:
    import defusedxml  # noqa: F401  (a dependency: openpyxl refuses entities only with it)

    bomb = _entity_bomb_xlsx(tmp_path / "bomb.xlsx", "xl/worksheets/sheet1.xml")
    with pytest.raises(ReadError, match=r"bomb\.xlsx: .*(XML|workbook)"):
        read_table(bomb)
