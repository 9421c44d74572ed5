"""The usage chart's pure parts: per-day series from the usage store's rows, the axis."""

from __future__ import annotations

from datetime import date

from hub.web.usage_chart import BOTTOM, HEIGHT, KINDS, chart, daily_series, nice_ceiling


def row(day: int, kind: str, requests: int, version: int = 1, fmt: str = "") -> dict:
    return {"day": date(2026, 12, day), "kind": kind, "requests": requests,
            "version": version, "format": fmt}


def test_days_sum_versions_and_formats_per_kind_and_fill_gaps_with_zero() -> None:
    rows = [row(2, "records", 5), row(2, "records", 7, version=2),
            row(4, "download", 1, fmt="csv"), row(4, "download", 2, fmt="parquet"),
            row(9, "tiles", 99)]  # outside the period
    days = daily_series(rows, date(2026, 12, 1), date(2026, 12, 5))
    assert [d.day.day for d in days] == [1, 2, 3, 4, 5]
    assert days[1].counts == {"records": 12, "tiles": 0, "download": 0}
    assert days[3].counts == {"records": 0, "tiles": 0, "download": 3}
    assert days[0].counts == dict.fromkeys(KINDS, 0)


def test_axis_tops_are_round() -> None:
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 12, 180, 5001)] == [1, 1, 5, 10, 20, 200,
                                                                         10000]


def test_lines_rise_with_the_counts_and_an_empty_period_is_flat() -> None:
    days = daily_series([row(1, "records", 10), row(2, "records", 20)],
                        date(2026, 12, 1), date(2026, 12, 3))
    drawn = chart(days)
    records = next(line for line in drawn.lines if line.kind == "records")
    ys = [y for _x, y, _v, _d in records.dots]
    assert ys[1] < ys[0] < ys[2]  # SVG's y grows downwards: more use is higher
    assert ys[1] == drawn.top  # the largest count reaches the top of the axis (20 = 20)
    empty = chart(daily_series([], date(2026, 12, 1), date(2026, 12, 2)))
    assert empty.empty and {y for line in empty.lines for _x, y, _v, _d in line.dots} == {
        float(HEIGHT - BOTTOM)}
