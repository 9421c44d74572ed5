"""Helpers for the transit tests: the feeds on disk, raw CSV reading that does not use the
ETL under test, and a small valid feed to break on purpose."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from hub.catalog import DatasetDefinition

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
DATASETS = ROOT / "datasets"
MURORAN = DATASETS / "bus-routes-muroran" / "feed"


def rows(folder: Path, name: str) -> list[dict[str, str]]:
    """A GTFS file read with the csv module (BOM and CRLF tolerant), every cell as text."""
    text = (folder / name).read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def transit_definition(tmp: Path, dataset_id: str, *, fmt: str = "gtfs",
                       schema: str = "gtfs-routes.json", extra: str = "") -> DatasetDefinition:
    """A throwaway dataset.toml (in ``tmp``) using the real schemas."""
    folder = tmp / dataset_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.toml").write_text(
        f'id = "{dataset_id}"\nformat = "{fmt}"\nschema = "{schema}"\n'
        'organisation = "テスト (Test)"\n[licence]\nid = "CC0-1.0"\n'
        '[title]\nja = "テスト"\nen = "Test"\n' + extra,
        encoding="utf-8")
    return DatasetDefinition.load(folder / "dataset.toml", SCHEMAS)


def zip_folder(folder: Path, target: Path, *, prefix: str = "") -> Path:
    """Zip the files of ``folder`` deterministically (sorted, fixed timestamps)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            if path.is_file():
                info = zipfile.ZipInfo(prefix + path.name, date_time=(2020, 4, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return target


# A small, valid GTFS-JP-like feed: two stations with poles, one route, two trips.
MINI_FEED = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\n"
                  "A1,テストバス,https://example.jp/,Asia/Tokyo\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station,"
                 "wheelchair_boarding\n"
                 "0001,駅前,35.0,135.0,1,,1\n"
                 "0001_A,駅前,35.0001,135.0001,0,0001,\n"
                 "1,市役所,35.01,135.01,1,,\n"
                 "1_A,市役所,35.0101,135.0101,0,1,2\n"
                 "9,病院,35.02,135.02,0,,\n",
    "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type\n"
                  "R1,A1,1,駅前線,3\n",
    "trips.txt": "route_id,service_id,trip_id,direction_id,shape_id\n"
                 "R1,WD,T1,0,\n"
                 "R1,WD,T2,1,\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                      "T1,23:50:00,23:50:00,0001_A,1\n"
                      "T1,24:05:00,24:05:00,1_A,2\n"
                      "T1,25:10:00,25:10:00,9,3\n"
                      "T2,7:00:00,7:00:00,9,1\n"
                      "T2,7:10:00,7:10:00,1_A,2\n"
                      "T2,7:20:00,7:20:00,0001_A,3\n",
    "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
                    "start_date,end_date\n"
                    "WD,1,1,1,1,1,0,0,20250101,20351231\n",
}


def write_feed(folder: Path, files: dict[str, str | bytes | None] | None = None) -> Path:
    """MINI_FEED with ``files`` replacing (None: removing) some of its files."""
    folder.mkdir(parents=True, exist_ok=True)
    merged: dict[str, str | bytes | None] = {**MINI_FEED, **(files or {})}
    for name, content in merged.items():
        if content is None:
            continue
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return folder
