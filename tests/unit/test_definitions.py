"""The demo catalogue's definitions: every schema and dataset.toml loads, is documented, and
describes the file that is actually shipped next to it.

Pure: reads files under schemas/ and datasets/ with hub.catalog and the csv module only (no
ETL, no database), so a broken definition fails here before anything tries to publish it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import tomllib
import unicodedata
from pathlib import Path

import pytest

from hub.catalog import DatasetDefinition, TableSchema, load_definitions

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
DATASETS = ROOT / "datasets"
# The rules below are those of facility lists under the Japanese open-data standards. Transit
# feeds (gtfs-*), ridership and count tables are other kinds of data with their own checks in
# tests/unit/test_gtfs*.py.
OTHER_KINDS = re.compile(r"^gtfs-|ridership|count")
SCHEMA_FILES = sorted(p for p in SCHEMAS.glob("*.json") if not OTHER_KINDS.search(p.stem))
DATASET_DIRS = sorted(
    p.parent for p in DATASETS.glob("*/dataset.toml")
    if not OTHER_KINDS.search(Path(tomllib.loads(p.read_text(encoding="utf-8"))["schema"]).stem)
)

# What the demo catalogue must contain (the task that created it names these).
EXPECTED_SCHEMAS = {
    "aed-locations", "public-toilets", "public-facilities", "tourist-facilities",
    "accessible-places",
}
EXPECTED_DATASETS = {
    "yaizu-accessible-shops": "accessible-places.json",
    "kobe-aed": "aed-locations.json",
    "yaizu-aed": "aed-locations.json",
    "yaizu-public-toilets": "public-toilets.json",
    "takamatsu-public-toilets": "public-toilets.json",
    "yaizu-public-facilities": "public-facilities.json",
    "yaizu-tourism": "tourist-facilities.json",
}
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def header_key(header: str) -> str:
    """How a header compares with a field's spellings: NFKC, case-folded, without spaces,
    underscores or hyphens (the folding hub.catalog documents and the ETL applies)."""
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", header)).casefold()


def spellings(schema: TableSchema) -> dict[str, str]:
    """header_key -> field name, over every field's name, titles and synonyms."""
    found: dict[str, str] = {}
    for f in schema.fields:
        for spelling in (f.name, f.title, f.title_ja, *f.synonyms):
            if spelling:
                found.setdefault(header_key(spelling), f.name)
    return found


def load(directory: Path) -> DatasetDefinition:
    return DatasetDefinition.load(directory / "dataset.toml", SCHEMAS)


def source_table(definition: DatasetDefinition) -> tuple[list[str], list[list[str]]]:
    """(header, records) of the shipped file, read with the csv module and the declared
    encoding; lines above ``header_line`` and ``#`` metadata rows after it are not records.
    A workbook is read with openpyxl (see :func:`sheet_table`)."""
    source = definition.source
    if source["file"].endswith(".xlsx"):
        return sheet_table(definition)
    text = (definition.directory / source["file"]).read_bytes().decode(source["encoding"])
    rows = list(csv.reader(io.StringIO(text, newline="")))
    start = int(source.get("header_line", 1)) - 1
    header, body = rows[start], rows[start + 1:]
    records = [r for r in body if any(c.strip() for c in r) and not r[0].startswith("#")]
    return header, records


def sheet_table(definition: DatasetDefinition) -> tuple[list[str], list[list[str]]]:
    """(header, records) of a shipped workbook's declared sheet, read by openpyxl with its
    merged cells: the header is the row that holds every header ``[columns]`` names (a
    header merged over n columns names them ``<name>``, ``<name>_2`` ...); records are
    the rows below it with more than one filled cell (one filled cell: a section row)."""
    import openpyxl

    book = openpyxl.load_workbook(definition.directory / definition.source["file"])
    sheet = book[definition.source["sheet"]]
    rows = [["" if v is None else str(v).strip() for v in row]
            for row in sheet.iter_rows(values_only=True)]

    def spread(row: list[str], number: int) -> list[str]:
        row = list(row)
        for merged in sheet.merged_cells.ranges:
            if merged.min_row == number and row[merged.min_col - 1]:
                for offset, col in enumerate(range(merged.min_col + 1, merged.max_col + 1), 2):
                    row[col - 1] = f"{row[merged.min_col - 1]}_{offset}"
        return row

    wanted = {header_key(h) for h in definition.column_map}
    at = next(i for i, row in enumerate(rows)
              if wanted <= {header_key(c) for c in spread(row, i + 1)})
    rows[at] = spread(rows[at], at + 1)
    used = [i for i, c in enumerate(rows[at]) if c]
    header = [rows[at][i] for i in used]
    records = [[row[i] for i in used] for row in rows[at + 1:]
               if sum(1 for c in row if c) > 1]
    return header, records


# --- schemas -------------------------------------------------------------------------------------


def test_the_expected_schemas_and_datasets_exist():
    assert {p.stem for p in SCHEMA_FILES} >= EXPECTED_SCHEMAS
    definitions = load_definitions(DATASETS, SCHEMAS)
    assert set(definitions) >= set(EXPECTED_DATASETS)
    for dataset_id, schema_file in EXPECTED_DATASETS.items():
        assert definitions[dataset_id].schema_path.name == schema_file


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.stem)
def test_schema_loads_and_every_field_is_documented(path):
    schema = TableSchema.load(path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw.get("title") and raw.get("title_ja") and raw.get("description")
    assert schema.primary_key == ("id",)
    for f in schema.fields:
        for attribute in ("title", "title_ja", "description"):
            value = getattr(f, attribute)
            assert isinstance(value, str) and value.strip(), f"{path.name}: {f.name}.{attribute}"
        # the standards' own Japanese headers include the Latin "ID" and "URL"
        japanese = JAPANESE.search(f.title_ja) or f.title_ja in ("ID", "URL")
        assert japanese, f"{path.name}: {f.name}.title_ja is not Japanese"
        assert not JAPANESE.search(f.title), f"{path.name}: {f.name}.title is not English"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.stem)
def test_no_header_spelling_means_two_fields(path):
    """A synonym (or title) shared by two fields would make header matching depend on
    field order; every spelling must point at exactly one field."""
    schema = TableSchema.load(path)
    owners: dict[str, set[str]] = {}
    for f in schema.fields:
        for spelling in (f.name, f.title, f.title_ja, *f.synonyms):
            if spelling:
                owners.setdefault(header_key(spelling), set()).add(f.name)
    clashes = {key: names for key, names in owners.items() if len(names) > 1}
    assert not clashes


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.stem)
def test_constraints_are_usable(path):
    schema = TableSchema.load(path)
    for f in schema.fields:
        if f.pattern is not None:
            re.compile(f.pattern)
        if f.type == "boolean":
            assert f.true_values and f.false_values, f.name
            trues = {header_key(v) for v in f.true_values}
            falses = {header_key(v) for v in f.false_values}
            assert not trues & falses, f.name
            # both look-alike circles Japanese files use, and 有/無
            assert {"○", "〇", "有"} <= set(f.true_values), f.name
            assert "無" in f.false_values, f.name


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.stem)
def test_required_is_name_and_address_and_standard_items_are_marked(path):
    """Only 名称 and the address are enforced; the standards' other 必須 items are marked
    ``x-standard-required`` (documented, not enforced: see docs/datasets.md)."""
    schema = TableSchema.load(path)
    raw_fields = {f["name"]: f for f in json.loads(path.read_text(encoding="utf-8"))["fields"]}
    assert {f.name for f in schema.fields if f.required} == {"name", "address"}
    for name, raw in raw_fields.items():
        if raw.get("x-standard-required"):
            assert not schema.field(name).required, name


def test_old_and_current_layout_headers_are_synonyms():
    """Spot-check that both layouts of the standard reach the same field."""
    cases = {
        "public-toilets": {
            "都道府県コード又は市区町村コード": "local_government_code",
            "全国地方公共団体コード": "local_government_code",
            "NO": "id", "ID": "id",
            "住所": "address", "所在地_連結表記": "address",
            "方書": "address_building", "建物名等(方書)": "address_building",
            "多機能トイレ数": "barrier_free_toilets",
            "バリアフリートイレ数": "barrier_free_toilets",
            "名称_英語": "name_en",
            "緯度": "latitude", "lat": "latitude", "lng": "longitude", "経度": "longitude",
            "車椅子使用者用トイレ有無": "wheelchair_toilet",
            "オストメイト設置トイレ有無": "ostomate_toilet",
        },
        "aed-locations": {
            "名称_英字": "name_en", "２４H使用可能": "available_24h",
            "設置位置": "installation_position",
            "小児対応設備の有無": "pediatric_pads", "施設名称": "name",
        },
        "tourist-facilities": {"料金（基本）": "fee_basic", "料金(基本)": "fee_basic",
                               "バリアフリー情報": "barrier_free_info"},
        "public-facilities": {"名称_通称": "name_common", "POIコード": "poi_code"},
        "accessible-places": {
            "利用可能日時特記事項": "opening_hours", "利用可能時間特記事項": "opening_hours",
            "wheelchair": "wheelchair", "longitude": "longitude", "所在地_連結表記": "address",
            "車椅子使用者用トイレ有無": "accessible_toilet",
            "乳幼児用設備設置トイレ有無": "baby_changing",
            "オストメイト設置トイレ有無": "ostomate_toilet",
            "バリアフリー情報": "barrier_free_info", "建物名等(方書)": "address_building",
            "連絡先電話番号": "phone", "駐車場情報": "parking_info",
        },
    }
    for schema_name, headers in cases.items():
        table = spellings(TableSchema.load(SCHEMAS / f"{schema_name}.json"))
        for header, field_name in headers.items():
            assert table.get(header_key(header)) == field_name, (schema_name, header)


def test_wheelchair_uses_the_osm_vocabulary():
    schema = TableSchema.load(SCHEMAS / "accessible-places.json")
    assert schema.field("wheelchair").enum == ("yes", "limited", "no")


# --- dataset definitions -------------------------------------------------------------------------


@pytest.mark.parametrize("directory", DATASET_DIRS, ids=lambda p: p.name)
def test_dataset_definition_is_complete(directory):
    d = load(directory)
    assert d.id == directory.name
    assert d.title_ja != d.title_en and JAPANESE.search(d.title_ja)
    assert d.description_ja and d.description_en
    assert re.fullmatch(r".*[\u3040-\u9fff].* \([A-Z][A-Za-z ]+\)", d.organisation), d.organisation
    assert any(JAPANESE.search(k) for k in d.keywords)
    assert any(k.isascii() for k in d.keywords)
    assert d.primary_key == ("id",)
    assert d.geometry.kind in ("latlon", "combined")
    # a workbook names its sheet; a text file its encoding
    reading = "sheet" if d.source.get("file", "").endswith(".xlsx") else "encoding"
    for key in ("url", "file", reading, "sha256", "records", "attribution", "commit"):
        assert d.source.get(key) not in (None, ""), f"[source] {key}"


@pytest.mark.parametrize("directory", DATASET_DIRS, ids=lambda p: p.name)
def test_source_md_names_origin_licence_and_count(directory):
    d = load(directory)
    text = (directory / "SOURCE.md").read_text(encoding="utf-8")
    origin = re.search(r"^- Origin: (https?://\S+)", text, re.MULTILINE)
    assert origin and origin.group(1) == d.source["repository"]
    licence = re.search(r"^- Licence: (.+)$", text, re.MULTILINE)
    assert licence, "SOURCE.md has no '- Licence:' line"
    if d.licence.document_url:  # SOURCE.md names the licence the definition states
        assert d.licence.document_url.split("://", 1)[1].rstrip("/") in licence.group(1)
    else:  # no licence URL means the licence is not verified: both must say so
        assert "unverified" in d.licence.note and "unverified" in licence.group(1)
    records = re.search(r"^- Records: ([0-9]+)", text, re.MULTILINE)
    assert records and int(records.group(1)) == d.source["records"]
    assert d.source["commit"] in text and d.source["sha256"] in text


@pytest.mark.parametrize("directory", DATASET_DIRS, ids=lambda p: p.name)
def test_shipped_file_is_the_recorded_byte_for_byte_copy(directory):
    d = load(directory)
    data = (directory / d.source["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == d.source["sha256"]


@pytest.mark.parametrize("directory", DATASET_DIRS, ids=lambda p: p.name)
def test_columns_name_real_headers_and_every_header_is_accounted_for(directory):
    d = load(directory)
    header, records = source_table(d)
    assert len(records) == d.source["records"]
    missing = [h for h in d.column_map if header_key(h) not in {header_key(c) for c in header}]
    assert not missing, f"[columns] names headers the file does not have: {missing}"
    unmapped = list(d.source.get("unmapped_columns", []))
    assert not [h for h in unmapped if h not in header]
    table = spellings(d.schema)
    targets: list[str] = []
    unaccounted = []
    by_key = {header_key(h): fields for h, fields in d.column_map.items()}
    for h in header:
        if header_key(h) in by_key:
            targets.extend(by_key[header_key(h)])
        elif header_key(h) in table and h not in unmapped:
            targets.append(table[header_key(h)])
        elif h not in unmapped:
            unaccounted.append(h)
    assert not unaccounted, f"headers neither mapped nor listed in unmapped_columns: {unaccounted}"
    assert len(targets) == len(set(targets)), "two source columns map to one field"
    listed_but_matching = [h for h in unmapped if h and header_key(h) in table]
    assert not listed_but_matching, f"unmapped_columns a field would take: {listed_but_matching}"


@pytest.mark.parametrize("directory", DATASET_DIRS, ids=lambda p: p.name)
def test_primary_key_column_is_unique_and_filled_in_the_file(directory):
    d = load(directory)
    header, records = source_table(d)
    table = spellings(d.schema)
    mapped = {header_key(h): fields[0] for h, fields in d.column_map.items()}
    by_field = {mapped.get(header_key(h)) or table.get(header_key(h)): i
                for i, h in enumerate(header)}
    keys = [r[by_field["id"]] for r in records]
    assert all(k.strip() for k in keys)
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.json")), ids=lambda p: p.stem)
def test_times_of_day_and_local_government_codes_declare_their_format(path: Path) -> None:
    """Opening and closing times are read by one normaliser (format hh:mm, 24:00 allowed)
    and codes by their check digit (format jp-local-government-code): no schema may decide
    the same question again with its own pattern or a different type."""
    schema = TableSchema.load(path)
    for f in schema.fields:
        if f.name in ("opening_time", "closing_time"):
            assert (f.type, f.format, f.pattern) == ("string", "hh:mm", None), f.name
        if f.name.endswith("local_government_code"):
            assert (f.format, f.pattern) == ("jp-local-government-code", None), f.name


def test_unknown_string_format_is_a_definition_error(tmp_path: Path) -> None:
    from hub.catalog import DefinitionError

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"fields": [{"name": "t", "type": "string", "format": "hhmm"}]}))
    with pytest.raises(DefinitionError, match="unsupported format 'hhmm'"):
        TableSchema.load(bad)
