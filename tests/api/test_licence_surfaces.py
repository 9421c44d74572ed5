"""Every demo dataset states one licence, and every surface says the same thing about it
(and names its organisation the same way).

The whole demo catalogue (datasets/) is published with our own ETL into a fresh database, as
`hub demo` does; then each dataset is read through the v1 API, CKAN's package_show, DCAT
(parsed with rdflib), the Data Package inside its download.zip, the CKAN push plan and the
version's citation. The expected ids are written out here, not derived from hub.licences,
so a change to the table that moves a demo dataset's CKAN id or IRI fails this test.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDFS
from sqlalchemy import Engine, create_engine

from etl.ckan.plan import make_plan
from etl.ckan.source import hub_datasets
from etl.publish import publish
from etl.ridership import publication_order, referenced_keys
from etl.sources import prepare_source
from hub.api.app import create_app
from hub.catalog import DatasetDefinition, load_definitions
from tests.conftest import ROOT, create_test_database, drop_test_database, make_settings

pytestmark = pytest.mark.slow

EU = "http://publications.europa.eu/resource/authority/licence/"
PDL = "https://www.digital.go.jp/resources/open_data/public_data_license_v1.0"
# dataset -> (licence id, CKAN license_id, dct:license IRI or None for a blank node, isopen)
EXPECTED = {
    "bus-ridership-muroran-synthetic": ("CC0-1.0", "cc-zero", EU + "CC0", True),
    "bus-routes-muroran": ("CC-BY-SA-3.0", "cc-by-sa", EU + "CC_BYSA_3_0", True),
    "kobe-aed": ("NOASSERTION", "notspecified", None, False),
    "kobe-subway": ("CC-BY-SA-3.0", "cc-by-sa", EU + "CC_BYSA_3_0", True),
    "kobe-ud-toilets": ("NOASSERTION", "notspecified", None, False),
    "takamatsu-pedestrian-counts": ("CC-BY-3.0", "cc-by", EU + "CC_BY_3_0", True),
    "takamatsu-public-toilets": ("CC-BY-3.0", "cc-by", EU + "CC_BY_3_0", True),
    "yaizu-accessible-shops": ("PDL-1.0", "other-open", PDL, True),
    "yaizu-aed": ("PDL-1.0", "other-open", PDL, True),
    "yaizu-public-facilities": ("PDL-1.0", "other-open", PDL, True),
    "yaizu-public-toilets": ("PDL-1.0", "other-open", PDL, True),
    "yaizu-tourism": ("PDL-1.0", "other-open", PDL, True),
}
DEFINITIONS = load_definitions(ROOT / "datasets", ROOT / "schemas")


@dataclass
class DemoHub:
    client: TestClient
    engine: Engine


def _publish_demo(engine: Engine, definitions: dict[str, DatasetDefinition]) -> None:
    """What `hub demo` does: every dataset, referenced ones first."""
    for dataset_id in publication_order(definitions):
        definition = definitions[dataset_id]
        references = (referenced_keys(engine, definition)
                      if definition.raw.get("references") else None)
        prepared = prepare_source(
            definition, definition.directory / definition.source["file"],
            skip_invalid=bool(definition.source.get("skip_invalid", False)),
            references=references)
        publish(engine, prepared, publisher="test")


@pytest.fixture(scope="module")
def demo(pg_cluster, tmp_path_factory) -> Iterator[DemoHub]:
    url = create_test_database(pg_cluster)
    folder = tmp_path_factory.mktemp("licences")
    settings = make_settings(url, datasets_dir=ROOT / "datasets", schemas_dir=ROOT / "schemas",
                             artifact_dir=folder / "artifacts")
    engine = create_engine(url)
    _publish_demo(engine, DEFINITIONS)
    with TestClient(create_app(settings)) as client:
        yield DemoHub(client, engine)
    engine.dispose()
    drop_test_database(pg_cluster, url)


def test_every_demo_dataset_is_expected() -> None:
    assert sorted(DEFINITIONS) == sorted(EXPECTED)


@pytest.mark.parametrize("dataset_id", sorted(EXPECTED))
def test_every_surface_states_the_same_licence(demo: DemoHub, dataset_id: str) -> None:
    licence_id, ckan_id, iri, is_open = EXPECTED[dataset_id]
    stated = DEFINITIONS[dataset_id].licence
    assert stated.id == licence_id
    client = demo.client

    v1 = client.get(f"/v1/datasets/{dataset_id}").json()["licence"]
    assert (v1["id"], v1["open"], v1["note"]) == (licence_id, is_open, stated.note)
    title_ja, title_en, url = v1["title"]["ja"], v1["title"]["en"], v1["url"]
    label = title_ja if title_ja == title_en else f"{title_ja} ({title_en})"
    assert (url is None) == (licence_id == "NOASSERTION")

    package = client.get("/api/3/action/package_show", params={"id": dataset_id}).json()
    package = package["result"]
    assert (package["license_id"], package["license_title"], package["isopen"]) == (
        ckan_id, label, is_open)
    assert package["license_url"] == (url or "")
    extras = {e["key"]: e["value"] for e in package["extras"]}
    assert extras["hub_licence"] == licence_id

    graph = Graph().parse(data=client.get(f"/v1/datasets/{dataset_id}/dcat.jsonld").text,
                          format="json-ld")
    [node] = graph.subjects(DCTERMS.identifier, Literal(dataset_id))
    [licence_node] = graph.objects(node, DCTERMS.license)
    if iri is None:
        assert not isinstance(licence_node, URIRef)
    else:
        assert licence_node == URIRef(iri)
    assert set(graph.objects(licence_node, RDFS.label)) == {
        Literal(title_ja, lang="ja"), Literal(title_en, lang="en")}

    download = client.get(f"/v1/datasets/{dataset_id}/versions/1/download.zip")
    assert download.status_code == 200, download.text
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        descriptor = json.loads(archive.read("datapackage.json"))
    expected_package_licence = {"name": licence_id, "title": label}
    if url:
        expected_package_licence["path"] = url
    assert descriptor["licenses"] == [expected_package_licence]

    [pushed] = hub_datasets(demo.engine, "https://hub.example.org", only=[dataset_id])
    [action] = make_plan([pushed], {}, {}).packages
    assert action.desired is not None
    assert action.desired["license_id"] == ckan_id
    assert action.desired["extras"]["hub_licence"] == licence_id

    citation = client.get(f"/v1/datasets/{dataset_id}/versions/1").json()["citation"]
    assert citation["licence"] == v1
    assert label in citation["text"]
    if licence_id in ("PDL-1.0", "NOASSERTION"):  # not on the SPDX list: CFF gets the URL
        assert "license" not in citation["cff"]
        assert citation["cff"].get("license-url") == url
    else:
        assert citation["cff"]["license"] == licence_id

    # The organisation has one name too: CKAN's read API, DCAT's publisher and the push plan.
    organisation = package["organization"]["name"]
    assert action.desired["owner_org"] == organisation
    [publisher] = graph.objects(node, DCTERMS.publisher)
    assert str(publisher).endswith(f"/api/3/action/organization_show?id={organisation}")

    collection = client.get(f"/ogc/collections/{dataset_id}").json()
    assert collection["license"] == licence_id
    licence_links = [link for link in collection["links"] if link["rel"] == "license"]
    assert [link["href"] for link in licence_links] == ([url] if url else [])
