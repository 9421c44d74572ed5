"""`hub validate` and `hub publish` on small files: reports readable in logs, NUL bytes that
validate and publish treat alike, and the optional-cell policy, through the real CLI and a
real PostGIS."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from hub import cli
from hub.cli import app
from tests.conftest import FIXTURES
from tests.unit.test_prepare_truth import all_day_file, row, toilets


@pytest.fixture
def fixture_env(monkeypatch, tmp_path):
    values = {"HUB_DATASETS_DIR": str(FIXTURES / "datasets"),
              "HUB_SCHEMAS_DIR": str(FIXTURES / "schemas"),
              "HUB_ARTIFACT_DIR": str(tmp_path / "artifacts")}
    for key, value in values.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def db_env(settings, fixture_env, monkeypatch):
    monkeypatch.setenv("HUB_DATABASE_URL", settings.database_url)
    engine = create_engine(settings.database_url)
    yield engine
    engine.dispose()


def unknown_column_file(tmp_path: Path) -> Path:
    rows = [[*row(1, opening="終日"), "x"]]
    return toilets(tmp_path, rows, ["ID", "全国地方公共団体コード", "名称", "開始時間", "終了時間",
                                    "緯度", "経度", "謎の列"])


def test_validate_prints_plain_lines_when_not_a_terminal(fixture_env, tmp_path) -> None:
    result = CliRunner().invoke(app, ["validate", "etl-toilets",
                                      str(unknown_column_file(tmp_path))])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert ("toilets.csv:2:開始時間: error: format:hh:mm: '終日' is not a time HH:MM between "
            "00:00 and 24:00 (e.g. 09:30, 9時30分, 16時, 24:00) (value: '終日')") in lines
    # rich markup would have eaten "[columns]"; a table would have wrapped the message
    assert ("toilets.csv:謎の列: warning: unknown-column: column '謎の列' matches no field of "
            "the schema and is ignored (map it in [columns] of dataset.toml if it should be "
            "kept)") in lines
    assert lines[-1] == "toilets.csv: 1 rows, 1 error(s), 1 warning(s)"
    assert not any(c in result.output for c in "│┃━")


def test_table_on_a_terminal_keeps_text_in_square_brackets(fixture_env, tmp_path,
                                                           monkeypatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=screen, force_terminal=True, width=400))
    result = CliRunner().invoke(app, ["validate", "etl-toilets",
                                      str(unknown_column_file(tmp_path))])
    assert result.exit_code == 1
    assert "map it in [columns] of dataset.toml" in screen.getvalue()
    assert "│" in screen.getvalue()  # a table


def test_validate_on_invalid_optional_null(fixture_env, tmp_path) -> None:
    path = str(all_day_file(tmp_path))
    refused = CliRunner().invoke(app, ["validate", "etl-toilets", path])
    assert refused.exit_code == 1
    kept = CliRunner().invoke(app, ["validate", "etl-toilets", path,
                                    "--on-invalid-optional", "null"])
    assert kept.exit_code == 0, kept.output
    assert "left empty (on_invalid_optional = null)" in kept.output
    wrong = CliRunner().invoke(app, ["validate", "etl-toilets", path,
                                     "--on-invalid-optional", "empty"])
    assert wrong.exit_code == 2 and "not one of drop-row, null, refuse" in wrong.output


def test_publish_keeps_every_toilet_with_on_invalid_optional_null(db_env, tmp_path) -> None:
    path = str(all_day_file(tmp_path))
    skipped = CliRunner().invoke(app, ["publish", "etl-toilets", path, "--skip-invalid",
                                       "--dry-run"])
    assert skipped.exit_code == 0 and "8 rows would be published (9 skipped)" in skipped.output
    result = CliRunner().invoke(app, ["publish", "etl-toilets", path,
                                      "--on-invalid-optional=null"])
    assert result.exit_code == 0, result.output
    with db_env.connect() as conn:
        counts = conn.execute(text(
            "SELECT count(*), count(opening_time) FROM data.etl_toilets__v1")).one()
    assert tuple(counts) == (17, 8)


def test_nul_in_a_cell_is_removed_by_validate_and_publish_alike(db_env, tmp_path) -> None:
    path = toilets(tmp_path, [row(i) for i in range(1, 5)])
    path.write_bytes(path.read_bytes().replace("トイレ3".encode(), "トイ\x00レ3".encode()))
    validated = CliRunner().invoke(app, ["validate", "etl-toilets", str(path)])
    assert validated.exit_code == 0, validated.output
    expected = "toilets.csv:4:名称: warning: nul-byte"
    assert any(line.startswith(expected) for line in validated.output.splitlines())
    published = CliRunner().invoke(app, ["publish", "etl-toilets", str(path)])
    assert published.exit_code == 0, published.output
    assert any(line.startswith(expected) for line in published.output.splitlines())
    with db_env.connect() as conn:
        names = conn.execute(text("SELECT name FROM data.etl_toilets__v1 ORDER BY _fid")).all()
    assert [n for (n,) in names] == ["トイレ1", "トイレ2", "トイレ3", "トイレ4"]


def _published_versions(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM hub.versions")).scalar_one()


def test_publish_refuse_policy_refuses_even_with_skip_invalid(db_env, tmp_path) -> None:
    path = str(all_day_file(tmp_path))
    for extra in ([], ["--dry-run"]):
        result = CliRunner().invoke(app, ["publish", "etl-toilets", path, "--skip-invalid",
                                          "--on-invalid-optional", "refuse", *extra])
        assert result.exit_code == 1, result.output
        lines = result.output.splitlines()
        assert lines[0].startswith("toilets.csv: error: on-invalid-optional: 9 invalid cell(s) "
                                   "in optional field(s) opening_time, and on_invalid_optional "
                                   "= refuse: the file is refused")
        assert "toilets.csv:2:開始時間: error: format:hh:mm" in lines[1]
        assert lines[-1] == ("not published: 10 validation error(s), some about the file as a "
                             "whole, which --skip-invalid cannot drop")
    assert _published_versions(db_env) == 0


def test_publish_takes_the_dataset_default_unless_the_flag_is_given(db_env, tmp_path,
                                                                    monkeypatch) -> None:
    datasets = tmp_path / "datasets"
    shutil.copytree(FIXTURES / "datasets" / "etl-toilets", datasets / "etl-toilets")
    toml = datasets / "etl-toilets" / "dataset.toml"
    toml.write_text('on_invalid_optional = "refuse"\n' + toml.read_text(encoding="utf-8"),
                    encoding="utf-8")
    monkeypatch.setenv("HUB_DATASETS_DIR", str(datasets))
    path = str(all_day_file(tmp_path))
    refused = CliRunner().invoke(app, ["publish", "etl-toilets", path, "--skip-invalid"])
    assert refused.exit_code == 1 and "on-invalid-optional" in refused.output
    assert _published_versions(db_env) == 0
    dropped = CliRunner().invoke(app, ["publish", "etl-toilets", path, "--skip-invalid",
                                       "--on-invalid-optional", "drop-row"])
    assert dropped.exit_code == 0, dropped.output
    assert "published etl-toilets version 1: 8 rows" in dropped.output


def test_publish_refusal_is_plain_off_a_terminal_and_escaped_on_one(monkeypatch) -> None:
    reason = "1 validation error(s) in [columns] of [bold]dataset.toml"
    plain = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=plain, width=40))
    cli._not_published(reason)
    assert plain.getvalue() == f"not published: {reason}\n"  # one line, however long
    screen = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=screen, force_terminal=True, width=400,
                                                color_system=None))
    cli._not_published(reason)
    assert screen.getvalue() == f"not published: {reason}\n"
