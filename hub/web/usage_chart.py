"""Usage over time as a chart: per-day rows of the usage store -> series -> SVG geometry.

Pure functions. The rows are those ``GET /v1/stats?detail=day`` serves
(``UsageStore.daily``); the chart adds up each day's versions and formats per kind, fills
days without use with zero, and places the lines in a fixed viewBox. The template draws the
SVG (no JavaScript) and the same numbers as a table for screen readers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from hub.usage.counter import DOWNLOAD, RECORDS, TILES

# The kinds drawn, in legend order: (kind, CSS class). The labels are the template's.
KINDS = (RECORDS, TILES, DOWNLOAD)
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 32


@dataclass(frozen=True)
class Day:
    day: date
    counts: dict[str, int]  # kind -> requests that day


@dataclass(frozen=True)
class Line:
    kind: str
    points: str  # SVG polyline points "x,y x,y ..."
    dots: list[tuple[float, float, int, date]]  # x, y, value, day (each day's marker)


@dataclass(frozen=True)
class Chart:
    days: list[Day]
    lines: list[Line]
    y_ticks: list[tuple[float, int]]  # y position, value
    x_ticks: list[tuple[float, date]]  # x position, day
    maximum: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return self.maximum == 0


def daily_series(rows: Iterable[dict[str, Any]], first: date, last: date) -> list[Day]:
    """One :class:`Day` per date from ``first`` to ``last``: requests per kind summed over
    versions and formats, zero on days without use."""
    totals: dict[date, dict[str, int]] = {}
    for row in rows:
        if row["kind"] in KINDS and first <= row["day"] <= last:
            per_kind = totals.setdefault(row["day"], {})
            per_kind[row["kind"]] = per_kind.get(row["kind"], 0) + int(row["requests"])
    days = []
    day = first
    while day <= last:
        counts = totals.get(day, {})
        days.append(Day(day, {kind: counts.get(kind, 0) for kind in KINDS}))
        day += timedelta(days=1)
    return days


def nice_ceiling(value: int) -> int:
    """The axis' top: 1, 2 or 5 times a power of ten, at least ``value`` (and at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return max(1, step * factor)
        step *= 10


def chart(days: list[Day], y_tick_count: int = 4, x_tick_count: int = 6) -> Chart:
    """The lines of each kind over ``days`` in a ``WIDTH`` x ``HEIGHT`` viewBox."""
    maximum = max((d.counts[k] for d in days for k in KINDS), default=0)
    top_value = nice_ceiling(maximum)
    span_x = WIDTH - RIGHT - LEFT
    span_y = HEIGHT - BOTTOM - TOP

    def x(index: int) -> float:
        return round(LEFT + (span_x * index / (len(days) - 1) if len(days) > 1 else span_x / 2),
                     1)

    def y(value: int) -> float:
        return round(HEIGHT - BOTTOM - span_y * value / top_value, 1)

    lines = []
    for kind in KINDS:
        dots = [(x(i), y(d.counts[kind]), d.counts[kind], d.day) for i, d in enumerate(days)]
        lines.append(Line(kind, " ".join(f"{px},{py}" for px, py, _v, _d in dots), dots))
    y_ticks = [(y(top_value * i // y_tick_count), top_value * i // y_tick_count)
               for i in range(y_tick_count + 1)]
    every = max(1, -(-len(days) // x_tick_count))  # ceiling division
    x_ticks = [(x(i), d.day) for i, d in enumerate(days) if i % every == 0]
    return Chart(days, lines, y_ticks, x_ticks, maximum)
