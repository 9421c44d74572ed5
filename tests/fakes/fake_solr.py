"""FakeSolr: a small in-memory stand-in for the Solr core CKAN indexes into. TEST ONLY.

Solr is not available from the package registries this project may use, so the CKAN used in
the integration tests (real CKAN code, its own PostgreSQL database, real Redis) points its
``solr_url`` at this fake. It answers exactly the calls CKAN 2.11 makes through pysolr:

- ``GET <core>/schema?wt=schema.xml``: a schema whose name is ``ckan-2.11`` (CKAN checks it).
- ``GET|POST <core>/select``: ``q`` / ``fq`` (a subset of the Lucene syntax: ``+``/``-``
  prefixes, ``AND``/``OR``/``NOT``, ``field:value``, ``field:"phrase"``, ``field:(a OR b)``,
  ``*:*``, ``value*`` prefixes, ranges are treated as "field present"), dismax free text over
  ``qf`` (every term must match a field), ``rows``/``start``, ``sort`` by stored fields,
  ``fl``, and ``facet.field`` counts with ``facet.mincount``/``facet.limit``.
- ``POST <core>/update``: XML (``<add><doc>``, ``<delete><id|query>``, ``<commit/>``) and JSON
  (a list of documents, or ``{"add": ..., "delete": ..., "commit": {}}``).

It is no search engine: no scoring, no analysis beyond lower-cased word tokens. Documents are
kept by their ``index_id`` (CKAN's uniqueKey) and visible immediately (commits are no-ops).
Run it in-process with :class:`FakeSolr` or standalone: ``python tests/fakes/fake_solr.py PORT``.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SCHEMA_XML = '<?xml version="1.0" encoding="UTF-8"?>\n<schema name="ckan-2.11" version="1.6"/>\n'
UNIQUE_KEY = "index_id"
# Fields CKAN's schema.xml declares multiValued (returned as lists even with one value).
MULTI_VALUED = {"tags", "groups", "permission_labels", "res_name", "res_description",
                "res_format", "res_url", "res_type", "text", "urls"}
MULTI_VALUED_PREFIXES = ("res_extras_", "vocab_")
# Fields analysed as text in CKAN's schema (matched by tokens, not exactly).
TEXT_FIELDS = {"title", "notes", "author", "author_email", "maintainer", "maintainer_email",
               "res_name", "res_description", "text", "urls"}
_TOKEN = re.compile(r"\w+", re.UNICODE)


def _tokens(value: str) -> list[str]:
    return _TOKEN.findall(value.lower())


def _values(doc: dict[str, Any], name: str) -> list[str]:
    if name == "text":  # the catch-all copy field: every stored value of the document
        return [str(v) for key, vals in doc.items() if key not in ("data_dict",
                "validated_data_dict") for v in (vals if isinstance(vals, list) else [vals])]
    value = doc.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


# -- a small Lucene query parser --------------------------------------------------------------


@dataclass
class Term:
    field: str | None  # None: default fields
    value: str  # "*" matches any value; a trailing "*" is a prefix
    phrase: bool = False


@dataclass
class Clause:
    occur: str  # "must", "should", "must_not"
    node: Any  # Term | BoolQuery


@dataclass
class BoolQuery:
    clauses: list[Clause]


_LEX = re.compile(r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<phrase>"(?:[^"\\]|\\.)*")'
                  r"|(?P<range>[\[{][^\]}]*[\]}])|(?P<word>(?:[^\s()\"\\]|\\.)+))")


def _lex(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _LEX.match(text, pos)
        if not match or match.end() == pos:
            if text[pos:].strip() == "":
                break
            raise ValueError(f"cannot parse query at {text[pos:]!r}")
        pos = match.end()
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
    return tokens


class _Parser:
    def __init__(self, text: str, default_op: str) -> None:
        self.tokens = _lex(text)
        self.pos = 0
        self.default_op = default_op

    def parse(self) -> BoolQuery:
        query = self._sequence(field=None)
        if self.pos != len(self.tokens):
            raise ValueError("unbalanced parentheses in query")
        return query

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _sequence(self, field: str | None) -> BoolQuery:
        clauses: list[Clause] = []
        saw_or = False
        pending_and = False
        while (token := self._peek()) is not None and token[0] != "rp":
            kind, text = token
            if kind == "word" and text in ("AND", "&&"):
                self.pos += 1
                pending_and = True
                if clauses and clauses[-1].occur == "should":
                    clauses[-1].occur = "must"
                continue
            if kind == "word" and text in ("OR", "||"):
                self.pos += 1
                saw_or = True
                continue
            occur = "default"
            if kind == "word" and text in ("NOT", "!"):
                self.pos += 1
                occur = "must_not"
                kind, text = self._peek() or ("word", "")
            if kind == "word" and text[:1] in "+-" and len(text) > 1:
                occur = "must" if text[0] == "+" else "must_not"
                text = text[1:]
                self.tokens[self.pos] = (kind, text)
            elif kind == "word" and text in ("+", "-"):
                occur = "must" if text == "+" else "must_not"
                self.pos += 1
                kind, text = self._peek() or ("word", "")
            if pending_and and occur == "default":
                occur = "must"
            pending_and = False
            clauses.append(Clause(occur, self._atom(field)))
        for clause in clauses:
            if clause.occur == "default":
                clause.occur = "should" if saw_or or self.default_op == "OR" else "must"
        return BoolQuery(clauses)

    def _atom(self, field: str | None) -> Any:
        kind, text = self.tokens[self.pos]
        self.pos += 1
        if kind == "lp":
            inner = self._sequence(field)
            self._expect_rp()
            return inner
        if kind == "phrase":
            return Term(field, _unescape(text[1:-1]), phrase=True)
        if kind == "range":
            return Term(field, "*")
        # field:value, field:"phrase", field:(...), or a bare value
        match = re.match(r"^((?:[^:\\]|\\.)+):(.*)$", text)
        if match and field is None:
            name, rest = match.group(1), match.group(2)
            if rest == "":
                nxt = self._peek()
                if nxt is None:
                    return Term(None, _unescape(name))
                nkind, ntext = nxt
                self.pos += 1
                if nkind == "lp":
                    inner = self._sequence(name)
                    self._expect_rp()
                    return inner
                if nkind == "phrase":
                    return Term(name, _unescape(ntext[1:-1]), phrase=True)
                if nkind == "range":
                    return Term(name, "*")
                return Term(name, _unescape(ntext))
            return Term(name, _unescape(rest))
        return Term(field, _unescape(text))

    def _expect_rp(self) -> None:
        token = self._peek()
        if token is None or token[0] != "rp":
            raise ValueError("missing ')' in query")
        self.pos += 1


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_query(text: str, default_op: str = "AND") -> BoolQuery:
    """Parse a Lucene query (the subset CKAN sends) into clauses."""
    return _Parser(text, default_op).parse()


def _term_matches(term: Term, doc: dict[str, Any], default_fields: list[str]) -> bool:
    if term.field == "*" and term.value == "*":
        return True
    fields = [term.field] if term.field else default_fields
    for name in fields:
        values = _values(doc, name)
        if term.value == "*":
            if values:
                return True
            continue
        wanted = term.value.lower()
        for value in values:
            lowered = value.lower()
            if wanted.endswith("*") and not term.phrase:
                if lowered.startswith(wanted[:-1]) or any(
                        t.startswith(wanted[:-1]) for t in _tokens(value)):
                    return True
            elif lowered == wanted:
                return True
            elif name in TEXT_FIELDS or name.startswith(("extras_", "res_extras_")) \
                    or term.field is None:
                wanted_tokens = _tokens(term.value)
                have = _tokens(value)
                if wanted_tokens and all(t in have for t in wanted_tokens):
                    return True
    return False


def matches(query: Any, doc: dict[str, Any], default_fields: list[str]) -> bool:
    """Does ``doc`` satisfy the parsed ``query``?"""
    if isinstance(query, Term):
        return _term_matches(query, doc, default_fields)
    musts = [c for c in query.clauses if c.occur == "must"]
    shoulds = [c for c in query.clauses if c.occur == "should"]
    nots = [c for c in query.clauses if c.occur == "must_not"]
    if any(matches(c.node, doc, default_fields) for c in nots):
        return False
    if not all(matches(c.node, doc, default_fields) for c in musts):
        return False
    if shoulds and not musts:
        return any(matches(c.node, doc, default_fields) for c in shoulds)
    if not musts and not shoulds:
        return bool(nots)  # a purely negative query matches everything not excluded
    return True


# -- the index --------------------------------------------------------------------------------


class SolrIndex:
    """Documents of one core, keyed by CKAN's uniqueKey."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.requests: list[str] = []  # "select" / "update" / "schema", for tests

    def add(self, doc: dict[str, Any]) -> None:
        key = str(doc.get(UNIQUE_KEY) or doc.get("id"))
        with self.lock:
            self.docs[key] = doc

    def delete_id(self, key: str) -> None:
        with self.lock:
            self.docs.pop(key, None)

    def delete_query(self, query: str) -> None:
        parsed = parse_query(query)
        with self.lock:
            for key in [k for k, d in self.docs.items() if matches(parsed, d, ["text"])]:
                del self.docs[key]

    def select(self, params: dict[str, list[str]]) -> dict[str, Any]:
        def one(name: str, default: str = "") -> str:
            return params.get(name, [default])[0]

        q = one("q", "*:*") or "*:*"
        default_op = one("q.op", "AND").upper()
        if one("defType") in ("dismax", "edismax") and ":" not in q:
            qf = [f.split("^")[0] for f in one("qf", "text").split()]
            query: Any = BoolQuery([Clause("must", Term(None, t)) for t in q.split()])
            default_fields = qf
        else:
            query = parse_query(q, default_op)
            default_fields = [one("df", "text")]
        filters = [parse_query(fq, "AND") for fq in params.get("fq", []) if fq.strip()]
        with self.lock:
            docs = list(self.docs.values())
        found = [d for d in docs if matches(query, d, default_fields)
                 and all(matches(f, d, ["text"]) for f in filters)]
        for part in reversed([p.strip() for p in one("sort").split(",") if p.strip()]):
            name, _, direction = part.partition(" ")
            if name == "score":
                continue
            found.sort(key=lambda d, n=name: (_values(d, n) or [""])[0].lower(),
                       reverse=direction.strip().lower() == "desc")
        start, rows = int(one("start", "0") or 0), int(one("rows", "10") or 10)
        page = found[start:start + rows]
        fl = [f for f in re.split(r"[\s,]+", one("fl", "*")) if f]
        result: dict[str, Any] = {
            "responseHeader": {"status": 0, "QTime": 0},
            "response": {"numFound": len(found), "start": start,
                         "docs": [_project(d, fl) for d in page]},
        }
        if one("facet", "false").lower() == "true" and params.get("facet.field"):
            mincount = int(one("facet.mincount", "1") or 1)
            limit = int(one("facet.limit", "50") or 50)
            fields: dict[str, list[Any]] = {}
            for name in _facet_fields(params["facet.field"]):
                counts: dict[str, int] = {}
                for doc in found:
                    for value in set(_values(doc, name)):
                        counts[value] = counts.get(value, 0) + 1
                ordered = sorted((kv for kv in counts.items() if kv[1] >= mincount),
                                 key=lambda kv: (-kv[1], kv[0]))
                if limit >= 0:
                    ordered = ordered[:limit]
                fields[name] = [x for kv in ordered for x in kv]
            result["facet_counts"] = {"facet_queries": {}, "facet_fields": fields,
                                      "facet_ranges": {}, "facet_intervals": {},
                                      "facet_heatmaps": {}}
        return result


def _facet_fields(raw: list[str]) -> list[str]:
    names: list[str] = []
    for item in raw:
        if item.startswith("["):  # a JSON list passed as one value
            names.extend(json.loads(item))
        else:
            names.append(item)
    return names


def _project(doc: dict[str, Any], fl: list[str]) -> dict[str, Any]:
    if "*" in fl:
        return dict(doc)
    return {k: doc[k] for k in fl if k in doc}


def _is_multi(name: str) -> bool:
    return name in MULTI_VALUED or name.startswith(MULTI_VALUED_PREFIXES)


def _docs_from_xml(element: ET.Element) -> list[dict[str, Any]]:
    docs = []
    for doc_el in element.iter("doc"):
        doc: dict[str, Any] = {}
        for field_el in doc_el.findall("field"):
            name, value = field_el.get("name", ""), field_el.text or ""
            if name in doc:
                if not isinstance(doc[name], list):
                    doc[name] = [doc[name]]
                doc[name].append(value)
            else:
                doc[name] = [value] if _is_multi(name) else value
        docs.append(doc)
    return docs


def apply_update(index: SolrIndex, body: bytes, content_type: str) -> None:
    """Apply one /update message (XML or JSON) to ``index``."""
    text = body.decode("utf-8") if body else ""
    if not text.strip():
        return
    if "json" in content_type or text.lstrip()[:1] in "[{":
        data = json.loads(text)
        if isinstance(data, list):
            for doc in data:
                index.add(doc)
            return
        for command, value in data.items():
            if command == "add":
                for item in value if isinstance(value, list) else [value]:
                    index.add(item.get("doc", item))
            elif command == "delete":
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str):
                        index.delete_id(item)
                    elif "id" in item:
                        index.delete_id(item["id"])
                    elif "query" in item:
                        index.delete_query(item["query"])
        return
    root = ET.fromstring(text)
    elements = [root] if root.tag != "update" else list(root)
    for element in elements:
        if element.tag == "add":
            for doc in _docs_from_xml(element):
                index.add(doc)
        elif element.tag == "delete":
            for child in element:
                if child.tag == "id" and child.text:
                    index.delete_id(child.text)
                elif child.tag == "query" and child.text:
                    index.delete_query(child.text)
        # <commit/> and <optimize/>: documents are visible at once


# -- HTTP -------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    index: SolrIndex  # set on the subclass FakeSolr makes

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _reply(self, status: int, body: str, content_type: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        params = parse_qs(url.query, keep_blank_values=True)
        body = b""
        if method == "POST":
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        handler = url.path.rstrip("/").rsplit("/", 1)[-1]
        content_type = self.headers.get("Content-Type", "")
        try:
            if handler == "schema":
                self.index.requests.append("schema")
                self._reply(200, SCHEMA_XML, "application/xml; charset=utf-8")
            elif handler == "select":
                self.index.requests.append("select")
                if method == "POST" and "x-www-form-urlencoded" in content_type:
                    for key, values in parse_qs(body.decode("utf-8"),
                                                keep_blank_values=True).items():
                        params.setdefault(key, []).extend(values)
                result = self.index.select(params)
                self._reply(200, json.dumps(result), "application/json; charset=utf-8")
            elif handler == "update":
                self.index.requests.append("update")
                apply_update(self.index, body, content_type)
                self._reply(200, json.dumps({"responseHeader": {"status": 0, "QTime": 0}}),
                            "application/json; charset=utf-8")
            elif handler == "ping":
                self._reply(200, json.dumps({"status": "OK"}), "application/json")
            else:
                self._reply(404, json.dumps({"error": {"msg": f"no handler {handler}",
                                                       "code": 404}}), "application/json")
        except (ValueError, ET.ParseError) as exc:
            self._reply(400, json.dumps({"error": {"msg": str(exc), "code": 400}}),
                        "application/json; charset=utf-8")

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")


class FakeSolr:
    """An in-memory Solr stand-in on ``127.0.0.1:port`` (0: pick a free one). TEST ONLY."""

    def __init__(self, port: int = 0, core: str = "ckan") -> None:
        self.index = SolrIndex()
        handler = type("FakeSolrHandler", (_Handler,), {"index": self.index})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.core = core
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The value for CKAN's ``solr_url``."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/solr/{self.core}"

    def start(self) -> FakeSolr:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name="fake-solr")
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":  # pragma: no cover - standalone use
    solr = FakeSolr(int(sys.argv[1]) if len(sys.argv) > 1 else 8983)
    print(f"FakeSolr (test stand-in) on {solr.url}", flush=True)
    solr.server.serve_forever()
