"""`hub db refold`: versions whose search text older folding rules wrote are rewritten with the
current rules and stamped; versions already current are left alone."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from etl.prepare import prepare
from etl.publish import publish
from hub.api.app import create_app
from hub.catalog import load_definition
from hub.cli import app as cli
from hub.textfold import fold_identity
from tests.conftest import FIXTURES
from tests.shopdata import make_shops, write_csv


def _search_column(conn, table: str) -> list[str]:
    return list(conn.execute(text(f'SELECT _search FROM data."{table}" ORDER BY _fid')).scalars())


def test_refold_rewrites_stale_versions_only(settings, tmp_path: Path, monkeypatch) -> None:
    engine = create_engine(settings.database_url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    shops = make_shops(120)
    publish(engine, prepare(definition, write_csv(tmp_path / "v1.csv", shops)))
    publish(engine, prepare(definition, write_csv(tmp_path / "v2.csv", shops[:100])))
    with engine.begin() as conn:
        tables = dict(conn.execute(text(
            "SELECT version, table_name FROM hub.versions ORDER BY version")).all())
        published = _search_column(conn, tables[1])
        catalogue = conn.execute(text("SELECT search_title, search_keywords, "
                                      "search_description FROM hub.datasets")).one()
        # version 1 as a hub before folding left it: NFKC + lower only, no stamp
        conn.execute(text(f'UPDATE data."{tables[1]}" SET _search = upper(_search)'))
        conn.execute(text("UPDATE hub.versions SET search_fold = NULL WHERE version = 1"))
        conn.execute(text("UPDATE hub.datasets SET search_title = '', search_keywords = '', "
                          "search_description = ''"))
        current_v2 = _search_column(conn, tables[2])
        conn.execute(text(f"UPDATE data.\"{tables[2]}\" SET _search = 'untouched'"))
        stamps = dict(conn.execute(text(
            "SELECT version, published_lsn FROM hub.versions ORDER BY version")).all())
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/datasets", params={"q": "テスト"}).json()["total"] == 0

    for key, value in {"HUB_DATABASE_URL": settings.database_url,
                       "HUB_DATASETS_DIR": str(FIXTURES / "datasets"),
                       "HUB_SCHEMAS_DIR": str(FIXTURES / "schemas")}.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli, ["db", "refold"])
    assert result.exit_code == 0, result.output
    assert "1 dataset(s) in the catalogue, 1 version(s) (120 rows)" in result.output

    with engine.connect() as conn:
        assert _search_column(conn, tables[1]) == published
        # version 2 was stamped current: not read, not rewritten
        assert set(_search_column(conn, tables[2])) == {"untouched"} != set(current_v2)
        assert set(conn.execute(text("SELECT search_fold FROM hub.versions")).scalars()) == {
            fold_identity()}
        assert conn.execute(text("SELECT search_title, search_keywords, search_description "
                                 "FROM hub.datasets")).one() == catalogue
        # a read replica serves the rewritten version only once it has replayed the rewrite
        after = dict(conn.execute(text(
            "SELECT version, published_lsn FROM hub.versions ORDER BY version")).all())
        assert after[1] > stamps[1] and after[2] == stamps[2]
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/datasets", params={"q": "テスト"}).json()["total"] == 1
    again = CliRunner().invoke(cli, ["db", "refold"])
    assert again.exit_code == 0 and "refolded" not in again.output, again.output
