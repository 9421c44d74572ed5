"""Publishing and withdrawing over HTTP through the real app and a real PostGIS: the same
pipeline, version and report as `hub publish`, the key checks, the size cap, refusals that
leave the previous version serving, and one audit entry per request past the key check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.people.scopes import Scope
from tests.api.cocreation_hub import assert_problem
from tests.conftest import FIXTURES, make_settings
from tests.people_hub import People, ServeHub, bearer
from tests.shopdata import make_shops, with_bad_floor, write_csv

VERSIONS = "/v1/datasets/test-shops/versions"


@pytest.fixture
def hub(db_url: str, serve_hub: ServeHub) -> People:
    return serve_hub(make_settings(db_url, max_upload_mb=1))


@pytest.fixture
def publisher(hub: People) -> str:
    _id, token = hub.issue("parks uploads", Scope.PUBLISH, datasets={"test-shops"})
    return token


def upload(hub: People, token: str | None, path: Path, name: str | None = None,
           **params: str) -> Any:
    headers = bearer(token) if token else {}
    return hub.client.post(VERSIONS, params=params, headers=headers,
                           files={"file": (name or path.name, path.read_bytes(), "text/csv")})


def versions(hub: People) -> int:
    return hub.scalar("SELECT count(*) FROM hub.versions WHERE dataset_id = 'test-shops'")


def audit(hub: People, action: str = "version.publish") -> list[tuple[str, str, str]]:
    with hub.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT actor, object_id, result FROM hub.audit_log WHERE action = :a ORDER BY id"),
            {"a": action}).all()
    return [tuple(r) for r in rows]


def cli_json(*args: str) -> list[dict[str, Any]]:
    """Every JSON document `hub` printed on stdout, in order."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code in (0, 1), result.output
    decoder, text_, found, at = json.JSONDecoder(), result.stdout, [], 0
    while (start := text_.find("{", at)) != -1:
        document, at = decoder.raw_decode(text_, start)
        found.append(document)
    return found


# -- the same as the CLI ---------------------------------------------------------------------


def test_http_publish_gives_the_cli_version_and_report(hub: People, publisher: str,
                                                        tmp_path, monkeypatch) -> None:
    source = with_bad_floor(tmp_path / "店舗 一覧.csv", make_shops(40), line=6)
    response = upload(hub, publisher, source, skip_invalid="true")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "published" and body["version"] == 1
    assert response.headers["Location"].endswith("/v1/datasets/test-shops/versions/1")
    assert body["report"]["file"] == "店舗 一覧.csv"
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(6, "階数")]

    for key, value in {"HUB_DATABASE_URL": hub.settings.database_url,
                       "HUB_DATASETS_DIR": str(FIXTURES / "datasets"),
                       "HUB_SCHEMAS_DIR": str(FIXTURES / "schemas"),
                       "HUB_ARTIFACT_DIR": str(tmp_path / "artifacts")}.items():
        monkeypatch.setenv(key, value)
    cli_report, cli_result = cli_json("publish", "test-shops", str(source), "--skip-invalid",
                                      "--force", "--report", "json")
    assert cli_report == body["report"]
    assert cli_result["version"] == 2
    assert cli_result["content_sha256"] == hub.scalar(
        "SELECT content_sha256 FROM hub.versions WHERE dataset_id = 'test-shops' "
        "AND version = 1")
    assert cli_result["row_count"] == body["rows"] == 39
    # the same audit entry, one by the key and one by the operator
    entries = audit(hub)
    assert [(obj, result) for _actor, obj, result in entries] == [
        ("test-shops/1", "ok"), ("test-shops/2", "ok")]
    assert entries[0][0].startswith("key:") and entries[1][0].startswith("cli:")


def test_file_name_is_sanitised_and_the_upload_leaves_nothing_behind(
        hub: People, publisher: str, tmp_path) -> None:
    source = write_csv(tmp_path / "shops.csv", make_shops(5))
    response = upload(hub, publisher, source, name="../../etc/shops.csv", dry_run="1")
    assert response.status_code == 200, response.text
    assert response.json()["report"]["file"] == "shops.csv"
    assert list((hub.settings.data_dir / "uploads").iterdir()) == []


# -- 401 / 403 -------------------------------------------------------------------------------


def test_without_a_key_is_401_and_nothing_happens(hub: People, tmp_path) -> None:
    response = upload(hub, None, write_csv(tmp_path / "shops.csv", make_shops(5)))
    assert_problem(response, 401, "needs a key")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="hub"'
    assert versions(hub) == 0 and hub.audit_count("version.publish") == 0


def test_revoked_key_is_401(hub: People, tmp_path) -> None:
    key_id, token = hub.issue("old uploads", Scope.PUBLISH)
    _admin_id, admin = hub.issue("admin", Scope.ADMIN)
    assert hub.client.delete(f"/v1/keys/{key_id}", params={"reason": "left"},
                             headers=bearer(admin)).status_code == 200
    response = upload(hub, token, write_csv(tmp_path / "shops.csv", make_shops(5)))
    assert_problem(response, 401, "revoked", "left")
    assert versions(hub) == 0 and hub.audit_count("version.publish") == 0


def test_key_without_publish_scope_is_403(hub: People, tmp_path) -> None:
    _id, token = hub.issue("resident", Scope.CONTRIBUTE)
    response = upload(hub, token, write_csv(tmp_path / "shops.csv", make_shops(5)))
    assert_problem(response, 403, "'publish'")
    assert 'scope="publish"' in response.headers["WWW-Authenticate"]
    assert versions(hub) == 0 and hub.audit_count("version.publish") == 0


def test_key_for_another_dataset_is_403(hub: People, tmp_path) -> None:
    _id, token = hub.issue("parks uploads", Scope.PUBLISH, datasets={"parks"})
    response = upload(hub, token, write_csv(tmp_path / "shops.csv", make_shops(5)))
    assert_problem(response, 403, "only on datasets [parks]", "test-shops")
    assert versions(hub) == 0 and hub.audit_count("version.publish") == 0


# -- refusals --------------------------------------------------------------------------------


def test_too_large_is_413_even_without_content_length(hub: People, publisher: str) -> None:
    big = b"x" * (2**20 + 1)
    declared = hub.client.post(VERSIONS, headers=bearer(publisher),
                               files={"file": ("big.csv", big, "text/csv")})
    assert_problem(declared, 413, "HUB_MAX_UPLOAD_MB")

    boundary = "hubboundary"

    def chunks() -> Iterator[bytes]:  # a streamed body: no Content-Length to trust
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"big.csv\"\r\n\r\n").encode()
        for _ in range(40):
            yield b"y" * 2**15  # 1.25 MiB in all
        yield f"\r\n--{boundary}--\r\n".encode()

    streamed = hub.client.post(
        VERSIONS, content=chunks(),
        headers={**bearer(publisher),
                 "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert "content-length" not in {k.lower() for k in streamed.request.headers}
    assert_problem(streamed, 413, "HUB_MAX_UPLOAD_MB")
    assert versions(hub) == 0
    assert [r for _a, _o, r in audit(hub)] == ["refused", "refused"]
    assert list((hub.settings.data_dir / "uploads").iterdir()) == []


def test_refused_file_is_422_with_the_report_and_v1_keeps_serving(
        hub: People, publisher: str, tmp_path) -> None:
    first = upload(hub, publisher, write_csv(tmp_path / "v1.csv", make_shops(20)))
    assert first.status_code == 201, first.text
    bad = with_bad_floor(tmp_path / "bad.csv", make_shops(30), line=6)
    refused = upload(hub, publisher, bad)
    body = assert_problem(refused, 422, "not published", "--skip-invalid")
    assert body["type"].endswith("publish-refused")
    assert [{k: e[k] for k in ("file", "row", "column", "value", "rule")}
            for e in body["errors"]] == [{"file": "bad.csv", "row": 6, "column": "階数",
                                         "value": "三階", "rule": "type:integer"}]
    assert all(e["message"] for e in body["errors"])
    assert body["report"]["error_count"] == 1
    assert versions(hub) == 1
    latest = hub.client.get("/v1/datasets/test-shops/versions/latest")
    assert latest.json()["version"] == 1
    assert [r for _a, _o, r in audit(hub)] == ["ok", "refused"]


def test_unreadable_file_is_422_and_bad_options_400(hub: People, publisher: str,
                                                    tmp_path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    body = assert_problem(upload(hub, publisher, empty), 422, "empty.csv")
    assert body["errors"][0]["file"] == "empty.csv"
    source = write_csv(tmp_path / "shops.csv", make_shops(5))
    assert_problem(upload(hub, publisher, source, dry_run="maybe"), 400, "dry_run")
    assert_problem(upload(hub, publisher, source, on_invalid_optional="ignore"), 400,
                   "drop-row")
    no_file = hub.client.post(VERSIONS, headers=bearer(publisher), data={"dry_run": "true"})
    assert_problem(no_file, 400, "multipart")
    assert versions(hub) == 0
    assert [r for _a, _o, r in audit(hub)] == ["refused"] * 4


def test_unknown_dataset_is_404(hub: People, tmp_path) -> None:
    _id, token = hub.issue("city publisher", Scope.PUBLISH)
    response = hub.client.post("/v1/datasets/no-such/versions", headers=bearer(token),
                               files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")})
    assert_problem(response, 404, "no-such")
    assert audit(hub) == [(f"key:{_id}", "no-such", "refused")]


def test_dry_run_and_unchanged_write_nothing(hub: People, publisher: str, tmp_path) -> None:
    source = write_csv(tmp_path / "shops.csv", make_shops(20))
    dry = hub.client.post(VERSIONS, headers=bearer(publisher), data={"dry_run": "true"},
                          files={"file": ("shops.csv", source.read_bytes(), "text/csv")})
    assert dry.status_code == 200, dry.text
    assert dry.json()["status"] == "dry-run" and dry.json()["rows"] == 20
    assert versions(hub) == 0
    assert upload(hub, publisher, source).status_code == 201
    again = upload(hub, publisher, source)
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    forced = upload(hub, publisher, source, force="true")
    assert forced.status_code == 201 and forced.json()["version"] == 2
    assert [r for _a, _o, r in audit(hub)] == ["dry-run", "ok", "unchanged", "ok"]


# -- withdraw --------------------------------------------------------------------------------


def test_withdraw_over_http(hub: People, publisher: str, tmp_path) -> None:
    for number in (1, 2):
        shops = make_shops(20)[: 20 - number]
        assert upload(hub, publisher, write_csv(tmp_path / f"v{number}.csv", shops)
                      ).status_code == 201
    _id, outsider = hub.issue("parks uploads", Scope.PUBLISH, datasets={"parks"})
    path = f"{VERSIONS}/2/withdraw"
    assert_problem(hub.client.post(path, json={"reason": "x"}), 401)
    assert_problem(hub.client.post(path, json={"reason": "x"}, headers=bearer(outsider)), 403)
    response = hub.client.post(path, json={"reason": "wrong coordinates"},
                               headers=bearer(publisher))
    assert response.status_code == 200, response.text
    assert response.json()["current_version"] == 1
    assert_problem(hub.client.get(f"{VERSIONS}/2"), 410, "wrong coordinates")
    again = hub.client.post(path, json={"reason": "again"}, headers=bearer(publisher))
    assert_problem(again, 409, "already withdrawn")
    assert [r for _a, _o, r in audit(hub, "version.withdraw")] == ["ok", "failed"]
    assert hub.scalar("SELECT count(*) FROM hub.changes WHERE kind = 'withdraw'") == 1


def test_openapi_documents_the_scheme_and_every_new_error(hub: People) -> None:
    spec = hub.client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    publish = spec["paths"]["/v1/datasets/{dataset_id}/versions"]["post"]
    assert publish["security"] == [{"bearer": []}]
    assert {"200", "201", "400", "401", "403", "404", "413", "422", "429"} <= set(
        publish["responses"])
    assert "multipart/form-data" in publish["requestBody"]["content"]
    withdraw = spec["paths"]["/v1/datasets/{dataset_id}/versions/{version}/withdraw"]["post"]
    assert {"200", "401", "403", "409"} <= set(withdraw["responses"])
