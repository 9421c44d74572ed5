"""Publishing against a real PostGIS: versions, checksums, change summaries, refusals."""

from __future__ import annotations

import math
import threading
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from etl.pipeline import FileSource, PublishOptions, publish_dataset
from etl.prepare import prepare
from etl.publish import publish
from hub.catalog import load_definition
from hub.settings import Settings
from tests.shopdata import make_shops, write_csv


@pytest.fixture
def engine(settings: Settings):
    engine = create_engine(settings.database_url)
    yield engine
    engine.dispose()


def _prepare(settings: Settings, path: Path, **kwargs):
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    return prepare(definition, path, **kwargs)


def _data_tables(engine) -> list[str]:
    return sorted(inspect(engine).get_table_names(schema="data"))


def test_first_publish_records_everything(settings, engine, tmp_path) -> None:
    shops = make_shops(120)
    source = write_csv(tmp_path / "shops.csv", shops)
    result = publish(engine, _prepare(settings, source), publisher="tester")
    assert result.version == 1 and result.row_count == 120
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM hub.versions")).mappings().one()
        current = conn.execute(text("SELECT current_version FROM hub.datasets")).scalar_one()
        stored = conn.execute(text(
            "SELECT shop_id, name, floors, step_free, opened::text, ST_X(geom), ST_Y(geom) "
            "FROM data.test_shops__v1 ORDER BY _fid")).all()
    assert current == 1
    assert row["publisher"] == "tester" and row["source_name"] == "shops.csv"
    assert len(row["source_sha256"]) == 64 and len(row["content_sha256"]) == 64
    assert row["change_summary"]["added"] == 120
    lats, lons = [s.lat for s in shops], [s.lon for s in shops]
    assert row["bbox"] == pytest.approx([min(lons), min(lats), max(lons), max(lats)])
    # every value survived normalisation: full-width digits, 有/無, era dates
    for shop, got in zip(shops, stored, strict=True):
        assert got == (shop.shop_id, shop.name, shop.floors, shop.step_free, shop.opened,
                       pytest.approx(shop.lon), pytest.approx(shop.lat))


def test_same_content_is_not_republished_even_from_cp932(settings, engine, tmp_path) -> None:
    shops = make_shops(50)
    publish(engine, _prepare(settings, write_csv(tmp_path / "a.csv", shops)))
    again = publish(engine, _prepare(settings, write_csv(tmp_path / "b.csv", shops,
                                                         encoding="cp932")))
    assert again.unchanged and again.version is None
    assert _data_tables(engine) == ["test_shops__v1"]
    forced = publish(engine, _prepare(settings, write_csv(tmp_path / "c.csv", shops)), force=True)
    assert forced.version == 2


def test_change_summary_by_primary_key(settings, engine, tmp_path) -> None:
    shops = make_shops(60)
    publish(engine, _prepare(settings, write_csv(tmp_path / "v1.csv", shops)))
    changed = list(shops)
    changed[5].name = "改装した店"          # changed
    del changed[10]                         # removed
    extra = make_shops(61, seed=99)[-1]
    extra.shop_id = "S9999"
    changed.append(extra)                   # added
    result = publish(engine, _prepare(settings, write_csv(tmp_path / "v2.csv", changed)))
    assert result.version == 2
    assert {k: result.change_summary[k] for k in ("added", "removed", "changed")} == {
        "added": 1, "removed": 1, "changed": 1}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_version FROM hub.datasets")).scalar_one() == 2
        # version 1 is untouched
        assert conn.execute(text("SELECT count(*) FROM data.test_shops__v1")).scalar_one() == 60


def test_invalid_file_is_refused_and_leaves_no_trace(settings, engine, tmp_path) -> None:
    shops = make_shops(30)
    publish(engine, _prepare(settings, write_csv(tmp_path / "ok.csv", shops)))
    bad = tmp_path / "bad.csv"
    write_csv(bad, shops)
    lines = bad.read_text(encoding="utf-8").splitlines()
    cells = lines[4].split(",")
    cells[3] = "三階"  # not an integer
    lines[4] = ",".join(cells)
    bad.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    prepared = _prepare(settings, bad)
    assert not prepared.report.ok
    error = prepared.report.errors[0]
    assert (error.file, error.row, error.column, error.value) == ("bad.csv", 5, "階数", "三階")
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    refused = publish_dataset(definition, FileSource(bad), engine=engine)
    assert refused.status == "refused" and refused.version is None
    assert refused.refused.startswith("1 validation error(s)")
    assert _data_tables(engine) == ["test_shops__v1"]
    skipped = publish_dataset(definition, FileSource(bad), PublishOptions(skip_invalid=True),
                              engine=engine)
    assert skipped.status == "published" and skipped.report.rows_skipped == 1
    assert skipped.version == 2 and skipped.row_count == 29


def test_swapped_coordinates_are_fixed_with_a_warning(settings, engine, tmp_path) -> None:
    shops = make_shops(40)
    prepared = _prepare(settings, write_csv(tmp_path / "swapped.csv", shops, swap_every=10))
    swapped = [i for i in prepared.report.warnings if i.rule == "swapped-coordinates"]
    assert sorted(i.row for i in swapped) == [11, 21, 31, 41]  # header is line 1
    publish(engine, prepared)
    with engine.connect() as conn:
        points = conn.execute(text(
            "SELECT ST_Y(geom), ST_X(geom) FROM data.test_shops__v1 ORDER BY _fid")).all()
    assert points == [(pytest.approx(s.lat), pytest.approx(s.lon)) for s in shops]


def test_rows_are_stored_in_spatial_order_and_keep_their_file_position(
        settings, engine, tmp_path) -> None:
    """Neighbours share heap pages (radius/box/tile queries read fewer pages), while _fid
    is still the row's position in the file (paging and ids are unchanged)."""
    shops = make_shops(400)
    source = write_csv(tmp_path / "shops.csv", shops)
    publish(engine, _prepare(settings, source))
    with engine.connect() as conn:
        by_heap = conn.execute(text(
            "SELECT _fid, shop_id, ST_X(geom), ST_Y(geom) FROM data.test_shops__v1 "
            "ORDER BY ctid")).all()
    assert all(shops[fid - 1].shop_id == shop_id for fid, shop_id, _, _ in by_heap)
    heap_walk = sum(math.dist(a[2:], b[2:]) for a, b in pairwise(by_heap))
    file_walk = sum(math.dist((a.lon, a.lat), (b.lon, b.lat)) for a, b in
                    pairwise(shops))
    assert heap_walk < file_walk / 5


def test_measure_and_change_summary_run_beside_the_index_builds(
        settings, engine, tmp_path, monkeypatch) -> None:
    """The index builds are held until the row counts, bbox and change summary are read:
    a publish that read them only after its indexes would never get there."""
    import etl.publish as publishing

    publish(engine, _prepare(settings, write_csv(tmp_path / "v1.csv", make_shops(40))))
    summarised = threading.Event()
    real_facts, real_build = publishing._measure_and_summarise, publishing.build_indexes

    def facts(*args):
        answer = real_facts(*args)
        summarised.set()
        return answer

    def build(*args):
        # A guard against hanging, not a measurement: a sequential publish fails here.
        assert summarised.wait(timeout=60), "indexes were built before measuring"
        real_build(*args)

    monkeypatch.setattr(publishing, "_measure_and_summarise", facts)
    monkeypatch.setattr(publishing, "build_indexes", build)
    shops = make_shops(40)[3:] + make_shops(45, seed=9)[40:]
    result = publish(engine, _prepare(settings, write_csv(tmp_path / "v2.csv", shops)))
    assert result.version == 2 and result.row_count == 42
    assert result.change_summary["added"] == 5 and result.change_summary["removed"] == 3
    with engine.connect() as conn:
        bbox = conn.execute(text("SELECT bbox FROM hub.versions WHERE version = 2")).scalar_one()
        indexes = conn.execute(text("SELECT count(*) FROM pg_indexes "
                                    "WHERE tablename = 'test_shops__v2'")).scalar_one()
    lats, lons = [s.lat for s in shops], [s.lon for s in shops]
    assert bbox == pytest.approx([min(lons), min(lats), max(lons), max(lats)])
    assert indexes >= 4
