"""The file name an upload keeps: the client's last path segment, made safe to store."""

from __future__ import annotations

import pytest

from hub.api.uploads import safe_file_name


@pytest.mark.parametrize(("given", "kept"), [
    ("shops.csv", "shops.csv"),
    ("店舗 一覧.csv", "店舗 一覧.csv"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\tanaka\\aed.xlsx", "aed.xlsx"),
    ("bad\x00name\x1b.csv", "badname.csv"),
    (".hidden.csv", "hidden.csv"),
    ("..", "upload"),
    ("", "upload"),
    (None, "upload"),
])
def test_safe_file_name(given: str | None, kept: str) -> None:
    assert safe_file_name(given) == kept


def test_long_names_keep_their_suffix_under_200_bytes() -> None:
    kept = safe_file_name("長" * 300 + ".csv")
    assert kept.endswith(".csv") and len(kept.encode()) <= 200
