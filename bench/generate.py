"""A realistic, deterministic point dataset of places in Tokyo's 23 wards, for benchmarks.

Rows look like what a city publishes: Japanese headers, names with katakana readings, ward and
chome addresses, postal codes, phone numbers, opening dates (mostly ISO, some in Japanese eras
or with slashes), full-width digits in a few cells, booleans written as true/false, 有/無 or
○/×, and an update time per record. Every value is valid for the bench schema, so a publish
succeeds and measures the hub's normal path (read, NFKC, typed parsing, geometry, checks, COPY).

Locations: each ward gets a copy of a real bus network (the GTFS ``shapes.txt`` of the Donan Bus
Muroran feed), shrunk, rotated and centred on the ward, and about half of the ward's places lie
along those lines (jittered by a few metres), the rest in a Gaussian cluster around the ward
centre with a few denser hot spots: streets and stations make real point data lumpy, and that
lumpiness is what bbox, radius and tile queries feel.

Same ``rows`` and ``seed`` -> byte-identical files. The CP932 copy has the same text.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GTFS_CANDIDATES = (
    ROOT / "datasets" / "bus-routes-muroran" / "feed",
    ROOT.parent / "shared" / "data" / "gtfs-jp-donanbus-muroran",
)
GENERATOR_VERSION = 1  # bump when the output changes, so cached files are rebuilt

HEADERS = [
    "ID", "名称", "名称_カナ", "種別", "住所", "区", "郵便番号", "電話番号", "URL",
    "開設日", "階数", "評価", "段差なし", "緯度", "経度", "更新日時",
]

# ward, lat, lon, relative weight (roughly population), postal prefixes, towns
WARDS: list[tuple[str, float, float, float, tuple[str, ...], tuple[str, ...]]] = [
    ("千代田区", 35.6940, 139.7536, 0.6, ("100", "101", "102"),
     ("丸の内", "神田神保町", "麹町", "飯田橋", "有楽町")),
    ("中央区", 35.6707, 139.7720, 1.0, ("103", "104"),
     ("銀座", "日本橋", "築地", "月島", "八重洲")),
    ("港区", 35.6581, 139.7514, 1.3, ("105", "106", "107", "108"),
     ("六本木", "赤坂", "芝浦", "高輪", "麻布十番")),
    ("新宿区", 35.6938, 139.7034, 1.6, ("160", "161", "162", "169"),
     ("西新宿", "歌舞伎町", "高田馬場", "神楽坂", "四谷")),
    ("文京区", 35.7081, 139.7523, 1.0, ("112", "113"),
     ("本郷", "小石川", "湯島", "千駄木", "音羽")),
    ("台東区", 35.7126, 139.7800, 1.0, ("110", "111"), ("浅草", "上野", "谷中", "蔵前", "入谷")),
    ("墨田区", 35.7107, 139.8015, 1.0, ("130", "131"), ("押上", "両国", "錦糸", "向島", "墨田")),
    ("江東区", 35.6730, 139.8170, 2.0, ("135", "136"),
     ("豊洲", "門前仲町", "亀戸", "清澄", "有明")),
    ("品川区", 35.6092, 139.7302, 1.7, ("140", "141", "142"),
     ("大井", "五反田", "戸越", "西品川", "大崎")),
    ("目黒区", 35.6415, 139.6982, 1.2, ("152", "153"),
     ("自由が丘", "中目黒", "目黒本町", "祐天寺", "駒場")),
    ("大田区", 35.5613, 139.7160, 3.0, ("143", "144", "145", "146"),
     ("蒲田", "大森北", "田園調布", "羽田", "池上")),
    ("世田谷区", 35.6464, 139.6533, 3.6, ("154", "155", "156", "157", "158"),
     ("三軒茶屋", "下北沢", "二子玉川", "成城", "経堂")),
    ("渋谷区", 35.6640, 139.6982, 1.0, ("150", "151"),
     ("神南", "道玄坂", "恵比寿", "代々木", "神宮前")),
    ("中野区", 35.7074, 139.6638, 1.3, ("164", "165"), ("中野", "東中野", "野方", "鷺宮", "本町")),
    ("杉並区", 35.6995, 139.6364, 2.3, ("166", "167", "168"),
     ("高円寺南", "阿佐谷北", "荻窪", "西荻北", "永福")),
    ("豊島区", 35.7263, 139.7165, 1.2, ("170", "171"),
     ("東池袋", "西池袋", "巣鴨", "目白", "駒込")),
    ("北区", 35.7528, 139.7337, 1.4, ("114", "115"),
     ("王子", "赤羽", "田端", "滝野川", "十条仲原")),
    ("荒川区", 35.7361, 139.7834, 0.9, ("116",), ("日暮里", "町屋", "南千住", "尾久", "荒川")),
    ("板橋区", 35.7512, 139.7093, 2.3, ("173", "174", "175"),
     ("板橋", "成増", "大山町", "高島平", "常盤台")),
    ("練馬区", 35.7356, 139.6516, 3.0, ("176", "177", "178", "179"),
     ("練馬", "石神井町", "大泉学園町", "光が丘", "豊玉北")),
    ("足立区", 35.7750, 139.8045, 2.8, ("120", "121", "123"),
     ("千住", "綾瀬", "竹の塚", "西新井", "梅島")),
    ("葛飾区", 35.7436, 139.8473, 1.8, ("124", "125"), ("亀有", "柴又", "金町", "新小岩", "立石")),
    ("江戸川区", 35.7066, 139.8683, 2.8, ("132", "133", "134"),
     ("葛西", "小岩", "船堀", "平井", "瑞江")),
]

# category, katakana reading, weight, (min floors, max floors)
CATEGORIES: list[tuple[str, str, float, tuple[int, int]]] = [
    ("カフェ", "カフェ", 8, (1, 3)),
    ("レストラン", "レストラン", 10, (1, 8)),
    ("ラーメン店", "ラーメンテン", 5, (1, 2)),
    ("居酒屋", "イザカヤ", 7, (1, 6)),
    ("コンビニエンスストア", "コンビニエンスストア", 9, (1, 1)),
    ("スーパーマーケット", "スーパーマーケット", 4, (1, 4)),
    ("薬局", "ヤッキョク", 5, (1, 3)),
    ("診療所", "シンリョウジョ", 6, (1, 9)),
    ("銀行", "ギンコウ", 2, (1, 12)),
    ("郵便局", "ユウビンキョク", 2, (1, 3)),
    ("図書館", "トショカン", 1, (1, 5)),
    ("公園", "コウエン", 3, (1, 1)),
    ("ホテル", "ホテル", 2, (3, 40)),
    ("美容室", "ビヨウシツ", 6, (1, 4)),
    ("書店", "ショテン", 2, (1, 9)),
    ("保育園", "ホイクエン", 3, (1, 3)),
    ("区民センター", "クミンセンター", 1, (2, 8)),
    ("公衆トイレ", "コウシュウトイレ", 2, (1, 1)),
    ("神社", "ジンジャ", 1, (1, 1)),
    ("寺院", "ジイン", 1, (1, 2)),
]

# name prefixes with katakana readings (all CP932-encodable)
PREFIXES: list[tuple[str, str]] = [
    ("さくら", "サクラ"), ("ひまわり", "ヒマワリ"), ("富士", "フジ"), ("青葉", "アオバ"),
    ("みどり", "ミドリ"), ("大江戸", "オオエド"), ("東京", "トウキョウ"), ("中央", "チュウオウ"),
    ("日の出", "ヒノデ"), ("桜木", "サクラギ"), ("若葉", "ワカバ"), ("松竹", "ショウチク"),
    ("丸福", "マルフク"), ("一番", "イチバン"), ("花月", "カゲツ"), ("あおい", "アオイ"),
    ("つばさ", "ツバサ"), ("ふれあい", "フレアイ"), ("やまと", "ヤマト"), ("隅田", "スミダ"),
    ("武蔵野", "ムサシノ"), ("こもれび", "コモレビ"), ("朝日", "アサヒ"), ("北斗", "ホクト"),
    ("ミナト", "ミナト"), ("ハーバー", "ハーバー"), ("グリーン", "グリーン"),
    ("スマイル", "スマイル"),
    ("あけぼの", "アケボノ"), ("かもめ", "カモメ"), ("銀杏", "イチョウ"), ("紅葉", "モミジ"),
]
ROMAJI = ["sakura", "himawari", "fuji", "aoba", "midori", "ooedo", "tokyo", "chuo",
          "hinode", "sakuragi", "wakaba", "shochiku", "marufuku", "ichiban", "kagetsu", "aoi",
          "tsubasa", "fureai", "yamato", "sumida", "musashino", "komorebi", "asahi", "hokuto",
          "minato", "harbor", "green", "smile", "akebono", "kamome", "icho", "momiji"]
FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
TOKYO_UTC = 9 * 3600


@dataclass(frozen=True)
class Segments:
    """Bus-route line segments in metres around the network's centre."""

    x0: np.ndarray
    y0: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    cumulative: np.ndarray  # cumulative length, for length-weighted sampling
    source: str


def gtfs_dir() -> Path:
    for candidate in GTFS_CANDIDATES:
        if (candidate / "shapes.txt").exists():
            return candidate
    raise FileNotFoundError(
        "no GTFS shapes.txt found in " + " or ".join(str(c) for c in GTFS_CANDIDATES)
    )


def load_segments(folder: Path | None = None) -> Segments:
    """Line segments of every shape of the feed, in metres around its centre."""
    folder = folder or gtfs_dir()
    with (folder / "shapes.txt").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows.sort(key=lambda r: (r["shape_id"], int(r["shape_pt_sequence"])))
    shape = np.array([r["shape_id"] for r in rows])
    lat = np.array([float(r["shape_pt_lat"]) for r in rows])
    lon = np.array([float(r["shape_pt_lon"]) for r in rows])
    lat0, lon0 = lat.mean(), lon.mean()
    x = (lon - lon0) * 111_320.0 * math.cos(math.radians(lat0))
    y = (lat - lat0) * 110_574.0
    same = shape[1:] == shape[:-1]
    x0, y0 = x[:-1][same], y[:-1][same]
    dx, dy = (x[1:] - x[:-1])[same], (y[1:] - y[:-1])[same]
    length = np.hypot(dx, dy)
    keep = length > 0
    return Segments(x0[keep], y0[keep], dx[keep], dy[keep], np.cumsum(length[keep]),
                    str(folder))


def _era(dates: np.ndarray) -> list[str]:
    """``令和2年4月1日`` style for numpy datetime64[D] values (元年 for year 1)."""
    out = []
    for d in dates.astype("datetime64[D]").astype(object):
        if d >= d.__class__(2019, 5, 1):
            era, year = "令和", d.year - 2018
        elif d >= d.__class__(1989, 1, 8):
            era, year = "平成", d.year - 1988
        else:
            era, year = "昭和", d.year - 1925
        y = "元" if year == 1 else str(year)
        out.append(f"{era}{y}年{d.month}月{d.day}日")
    return out


def _abbrev_era(dates: np.ndarray) -> list[str]:
    """``R2.4.1`` / ``H27.4.1`` style (only for dates in 平成 or 令和)."""
    out = []
    for d in dates.astype("datetime64[D]").astype(object):
        if d >= d.__class__(2019, 5, 1):
            out.append(f"R{d.year - 2018}.{d.month}.{d.day}")
        else:
            out.append(f"H{d.year - 1988}.{d.month}.{d.day}")
    return out


def generate(rows: int, seed: int = 42) -> list[list[str]]:
    """The table as columns of strings (column-major, in HEADERS order)."""
    rng = np.random.default_rng(seed)
    segments = load_segments()
    n = rows
    weights = np.array([w[3] for w in WARDS])
    ward_idx = rng.choice(len(WARDS), size=n, p=weights / weights.sum())
    ward_lat = np.array([w[1] for w in WARDS])[ward_idx]
    ward_lon = np.array([w[2] for w in WARDS])[ward_idx]

    # locations (metres around the ward centre): along the bus network, or clustered
    angle = rng.uniform(0, 2 * math.pi, len(WARDS))[ward_idx]
    scale = 0.35
    on_line = rng.random(n) < 0.5
    seg = np.searchsorted(segments.cumulative, rng.random(n) * segments.cumulative[-1])
    t = rng.random(n)
    lx = (segments.x0[seg] + t * segments.dx[seg]) * scale
    ly = (segments.y0[seg] + t * segments.dy[seg]) * scale
    rx = lx * np.cos(angle) - ly * np.sin(angle) + rng.normal(0, 12, n)
    ry = lx * np.sin(angle) + ly * np.cos(angle) + rng.normal(0, 12, n)
    hot = rng.integers(0, 4, n)  # four hot spots per ward (stations)
    hot_dx = rng.normal(0, 900, (len(WARDS), 4))[ward_idx, hot]
    hot_dy = rng.normal(0, 900, (len(WARDS), 4))[ward_idx, hot]
    spread = np.where(rng.random(n) < 0.6, 350.0, 1400.0)
    cx = hot_dx + rng.normal(0, 1, n) * spread
    cy = hot_dy + rng.normal(0, 1, n) * spread
    x = np.where(on_line, rx, cx)
    y = np.where(on_line, ry, cy)
    lat = ward_lat + y / 110_574.0
    lon = ward_lon + x / (111_320.0 * np.cos(np.radians(ward_lat)))

    cat_weights = np.array([c[2] for c in CATEGORIES])
    cat_idx = rng.choice(len(CATEGORIES), size=n, p=cat_weights / cat_weights.sum())
    pre_idx = rng.integers(0, len(PREFIXES), n)
    town_idx = rng.integers(0, 5, n)
    chome = rng.integers(1, 6, n)
    banchi = rng.integers(1, 31, n)
    go = rng.integers(1, 21, n)
    postal_tail = rng.integers(0, 10_000, n)
    postal_pick = rng.integers(0, 8, n)
    phone_a = rng.integers(1000, 10_000, n)
    phone_b = rng.integers(0, 10_000, n)
    fullwidth = rng.random(n) < 0.05  # keyed in with an IME in full-width mode

    ids = [f"P{i:07d}" for i in range(1, n + 1)]
    names, kana, addresses, postal, phones, wards, categories, urls = ([] for _ in range(8))
    branch_none = rng.random(n) < 0.3
    has_url = rng.random(n) < 0.4
    for i in range(n):
        w = WARDS[ward_idx[i]]
        town = w[5][town_idx[i]]
        cat, cat_kana = CATEGORIES[cat_idx[i]][0], CATEGORIES[cat_idx[i]][1]
        prefix, prefix_kana = PREFIXES[pre_idx[i]]
        names.append(f"{prefix}{cat}" if branch_none[i] else f"{prefix}{cat} {town}店")
        kana.append(f"{prefix_kana}{cat_kana}")
        wards.append(w[0])
        categories.append(cat)
        address = f"東京都{w[0]}{town}{chome[i]}丁目{banchi[i]}-{go[i]}"
        code = f"{w[4][postal_pick[i] % len(w[4])]}-{postal_tail[i]:04d}"
        phone = f"03-{phone_a[i]}-{phone_b[i]:04d}"
        if fullwidth[i]:
            address, code, phone = (address.translate(FULLWIDTH), code.translate(FULLWIDTH),
                                    phone.translate(FULLWIDTH))
        addresses.append(address)
        postal.append(code)
        phones.append(phone)
        urls.append(f"https://{ROMAJI[pre_idx[i]]}-{i + 1}.example.jp/" if has_url[i] else "")

    # opened: 1965..2024, mostly ISO, some era, abbreviated era and slash dates
    start = np.datetime64("1965-01-01")
    opened = start + rng.integers(0, (np.datetime64("2024-12-31") - start).astype(int), n)
    style = rng.random(n)
    opened_text = np.array([str(d) for d in opened], dtype=object)
    era_rows = np.flatnonzero(style < 0.10)
    opened_text[era_rows] = _era(opened[era_rows])
    abbrev_rows = np.flatnonzero((style >= 0.10) & (style < 0.15)
                                 & (opened >= np.datetime64("1989-01-08")))
    opened_text[abbrev_rows] = _abbrev_era(opened[abbrev_rows])
    slash_rows = np.flatnonzero((style >= 0.15) & (style < 0.20))
    opened_text[slash_rows] = [str(d).replace("-", "/") for d in opened[slash_rows]]

    floor_lo = np.array([c[3][0] for c in CATEGORIES])[cat_idx]
    floor_hi = np.array([c[3][1] for c in CATEGORIES])[cat_idx]
    floors = floor_lo + np.floor(rng.random(n) ** 2 * (floor_hi - floor_lo + 1)).astype(int)
    floors_text = np.where(rng.random(n) < 0.05, "", floors.astype(str)).astype(object)
    rating = np.clip(np.round(rng.normal(3.6, 0.6, n), 1), 1.0, 5.0)
    rating_text = np.where(rng.random(n) < 0.10, "", np.char.mod("%.1f", rating)).astype(object)
    step_free = rng.random(n) < 0.55
    spelling = rng.random(n)
    yes_no = np.select(
        [spelling < 0.6, spelling < 0.8, spelling < 0.9],
        [np.where(step_free, "true", "false"), np.where(step_free, "有", "無"),
         np.where(step_free, "○", "×")],
        "",
    ).astype(object)

    # updated: to the minute, 2023-01-01 .. 2025-06-30, local time
    first = np.datetime64("2023-01-01T00:00")
    minutes = rng.integers(0, (np.datetime64("2025-06-30T23:59") - first).astype(int), n)
    updated = (first + minutes.astype("timedelta64[m]")).astype(str)
    updated_text = [u.replace("T", " ") + ":00" for u in updated]

    return [
        ids, names, kana, categories, addresses, wards, postal, phones, urls,
        list(opened_text), list(floors_text), list(rating_text), list(yes_no),
        [f"{v:.7f}" for v in lat], [f"{v:.7f}" for v in lon], updated_text,
    ]


def write_csv(columns: list[list[str]], path: Path, encoding: str = "utf-8") -> None:
    """Write the columns as CSV (CRLF, as spreadsheets save it); atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    n = len(columns[0])
    with tmp.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADERS)
        block = 100_000
        for start in range(0, n, block):
            buffer = io.StringIO()
            chunk_writer = csv.writer(buffer, lineterminator="\r\n")
            chunk_writer.writerows(zip(*(c[start:start + block] for c in columns), strict=True))
            handle.write(buffer.getvalue())
    tmp.replace(path)


def dataset_files(rows: int, seed: int, folder: Path) -> tuple[Path, Path]:
    """The UTF-8 and CP932 files for (rows, seed), generated once and cached in ``folder``."""
    stem = f"places-{rows}-s{seed}-g{GENERATOR_VERSION}"
    utf8, cp932 = folder / f"{stem}.csv", folder / f"{stem}-cp932.csv"
    if not (utf8.exists() and cp932.exists()):
        columns = generate(rows, seed)
        write_csv(columns, utf8, "utf-8")
        write_csv(columns, cp932, "cp932")  # strict: fails loudly on an unencodable char
    return utf8, cp932


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data")
    args = parser.parse_args()
    for path in dataset_files(args.rows, args.seed, args.out):
        print(path)


if __name__ == "__main__":
    main()
