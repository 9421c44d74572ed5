"""Deterministic test shops around Shibuya station, written as messy municipal CSV.

Expected answers in tests are computed from these Python rows with pyproj/shapely, never by
the SQL under test.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

SHIBUYA = (35.658, 139.7016)  # lat, lon
CATEGORIES = ["カフェ", "書店", "薬局", "コンビニ", "レストラン"]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass
class Shop:
    shop_id: str
    name: str
    category: str
    floors: int | None
    step_free: bool | None
    opened: str | None  # ISO date
    lat: float
    lon: float


def make_shops(n: int = 300, seed: int = 7) -> list[Shop]:
    rng = random.Random(seed)
    shops = []
    for i in range(1, n + 1):
        lat = SHIBUYA[0] + rng.uniform(-0.02, 0.02)
        lon = SHIBUYA[1] + rng.uniform(-0.025, 0.025)
        category = CATEGORIES[i % len(CATEGORIES)]
        floors = None if i % 17 == 0 else rng.randint(1, 12)
        step_free = None if i % 11 == 0 else (i % 3 != 0)
        year = rng.randint(1990, 2023)
        opened = (
            None if i % 13 == 0 else f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        )
        shops.append(
            Shop(
                f"S{i:04d}",
                f"渋谷{category}{i}号店",
                category,
                floors,
                step_free,
                opened,
                round(lat, 6),
                round(lon, 6),
            )
        )
    return shops


def _wareki(iso: str) -> str:
    """Write some dates the way city staff do: 令和/平成 with 元年, or slashes."""
    y, m, d = (int(p) for p in iso.split("-"))
    if y >= 2019 and (y, m) >= (2019, 5):
        era_year = y - 2018
        return f"令和{'元' if era_year == 1 else era_year}年{m}月{d}日"
    if y >= 1989:
        return f"平成{y - 1988}年{m}月{d}日"
    return f"{y}/{m}/{d}"


def write_csv(
    path: Path,
    shops: list[Shop],
    *,
    encoding: str = "utf-8",
    swap_every: int = 0,
    messy: bool = True,
) -> Path:
    """Japanese headers, full-width digits, 有/無 booleans, era dates; optionally swapped
    lat/lon on every ``swap_every``-th row."""
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(["店舗ID", "名称", "分類", "階数", "段差なし", "開業日", "緯度", "経度"])
        for i, s in enumerate(shops, start=1):
            floors = "" if s.floors is None else str(s.floors)
            if messy and i % 2 == 0:
                floors = floors.translate(FULL_WIDTH)
            step = "" if s.step_free is None else ("有" if s.step_free else "無")
            opened = (
                ""
                if s.opened is None
                else (_wareki(s.opened) if messy and i % 3 == 0 else s.opened)
            )
            lat, lon = str(s.lat), str(s.lon)
            if swap_every and i % swap_every == 0:
                lat, lon = lon, lat
            writer.writerow([s.shop_id, s.name, s.category, floors, step, opened, lat, lon])
    return path


def with_bad_floor(path: Path, shops: list[Shop], line: int) -> Path:
    """The shops CSV with a floor count that is no integer (column 階数) on physical line
    ``line``: one row the validation report names."""
    write_csv(path, shops)
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[line - 1].split(",")
    cells[3] = "三階"
    lines[line - 1] = ",".join(cells)
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path
