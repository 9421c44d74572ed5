"""Text that is hard for the COPY-based GeoJSON export survives it exactly.

The GeoJSON file is PostgreSQL's COPY output in CSV mode with U+0001 as the quote and
U+0002 as the delimiter (hub.query.exports.copy_geojson_sql): a value holding those very
characters, a tab, a line break, a quote or a backslash must come out as valid JSON with the
exact value, one Feature per line.
"""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import create_engine, text

from hub.catalog import load_definition
from hub.data import Data
from hub.data.exports import ExportSource
from hub.export.writers import write_geojson
from tests.conftest import create_test_database, drop_test_database, make_settings
from tests.exporthub import publish_shops
from tests.shopdata import make_shops

TRICKY = {
    1: "ctl\x01one\x02two\x7f",
    2: "tab\there, line\nbreak\r\nand CR",
    3: 'quote " and \\ backslash \\n (not a line break) \\u0041',
    4: "渋谷の店「テスト」 カフェ ☕ \U0001f600",
    5: '\x01"\t\n\\,\x02',
}


@pytest.fixture(scope="module")
def published(pg_cluster, tmp_path_factory):
    url = create_test_database(pg_cluster)
    settings = make_settings(url)
    engine = create_engine(url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    shops = make_shops(20)
    for index, name in TRICKY.items():
        shops[index].name = name
    publish_shops(engine, definition, tmp_path_factory.mktemp("tricky"), shops, "tricky.csv")
    yield engine
    engine.dispose()
    drop_test_database(pg_cluster, url)


def test_control_characters_quotes_and_japanese_survive_the_geojson_export(published) -> None:
    engine = published
    data = Data(engine)
    version = data.version("test-shops", 1)
    with engine.connect() as conn:
        stored = dict(conn.execute(text(
            f"SELECT shop_id, name FROM data.{version.table_name}")).all())
    out = io.BytesIO()
    write_geojson(ExportSource(engine).geojson_lines(version), out, name="test_shops")
    raw = out.getvalue()
    document = json.loads(raw)  # strict: raw control characters would be an error
    names = {f["properties"]["shop_id"]: f["properties"]["name"]
             for f in document["features"]}
    assert names == stored
    for index, value in TRICKY.items():
        shop_id = f"S{index + 1:04d}"
        assert stored[shop_id] == value  # the ETL kept the value, so the test means something
        assert names[shop_id] == value
    # one Feature per line: no raw line break or U+0001/U+0002 inside a Feature
    lines = raw.split(b"\n")
    assert len(lines) == len(stored) + 3  # header, one per Feature, "]}", final empty
    assert b"\x01" not in raw and b"\x02" not in raw
    assert all(json.loads(line.rstrip(b",")) for line in lines[1:-2])
