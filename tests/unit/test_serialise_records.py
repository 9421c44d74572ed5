"""Records serialisers are pure: bytes from rows, nothing else."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hub.serialise.records import PageContext, records_csv


def test_csv_cells_keep_integers_and_trim_only_fraction_zeros() -> None:
    context = PageContext("d", 1, None, [], csv_columns=("a", "b", "c", "d", "e"))
    body = records_csv([(Decimal("135420"), Decimal("120.50"), None, True, date(2020, 4, 1))],
                       context).decode()
    assert body.splitlines()[1] == "135420,120.5,,true,2020-04-01"
