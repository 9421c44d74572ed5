"""A new dataset from a file over HTTP, through the real app and a real PostGIS: the proposal
for an upload (what `hub datasets new` prints, as JSON), the confirmed dataset.toml stored as
a definition, and the next upload to the new id published; bad input is problem+json."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from hub.people.scopes import Scope
from tests.api.cocreation_hub import assert_problem
from tests.conftest import ROOT, make_settings
from tests.people_hub import People, ServeHub, bearer

KOBE = ROOT / "datasets" / "kobe-ud-toilets" / "UDseibisisetu.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def hub(db_url: str, tmp_path: Path, serve_hub: ServeHub) -> People:
    return serve_hub(make_settings(db_url, datasets_dir=tmp_path / "datasets",
                                   schemas_dir=ROOT / "schemas"))


@pytest.fixture
def staff(hub: People) -> str:
    return hub.issue("new datasets", Scope.PUBLISH)[1]


def propose(hub: People, token: str | None, path: Path = KOBE, **fields: str) -> Any:
    return hub.client.post("/v1/dataset-proposals", headers=bearer(token) if token else {},
                           data=fields, files={"file": (path.name, path.read_bytes(), XLSX)})


def define(hub: People, token: str, dataset_id: str, text: str) -> Any:
    return hub.client.put(f"/v1/datasets/{dataset_id}/definition", content=text.encode(),
                          headers={**bearer(token), "Content-Type": "application/toml"})


def test_proposal_define_then_the_next_upload_publishes(hub, staff):
    answer = propose(hub, staff, id="kobe-toilets")
    assert answer.status_code == 200, answer.text
    proposal = answer.json()
    assert proposal["schema"] == "public-toilets.json"
    assert proposal["rows"] == 92
    assert {"header": "緯度", "field": "latitude", "rule": "spelling", "confidence": 1.0} \
        in proposal["mapping"]
    assert proposal["geometry"]["kind"] == "latlon"
    assert proposal["unmapped"] == ["施　設　名_2"]
    assert proposal["candidates"][0]["schema"] == "public-toilets.json"
    assert {"name": "name", "title": "Name", "title_ja": "名称", "type": "string",
            "required": True} in proposal["fields"]
    assert tomllib.loads(proposal["draft"])["id"] == "kobe-toilets"
    assert not any((hub.settings.data_dir / "uploads").iterdir())  # nothing kept

    defined = define(hub, staff, "kobe-toilets", proposal["draft"])
    assert defined.status_code == 201, defined.text
    assert defined.json()["schema"] == "public-toilets.json"
    assert (hub.settings.datasets_dir / "kobe-toilets" / "dataset.toml").read_text(
        encoding="utf-8") == proposal["draft"]
    assert hub.scalar("SELECT count(*) FROM hub.audit_log WHERE action = 'dataset.define' "
                      "AND object_id = 'kobe-toilets' AND result = 'ok'") == 1

    published = hub.client.post("/v1/datasets/kobe-toilets/versions", headers=bearer(staff),
                                files={"file": (KOBE.name, KOBE.read_bytes(), XLSX)})
    assert published.status_code == 201, published.text
    assert (published.json()["rows"], published.json()["version"]) == (92, 1)


def test_a_correction_changes_the_mapping_and_the_draft(hub, staff):
    corrected = propose(hub, staff, columns=json.dumps({"施　設　名_2": "name",
                                                        "施　設　名": None}))
    assert corrected.status_code == 200, corrected.text
    body = corrected.json()
    assert {"header": "施　設　名_2", "field": "name", "rule": "chosen", "confidence": 1.0} \
        in body["mapping"]
    assert tomllib.loads(body["draft"])["columns"] == {"施　設　名_2": "name"}
    assert_problem(propose(hub, staff, columns='{"施　設　名_2": "nope"}'), 422,
                   "'nope'", "not a field of public-toilets.json")
    assert_problem(propose(hub, staff, columns="[1]"), 400, "JSON object")
    assert_problem(propose(hub, staff, schema="gtfs-stops.json"), 422,
                   "schema 'gtfs-stops.json' is not one of")


def test_unreadable_file_is_422_naming_file_and_line(hub, staff, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b'ID,name\n"1,x\n')
    body = assert_problem(propose(hub, staff, bad), 422, "not proposed: bad.csv: line 2: a quote",
                          "never closed")
    assert body["errors"][0]["file"] == "bad.csv"
    assert body["errors"][0]["rule"] == "readable"
    assert_problem(hub.client.post("/v1/dataset-proposals", headers=bearer(staff),
                                   data={"x": "1"}), 400, "multipart/form-data")


def test_keys_scopes_and_definitions_refused(hub, staff):
    assert_problem(propose(hub, None), 401)
    reader = hub.issue("residents", Scope.CONTRIBUTE)[1]
    assert_problem(propose(hub, reader), 403, "'publish'")
    draft = propose(hub, staff, id="kobe-toilets").json()["draft"]
    limited = hub.issue("parks only", Scope.PUBLISH, datasets={"parks"})[1]
    assert_problem(define(hub, limited, "kobe-toilets", draft), 403, "parks")
    assert_problem(define(hub, staff, "other-id", draft), 422, "id 'kobe-toilets' is not")
    assert_problem(define(hub, staff, "kobe-toilets", draft.replace(
        'schema = "public-toilets.json"', 'schema = "nope.json"')), 422,
        "schema file not found")
    assert_problem(define(hub, staff, "kobe-toilets", "id = "), 422, "invalid TOML")
    assert not (hub.settings.datasets_dir / "kobe-toilets").exists()
    assert [p.name for p in hub.settings.datasets_dir.iterdir()] == []  # no staging left
    assert define(hub, staff, "kobe-toilets", draft).status_code == 201
    assert_problem(define(hub, staff, "kobe-toilets", draft), 409, "already defined")
    assert hub.scalar("SELECT count(*) FROM hub.audit_log WHERE action = 'dataset.define' "
                      "AND result = 'refused'") == 4
