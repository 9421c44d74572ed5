"""A field whose type changes between versions (integer -> string) is compared as text: the
publish stores a change summary instead of failing, and the row diff agrees with it."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from etl.prepare import prepare
from etl.publish import publish
from hub.api.app import create_app
from hub.catalog import load_definition
from tests.conftest import FIXTURES
from tests.shopdata import make_shops, write_csv


def _floors_as_string(root: Path) -> tuple[Path, Path]:
    """datasets/ and schemas/ folders where test-shops' ``floors`` is a string field."""
    datasets, schemas = root / "datasets", root / "schemas"
    shutil.copytree(FIXTURES / "datasets" / "test-shops", datasets / "test-shops")
    schemas.mkdir()
    schema = json.loads((FIXTURES / "schemas" / "test-shops.json").read_text("utf-8"))
    for field in schema["fields"]:
        if field["name"] == "floors":
            field["type"] = "string"
            field.pop("constraints")
    (schemas / "test-shops.json").write_text(json.dumps(schema, ensure_ascii=False), "utf-8")
    return datasets, schemas


def test_retyped_field_gets_a_summary_and_a_diff_that_agrees(settings, tmp_path) -> None:
    v1 = make_shops(30)
    v2 = copy.deepcopy(v1[:-1])  # S0030 removed
    v2.append(make_shops(1, seed=9)[0])
    v2[-1].shop_id = "S9001"  # added
    v2[1].name = "改装した店"  # S0002: an ordinary change
    for shop in v2[:-1]:
        if shop.floors is not None and int(shop.shop_id[1:]) % 3 == 0:
            shop.floors = f"{shop.floors}階"  # new text; the other numbers stay equal as text
    retyped = {s.shop_id for s in v2 if isinstance(s.floors, str)}
    assert retyped and "S0002" not in retyped

    engine = create_engine(settings.database_url)
    definition = load_definition("test-shops", settings.datasets_dir, settings.schemas_dir)
    publish(engine, prepare(definition, write_csv(tmp_path / "v1.csv", v1)))
    datasets, schemas = _floors_as_string(tmp_path / "v2")
    as_string = load_definition("test-shops", datasets, schemas)
    result = publish(engine, prepare(as_string, write_csv(tmp_path / "v2.csv", v2)))
    engine.dispose()

    expected = {"added": 1, "removed": 1, "changed": len(retyped) + 1}
    assert result.version == 2
    assert {k: result.change_summary[k] for k in expected} == expected
    assert result.change_summary["schema_changed"] is True
    assert result.change_summary["fields_retyped"] == ["floors"]
    with TestClient(create_app(settings)) as client:
        stored = client.get("/v1/datasets/test-shops/versions/2").json()["changes"]
        assert {k: stored[k] for k in expected} == expected
        url, changes, first = "/v1/datasets/test-shops/versions/1/diff/2?limit=5", [], None
        while url:
            page = client.get(url).json()
            first = first or page
            changes += page["changes"]
            url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert first["summary"] == expected
    assert first["schema"]["fields_retyped"] == ["floors"]
    counted = {kind: sum(1 for c in changes if c["change"] == kind) for kind in expected}
    assert counted == expected
    changed = {c["key"]["shop_id"]: c["fields"] for c in changes if c["change"] == "changed"}
    assert set(changed) == retyped | {"S0002"}
    sample = sorted(retyped)[0]
    old_floors = next(s.floors for s in v1 if s.shop_id == sample)
    assert changed[sample] == {"floors": {"old": old_floors, "new": f"{old_floors}階"}}
    assert changed["S0002"] == {"name": {"old": v1[1].name, "new": "改装した店"}}
