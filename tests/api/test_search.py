"""Search that understands Japanese spelling: real demo datasets, published through the ETL,
searched over HTTP (catalogue ``q`` and records ``q``), folded by hub/textfold.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from etl.publish import publish
from etl.sources import prepare_source
from hub.api.app import create_app
from hub.catalog import load_definitions
from hub.textfold import fold_identity
from tests.conftest import ROOT, create_test_database, drop_test_database, make_settings

# The demo datasets that speak of wheelchairs, toilets and AEDs (small files, real spellings:
# Yaizu's shop list writes 車いす and 車イス, Takamatsu's toilets 車椅子 and 公衆便所).
PUBLISHED = ("yaizu-accessible-shops", "takamatsu-public-toilets", "yaizu-public-toilets",
             "yaizu-aed")
WHEELCHAIR = ("車いす", "車椅子", "車イス", "くるまいす", "ｸﾙﾏｲｽ")


@pytest.fixture(scope="module")
def search_hub(pg_cluster) -> Iterator[tuple[TestClient, str]]:
    url = create_test_database(pg_cluster)
    settings = make_settings(url, datasets_dir=ROOT / "datasets", schemas_dir=ROOT / "schemas",
                             max_limit=1000)
    definitions = load_definitions(settings.datasets_dir, settings.schemas_dir)
    engine = create_engine(url)
    for dataset_id in PUBLISHED:
        definition = definitions[dataset_id]
        prepared = prepare_source(definition, definition.directory / definition.source["file"])
        publish(engine, prepared, publisher="test")
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        yield client, url
    drop_test_database(pg_cluster, url)


def _ids(client: TestClient, q: str) -> list[str]:
    body = client.get("/v1/datasets", params={"q": q, "limit": 100}).json()
    return [d["id"] for d in body["datasets"]]


def _records(client: TestClient, dataset_id: str, q: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/datasets/{dataset_id}/records", params={"q": q, "limit": 1000})
    assert response.status_code == 200, response.text
    return response.json()["records"]


def test_every_spelling_of_wheelchair_finds_the_same_datasets(search_hub) -> None:
    client, _ = search_hub
    found = {q: sorted(_ids(client, q)) for q in WHEELCHAIR}
    assert found["車いす"] == ["takamatsu-public-toilets", "yaizu-accessible-shops",
                             "yaizu-public-toilets"], found
    assert all(ids == found["車いす"] for ids in found.values()), found


def test_synonyms_find_datasets_that_use_another_word(search_hub) -> None:
    client, _ = search_hub
    # "便所" is in no title, keyword or description: the toilets are found through トイレ
    assert sorted(_ids(client, "便所")) == sorted(_ids(client, "トイレ"))
    assert "yaizu-public-toilets" in _ids(client, "お手洗い")
    assert _ids(client, "自動体外式除細動器") == _ids(client, "ＡＥＤ") == ["yaizu-aed"]


def test_catalogue_ranks_title_before_keyword_before_description(search_hub) -> None:
    client, _ = search_hub
    # トイレ: in both toilets' titles, only in the description of the shops
    assert _ids(client, "トイレ") == ["takamatsu-public-toilets", "yaizu-public-toilets",
                                      "yaizu-accessible-shops"]
    # バリアフリー: the shops' title; the toilets' keywords
    assert _ids(client, "バリアフリー") == ["yaizu-accessible-shops",
                                            "takamatsu-public-toilets", "yaizu-public-toilets"]
    # ties keep the id order, facets and total agree with the page
    body = client.get("/v1/datasets", params={"q": "車椅子"}).json()
    assert body["total"] == 3 and [d["id"] for d in body["datasets"]] == sorted(
        d["id"] for d in body["datasets"])


def test_records_q_matches_every_spelling(search_hub) -> None:
    client, _ = search_hub
    found = {q: {r["id"] for r in _records(client, "yaizu-accessible-shops", q)}
             for q in WHEELCHAIR}
    assert found["車椅子"] and all(ids == found["車椅子"] for ids in found.values()), found
    # the spelling the query did not use: 車椅子 finds shops that say 車いす or 車イス only
    texts = [" ".join(str(v) for v in r.values() if isinstance(v, str))
             for r in _records(client, "yaizu-accessible-shops", "車椅子")]
    assert any("車椅子" not in t and ("車いす" in t or "車イス" in t) for t in texts), texts


def test_records_q_finds_takamatsu_toilets_named_benjo(search_hub) -> None:
    client, _ = search_hub
    named_benjo = _records(client, "takamatsu-public-toilets", "公衆便所")
    assert named_benjo
    assert ({r["id"] for r in _records(client, "takamatsu-public-toilets", "公衆トイレ")}
            >= {r["id"] for r in named_benjo})


def test_versions_record_the_folding_they_were_written_with(search_hub) -> None:
    _, url = search_hub
    engine = create_engine(url)
    with engine.connect() as conn:
        folds = set(conn.execute(text("SELECT search_fold FROM hub.versions")).scalars())
    engine.dispose()
    assert folds == {fold_identity()}
