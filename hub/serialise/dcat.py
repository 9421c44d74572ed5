"""DCAT-AP 3 (pure): catalogue rows -> an rdflib graph -> JSON-LD or Turtle.

One ``dcat:Dataset`` per hub dataset (its current version's bulk files as distributions),
each published version as its own ``dcat:Dataset`` linked with DCAT 3's versioning
properties (``dcat:hasVersion``, ``dcat:hasCurrentVersion``, ``dcat:isVersionOf``,
``dcat:previousVersion``, ``dcat:version``). Titles, descriptions and keywords carry ``@ja``
/ ``@en`` tags; licences are IRIs where the licence is known (the EU licence authority's,
else the licence's own page; ``hub.licences`` decides); publishers are ``foaf:Agent``s with a
vCard contact point; the stored bbox is ``dct:spatial`` with a ``dcat:bbox`` WKT literal;
byte size and ``spdx:checksum`` are given when the file is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from hub.catalog import Licence, Organisation, organisation_of

# DCAT 3 versioning terms are not in rdflib's closed DCAT namespace object; same IRIs.
DCAT3 = Namespace(str(DCAT))
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
IANA_MEDIA = "https://www.iana.org/assignments/media-types/"
EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
SHA256 = SPDX.checksumAlgorithm_sha256

# The EU file-type authority codes for our bulk formats (dct:format).
FILE_TYPES = {"csv": "CSV", "excel.csv": "CSV", "geojson": "GEOJSON", "parquet": "PARQUET",
              "gpkg": "GPKG", "zip": "ZIP"}

JSONLD_CONTEXT = {
    "dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "vcard": str(VCARD),
    "spdx": str(SPDX), "adms": str(ADMS), "xsd": str(XSD), "rdfs": str(RDFS),
    "gsp": str(GSP), "locn": str(LOCN), "dcatap": str(DCATAP),
}


@dataclass(frozen=True)
class Distribution:
    """A bulk file of a version (from the exporter's manifest, or the URL pattern)."""

    format: str
    title: str
    media_type: str
    url: str  # absolute download URL
    layer: str | None = None
    bytes: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class VersionEntry:
    number: int
    published_at: datetime | None
    row_count: int
    content_sha256: str
    distributions: tuple[Distribution, ...] = ()


@dataclass(frozen=True)
class DatasetEntry:
    """What the catalogue says about one dataset, plus its published versions."""

    row: dict[str, Any]  # hub.datasets row (+ bbox of the current version)
    current: VersionEntry
    versions: tuple[VersionEntry, ...] = field(default_factory=tuple)  # newest first
    bbox: tuple[float, float, float, float] | None = None


# -- the graph ---------------------------------------------------------------------------------


def _lang(value: str) -> str:
    return "en" if value.isascii() else "ja"


def _texts(graph: Graph, subject: URIRef, predicate: URIRef, ja: str | None,
           en: str | None) -> None:
    if ja:
        graph.add((subject, predicate, Literal(ja, lang="ja")))
    if en and en != ja:
        graph.add((subject, predicate, Literal(en, lang="en")))


def _datetime(value: Any) -> Literal:
    return Literal(value.isoformat() if hasattr(value, "isoformat") else str(value),
                   datatype=XSD.dateTime)


def _bbox_wkt(bbox: tuple[float, float, float, float]) -> str:
    w, s, e, n = bbox
    return f"POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))"


class _Builder:
    def __init__(self, base: str) -> None:
        self.base = base
        self.graph = Graph()
        for prefix, namespace in JSONLD_CONTEXT.items():
            self.graph.bind(prefix, namespace)
        self.agents: dict[str, URIRef] = {}
        self.distributions: set[URIRef] = set()

    def agent(self, organisation: Organisation) -> URIRef:
        if organisation.name in self.agents:
            return self.agents[organisation.name]
        node = URIRef(f"{self.base}/api/3/action/organization_show?id={organisation.name}")
        g = self.graph
        g.add((node, RDF.type, FOAF.Agent))
        g.add((node, RDF.type, FOAF.Organization))
        g.add((node, FOAF.name, Literal(organisation.title, lang=_lang(organisation.title))))
        if organisation.title_en:
            g.add((node, FOAF.name, Literal(organisation.title_en, lang="en")))
        kind = URIRef("http://purl.org/adms/publishertype/LocalAuthority")
        g.add((node, DCTERMS.type, kind))
        g.add((kind, RDF.type, SKOS.Concept))
        g.add((kind, SKOS.prefLabel, Literal("Local Authority", lang="en")))
        self.agents[organisation.name] = node
        return node

    def contact(self, organisation: Organisation, source: dict[str, Any]) -> BNode:
        node = BNode()
        g = self.graph
        g.add((node, RDF.type, VCARD.Kind))
        g.add((node, RDF.type, VCARD.Organization))
        g.add((node, VCARD.fn, Literal(organisation.display)))
        url = source.get("repository") or source.get("url")
        if url:
            g.add((node, VCARD.hasURL, URIRef(url)))
        return node

    def licence(self, licence: Licence) -> URIRef | BNode:
        iri = licence.dcat_iri
        node: URIRef | BNode = URIRef(iri) if iri else BNode()
        self.graph.add((node, RDF.type, DCTERMS.LicenseDocument))
        _texts(self.graph, node, RDFS.label, licence.title_ja, licence.title_en)
        return node

    def distribution(self, dist: Distribution, licence_node: URIRef | BNode) -> URIRef:
        g = self.graph
        node = URIRef(f"{dist.url}#distribution")
        if node in self.distributions:  # the current version's files, listed twice
            return node
        self.distributions.add(node)
        g.add((node, RDF.type, DCAT.Distribution))
        g.add((node, DCAT.accessURL, URIRef(dist.url)))
        g.add((node, DCAT.downloadURL, URIRef(dist.url)))
        # DCAT-AP's shapes check the class of these values (sh:class rdfs:Resource).
        g.add((URIRef(dist.url), RDF.type, RDFS.Resource))
        g.add((node, DCTERMS.title, Literal(dist.title + (f" — {dist.layer}" if dist.layer
                                                          else ""), lang="en")))
        g.add((node, DCTERMS.description, Literal(
            f"Bulk file ({dist.title}) of this version" + (f", layer {dist.layer}"
                                                           if dist.layer else ""), lang="en")))
        media = dist.media_type.split(";")[0].strip()
        g.add((node, DCAT.mediaType, URIRef(IANA_MEDIA + media)))
        g.add((URIRef(IANA_MEDIA + media), RDF.type, DCTERMS.MediaType))
        if dist.format in FILE_TYPES:
            file_type = URIRef(EU_FILE_TYPE + FILE_TYPES[dist.format])
            g.add((node, DCTERMS.format, file_type))
            g.add((file_type, RDF.type, DCTERMS.MediaTypeOrExtent))
        g.add((node, DCTERMS.license, licence_node))
        if dist.bytes is not None:
            g.add((node, DCAT.byteSize, Literal(dist.bytes, datatype=XSD.nonNegativeInteger)))
        if dist.sha256:
            checksum = BNode()
            g.add((node, SPDX.checksum, checksum))
            g.add((checksum, RDF.type, SPDX.Checksum))
            g.add((checksum, SPDX.algorithm, SHA256))
            g.add((SHA256, RDF.type, SPDX.ChecksumAlgorithm))
            g.add((checksum, SPDX.checksumValue, Literal(dist.sha256, datatype=XSD.hexBinary)))
        return node

    def dataset(self, entry: DatasetEntry) -> URIRef:
        g, row = self.graph, entry.row
        dataset_id = row["id"]
        url = f"{self.base}/v1/datasets/{dataset_id}"
        node = URIRef(url)
        definition = row.get("definition") or {}
        source = definition.get("source") or {}
        organisation = organisation_of(row["organisation"])
        licence_node = self.licence(Licence.from_columns(row))
        publisher = self.agent(organisation)

        def describe(subject: URIRef, suffix_ja: str = "", suffix_en: str = "") -> None:
            g.add((subject, RDF.type, DCAT.Dataset))
            _texts(g, subject, DCTERMS.title, row["title_ja"] + suffix_ja,
                   row["title_en"] + suffix_en)
            _texts(g, subject, DCTERMS.description, row["description_ja"] or row["title_ja"],
                   row["description_en"] or row["title_en"])
            g.add((subject, DCTERMS.publisher, publisher))
            g.add((subject, DCAT.contactPoint, self.contact(organisation, source)))
            g.add((subject, DCTERMS.license, licence_node))
            for keyword in row.get("keywords") or ():
                g.add((subject, DCAT.keyword, Literal(keyword, lang=_lang(keyword))))
            if entry.bbox:
                location = BNode()
                g.add((subject, DCTERMS.spatial, location))
                g.add((location, RDF.type, DCTERMS.Location))
                g.add((location, DCAT.bbox, Literal(_bbox_wkt(entry.bbox),
                                                    datatype=GSP.wktLiteral)))
            if source.get("url") or source.get("attribution"):
                # Where the city published it (DCAT-AP's dct:source is for dcat:Datasets).
                provenance = BNode()
                g.add((subject, DCTERMS.provenance, provenance))
                g.add((provenance, RDF.type, DCTERMS.ProvenanceStatement))
                g.add((provenance, RDFS.label, Literal(
                    source.get("attribution") or source["url"])))
                if source.get("url"):
                    g.add((provenance, RDFS.seeAlso, URIRef(source["url"])))

        describe(node)
        g.add((node, DCTERMS.identifier, Literal(dataset_id)))
        g.add((node, DCAT.landingPage, URIRef(url)))
        g.add((URIRef(url), RDF.type, FOAF.Document))
        g.add((node, DCTERMS.issued, _datetime(row["created_at"])))
        g.add((node, DCTERMS.modified, _datetime(row["updated_at"])))
        g.add((node, DCAT3.version, Literal(str(entry.current.number))))
        for dist in entry.current.distributions:
            g.add((node, DCAT.distribution, self.distribution(dist, licence_node)))

        newer: URIRef | None = None
        for version in entry.versions:  # newest first
            v_node = URIRef(f"{url}/versions/{version.number}")
            describe(v_node, f"（第{version.number}版）", f" (version {version.number})")
            g.add((v_node, DCTERMS.identifier, Literal(f"{dataset_id}@v{version.number}")))
            g.add((v_node, DCAT3.version, Literal(str(version.number))))
            g.add((v_node, DCAT3.isVersionOf, node))
            g.add((node, DCAT3.hasVersion, v_node))
            if version.number == entry.current.number:
                g.add((node, DCAT3.hasCurrentVersion, v_node))
            if version.published_at is not None:
                g.add((v_node, DCTERMS.issued, _datetime(version.published_at)))
            g.add((v_node, ADMS.versionNotes, Literal(
                f"{version.row_count} records; content SHA-256 {version.content_sha256}",
                lang="en")))
            if newer is not None:
                g.add((newer, DCAT3.previousVersion, v_node))
            for dist in version.distributions:
                g.add((v_node, DCAT.distribution, self.distribution(dist, licence_node)))
            newer = v_node
        return node


def catalogue_graph(entries: list[DatasetEntry], base: str, *, title_ja: str,
                    title_en: str, publisher: str) -> Graph:
    """The whole catalogue as a ``dcat:Catalog`` with its datasets."""
    builder = _Builder(base)
    g = builder.graph
    catalog = URIRef(f"{base}/catalog")
    g.add((catalog, RDF.type, DCAT.Catalog))
    _texts(g, catalog, DCTERMS.title, title_ja, title_en)
    _texts(g, catalog, DCTERMS.description,
           "市のオープンデータ。公開ごとに不変の版を持つ。",
           "The city's open data; every publish is an immutable version.")
    g.add((catalog, DCTERMS.publisher, builder.agent(organisation_of(publisher))))
    g.add((catalog, FOAF.homepage, URIRef(f"{base}/")))
    g.add((URIRef(f"{base}/"), RDF.type, FOAF.Document))
    for code in ("JPN", "ENG"):
        language = URIRef(f"http://publications.europa.eu/resource/authority/language/{code}")
        g.add((catalog, DCTERMS.language, language))
        g.add((language, RDF.type, DCTERMS.LinguisticSystem))
    if entries:
        g.add((catalog, DCTERMS.modified,
               _datetime(max(e.row["updated_at"] for e in entries))))
    for entry in entries:
        g.add((catalog, DCAT.dataset, builder.dataset(entry)))
    return g


def dataset_graph(entry: DatasetEntry, base: str) -> Graph:
    """One dataset (with its versions and distributions) on its own."""
    builder = _Builder(base)
    builder.dataset(entry)
    return builder.graph


RDF_FORMATS = {"jsonld": ("json-ld", "application/ld+json"),
               "ttl": ("turtle", "text/turtle; charset=utf-8")}


def serialise(graph: Graph, fmt: str) -> bytes:
    """``jsonld`` (compacted with our prefixes) or ``ttl``."""
    if fmt == "jsonld":
        return graph.serialize(format="json-ld", context=JSONLD_CONTEXT,
                               auto_compact=True).encode("utf-8")
    return graph.serialize(format="turtle").encode("utf-8")
