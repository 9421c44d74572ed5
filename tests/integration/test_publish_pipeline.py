"""The one publish pipeline (etl.pipeline.publish_dataset) against a real PostGIS, and its
doors: `hub publish` (output and exit codes) and `hub ckan pull` (each file read once)."""

from __future__ import annotations

import csv
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

import etl.prepare
import etl.read
from etl.ckan.client import CkanClient
from etl.ckan.pull import _pull_one
from etl.pipeline import FileSource, PublishOptions, ReadTableSource, publish_dataset
from etl.prepare import read_source
from hub.catalog import load_definition
from hub.cli import app as cli
from hub.textfold import fold_identity
from tests.conftest import FIXTURES
from tests.shopdata import make_shops, with_bad_floor, write_csv
from tests.unit.test_prepare_truth import all_day_file


@pytest.fixture
def engine(settings):
    engine = create_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def definition(settings):
    return load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)


def _nothing_published(engine) -> bool:
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT count(*) FROM hub.versions")).scalar_one()
    return versions == 0 and inspect(engine).get_table_names(schema="data") == []


def _without_names(path: Path, shops) -> Path:
    """The shops CSV without its required 名称 column: an error about the whole file."""
    write_csv(path, shops)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [r[:1] + r[2:] for r in csv.reader(handle)]
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_dry_run_reports_and_writes_nothing(engine, definition, tmp_path) -> None:
    source = FileSource(with_bad_floor(tmp_path / "shops.csv", make_shops(20), line=4))
    outcome = publish_dataset(definition, source, PublishOptions(dry_run=True,
                                                                 skip_invalid=True),
                              engine=engine)
    assert outcome.status == "dry-run" and outcome.refused is None
    assert outcome.row_count == 19 and outcome.report.rows_skipped == 1
    assert [(e.row, e.column) for e in outcome.report.errors] == [(4, "階数")]
    assert outcome.to_dict()["rows_skipped"] == 1
    assert _nothing_published(engine)


def test_skip_invalid_cannot_drop_a_missing_required_column(engine, definition,
                                                            tmp_path) -> None:
    source = FileSource(_without_names(tmp_path / "shops.csv", make_shops(20)))
    outcome = publish_dataset(definition, source, PublishOptions(skip_invalid=True),
                              engine=engine)
    assert outcome.status == "refused" and "file as a whole" in outcome.refused
    assert [e.rule for e in outcome.report.errors] == ["missing-column"]
    assert _nothing_published(engine)


def test_unchanged_and_forced(engine, definition, tmp_path) -> None:
    source = FileSource(write_csv(tmp_path / "shops.csv", make_shops(20)))
    first = publish_dataset(definition, source, engine=engine, publisher="tester")
    assert (first.status, first.version, first.row_count) == ("published", 1, 20)
    assert first.change_summary["by"] == "first-version"
    again = publish_dataset(definition, source, engine=engine)
    assert (again.status, again.version, again.row_count) == ("unchanged", None, 20)
    forced = publish_dataset(definition, source, PublishOptions(force=True), engine=engine)
    assert (forced.status, forced.version) == ("published", 2)
    assert forced.change_summary["previous_version"] == 1


def test_a_published_version_is_stamped_with_its_search_folding(engine, definition,
                                                                 tmp_path) -> None:
    """`hub db refold` rewrites versions whose stamp differs: an unstamped pipeline publish
    would be refolded on every upgrade."""
    source = FileSource(write_csv(tmp_path / "shops.csv", make_shops(5)))
    assert publish_dataset(definition, source, engine=engine).status == "published"
    with engine.connect() as conn:
        stamps = conn.execute(text("SELECT search_fold FROM hub.versions")).scalars().all()
    assert stamps == [fold_identity()]


@pytest.mark.parametrize("source_of", [
    lambda d, path: FileSource(path),
    lambda d, path: ReadTableSource(read_source(d, path)),
], ids=["file", "read-table"])
def test_the_optional_cell_policy_reaches_preparation(source_of, tmp_path) -> None:
    toilets = load_definition("etl-toilets", FIXTURES / "datasets", FIXTURES / "schemas")
    path = all_day_file(tmp_path)
    default = publish_dataset(toilets, source_of(toilets, path), PublishOptions(dry_run=True),
                              engine=None)
    assert default.status == "refused" and len(default.report.errors) == 9
    kept = publish_dataset(toilets, source_of(toilets, path),
                           PublishOptions(dry_run=True, on_invalid_optional="null"), engine=None)
    assert (kept.status, kept.row_count, len(kept.report.warnings)) == ("dry-run", 17, 9)
    refused = publish_dataset(toilets, source_of(toilets, path), PublishOptions(
        dry_run=True, skip_invalid=True, on_invalid_optional="refuse"), engine=None)
    assert refused.status == "refused" and "file as a whole" in refused.refused


def test_engine_is_required_unless_dry_run(definition, tmp_path) -> None:
    source = FileSource(write_csv(tmp_path / "shops.csv", make_shops(5)))
    with pytest.raises(ValueError, match="dry runs"):
        publish_dataset(definition, source, engine=None)
    assert publish_dataset(definition, source, PublishOptions(dry_run=True),
                           engine=None).row_count == 5


# --- hub publish ---------------------------------------------------------------------------


@pytest.fixture
def env(settings, tmp_path, monkeypatch):
    for key, value in {"HUB_DATABASE_URL": settings.database_url,
                       "HUB_DATASETS_DIR": str(FIXTURES / "datasets"),
                       "HUB_SCHEMAS_DIR": str(FIXTURES / "schemas"),
                       "HUB_ARTIFACT_DIR": str(tmp_path / "artifacts")}.items():
        monkeypatch.setenv(key, value)
    return settings


def test_hub_publish_refuses_then_skips_invalid_rows(env, engine, tmp_path) -> None:
    bad = str(with_bad_floor(tmp_path / "bad.csv", make_shops(20), line=6))
    refused = CliRunner().invoke(cli, ["publish", "test-shops", bad])
    assert refused.exit_code == 1
    assert "not published" in refused.output and "--skip-invalid" in refused.output
    assert "type:integer" in refused.output
    assert _nothing_published(engine)

    dry = CliRunner().invoke(cli, ["publish", "test-shops", bad, "--skip-invalid",
                                   "--dry-run"])
    assert dry.exit_code == 0 and "19 rows would be published (1 skipped)" in dry.output
    assert _nothing_published(engine)

    published = CliRunner().invoke(cli, ["publish", "test-shops", bad, "--skip-invalid"])
    assert published.exit_code == 0, published.output
    assert "published test-shops version 1: 19 rows" in published.output

    missing = CliRunner().invoke(cli, ["publish", "test-shops", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "no such file" in missing.output


# --- hub ckan pull -----------------------------------------------------------------------------

BIKE_RACKS = """名称,住所,緯度,経度,収容台数
中央駅前駐輪場,中央区1-1,34.6913,135.1830,120
市役所北駐輪場,中央区2-3,34.6901,135.1955,80
港公園駐輪場,中央区3-5,34.6822,135.1870,45
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path) -> Iterator[str]:
    root = tmp_path / "served"
    root.mkdir()
    (root / "bike-racks.csv").write_text(BIKE_RACKS, encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_QuietHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/bike-racks.csv"
    server.shutdown()
    server.server_close()


def test_ckan_pull_reads_each_file_once(engine, served, tmp_path, monkeypatch) -> None:
    reads: list[str] = []
    real = etl.read.read_table

    def counted(path, *args, **kwargs):
        reads.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(etl.read, "read_table", counted)
    monkeypatch.setattr(etl.prepare, "read_table", counted)
    client = CkanClient("http://127.0.0.1:9")  # only the file's own URL is fetched
    package = {"name": "bike-racks", "title": "駐輪場",
               "resources": [{"url": served, "format": "CSV"}]}
    item = _pull_one(client, {"name": "city", "title": "City"}, package,
                     datasets_dir=tmp_path / "datasets", schemas_dir=tmp_path / "schemas",
                     engine=engine, dry_run=False, max_bytes=1 << 20, publisher="ckan-pull",
                     max_errors=100)
    client.close()
    assert (item.status, item.version, item.rows) == ("published", 1, 3), item.message
    assert reads == ["bike-racks.csv"]
    assert (tmp_path / "datasets" / "bike-racks" / "dataset.toml").exists()
    with engine.connect() as conn:
        assert conn.execute(text('SELECT count(*) FROM data."bike_racks__v1"')).scalar_one() == 3
