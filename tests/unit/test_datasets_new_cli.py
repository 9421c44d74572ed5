"""`hub datasets new FILE`: the proposal printed, the draft written (never over an existing
one without --force), and accepted by `hub validate`; an unreadable file exits 2 naming the
file and the line."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from hub.cli import app
from tests.conftest import ROOT

KOBE = ROOT / "datasets" / "kobe-ud-toilets" / "UDseibisisetu.xlsx"


def test_new_writes_a_draft_that_validate_accepts(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_DATASETS_DIR", str(tmp_path / "datasets"))
    file = tmp_path / "UDseibisisetu.xlsx"
    shutil.copy(KOBE, file)
    runner = CliRunner()
    result = runner.invoke(app, ["datasets", "new", str(file), "--id", "kobe-toilets"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for line in ("chosen schema public-toilets.json (公衆トイレ一覧): score 0.37, columns "
                 "covered 88%, required fields missing: -",
                 "column 緯度 -> latitude (spelling, 1.0)",
                 "column 施　設　名_2 -> unmapped",
                 "geometry: latlon: latitude '緯度', longitude '経度': 92 of 92 sampled rows "
                 "have a position in Japan",
                 "section rows (headings, left out): 4 都心地域, 28 都心地域外, 68 公共交通機関"):
        assert line in lines
    draft = tmp_path / "datasets" / "kobe-toilets" / "dataset.toml"
    assert draft.read_text(encoding="utf-8").startswith("# Drafted by `hub datasets new`")
    checked = runner.invoke(app, ["validate", "kobe-toilets", str(file)])
    assert checked.exit_code == 0, checked.output


def test_an_existing_draft_is_kept_without_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "dataset.toml").write_text("# mine\n", encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(app, ["datasets", "new", str(KOBE), "--out", str(out)])
    assert refused.exit_code == 1
    assert "not overwritten (use --force)" in refused.output
    assert (out / "dataset.toml").read_text(encoding="utf-8") == "# mine\n"
    forced = runner.invoke(app, ["datasets", "new", str(KOBE), "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert "public-toilets.json" in (out / "dataset.toml").read_text(encoding="utf-8")


def test_unreadable_file_and_bad_options_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b'ID,name\n"1,x\n')
    runner = CliRunner()
    result = runner.invoke(app, ["datasets", "new", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "bad.csv: line 2: a quote" in " ".join(result.output.split())
    assert not (tmp_path / "o").exists()
    assert runner.invoke(app, ["datasets", "new", str(KOBE), "--id", "Bad Id"]).exit_code == 2
    unknown = runner.invoke(app, ["datasets", "new", str(KOBE), "--schema", "x.json"])
    assert unknown.exit_code == 2 and "schema 'x.json' is not one of" in unknown.output
