"""The hub's headline question, asked on the home page and the pages of the datasets it joins:
"multipurpose toilets and AEDs within 300 m of the stations of the 西神・山手線".

The question is data (:data:`SEISHIN_YAMATE`): the line as a person names it, the feed that
has it, the radius and the datasets asked about. The answer is the records API's own: the
line's ``route_id`` is looked up in the feed's routes by the name (a records query on the
routes layer), and each dataset's answer is the ``/v1`` records query with ``near_route``
and ``radius`` that the page prints beside it, parsed by the API's parser and run by
:class:`hub.data.Data` (count and table); the map fetches the same URLs as GeoJSON. When a
dataset of the question is not published, the question is not shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection

from hub.api.references import CatalogueReferences
from hub.data import Data, Gone, NotFound
from hub.query.model import PageLimits, QueryError
from hub.query.params import V1, parse_records_query

ROUTES_LAYER = "routes"
ROUTE_ID = "route_id"
# What the table beside the map shows of each record: its name (the API adds the nearest stop
# and the distance to every near_route answer).
NAME_FIELD = "name"
TABLE_ROWS = 10


@dataclass(frozen=True)
class NearLineQuestion:
    """Records of ``datasets`` within ``radius_m`` of the stations of the line a person calls
    ``line_name`` (matched on ``name_field`` of the ``feed``'s routes)."""

    feed: str
    name_field: str
    line_name: str
    radius_m: int
    datasets: tuple[str, ...]

    def concerns(self, dataset_id: str) -> bool:
        return dataset_id == self.feed or dataset_id in self.datasets


SEISHIN_YAMATE = NearLineQuestion(feed="kobe-subway", name_field="route_short_name",
                                  line_name="西神・山手線", radius_m=300,
                                  datasets=("kobe-ud-toilets", "kobe-aed"))


@dataclass(frozen=True)
class Answer:
    """One dataset's part of the answer: how many, the first rows, and the API call."""

    dataset_id: str
    title: dict[str, str]
    count: int
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    api_url: str
    geojson_url: str


def route_id(data: Data, conn: Connection, question: NearLineQuestion,
             limits: PageLimits) -> str | None:
    """The feed's ``route_id`` of the line, found by its name in the routes layer with a
    records query (``route_short_name=西神・山手線``); None when no route has that name."""
    routes = data.layer(question.feed, None, ROUTES_LAYER, conn)
    query = parse_records_query([(question.name_field, question.line_name),
                                 ("fields", ROUTE_ID), ("limit", "1")],
                                routes.schema, has_geometry=routes.has_geometry,
                                limits=limits, dialect=V1)
    page = data.records(routes, query, "csv", conn)
    if not page.rows:
        return None
    return str(page.rows[0][page.csv_columns.index(ROUTE_ID)])


def near_line_items(question: NearLineQuestion, route: str) -> list[tuple[str, str]]:
    """The records query of the question, as query-string pairs (page and API alike)."""
    return [("near_route", f"{question.feed}:{route}"), ("radius", str(question.radius_m)),
            ("sort", "distance_m")]


def records_url(dataset_id: str, items: list[tuple[str, str]]) -> str:
    return f"/v1/datasets/{dataset_id}/records?{urlencode(items)}"


def answer_question(data: Data, conn: Connection, question: NearLineQuestion,
           limits: PageLimits) -> dict[str, Any] | None:
    """The question's answer for the page, or None when a dataset of it (or the line) is
    missing. Each dataset's count and rows come from the query its ``api_url`` names.

    Published versions never change, so the answer is kept per process for the current
    versions' content hashes (one light state query per dataset decides whether it still
    holds); a publish or withdrawal of any of them makes the next page ask again."""
    try:
        identity = (question, limits.maximum, *(
            (v.dataset_id, v.version, v.content_sha256) for v in (
                data.version(d, None, conn) for d in (question.feed, *question.datasets))))
    except (NotFound, Gone):
        return None
    if identity not in _ANSWERS:
        if len(_ANSWERS) >= ANSWERS_KEPT:
            _ANSWERS.clear()
        _ANSWERS[identity] = _answer(data, conn, question, limits)
    return _ANSWERS[identity]


# (question, page maximum, (dataset, version, content hash) of each dataset) -> answer
_ANSWERS: dict[tuple[Any, ...], dict[str, Any] | None] = {}
ANSWERS_KEPT = 64


def _answer(data: Data, conn: Connection, question: NearLineQuestion,
            limits: PageLimits) -> dict[str, Any] | None:
    try:
        route = route_id(data, conn, question, limits)
        if route is None:
            return None
        items = near_line_items(question, route)
        resolver = CatalogueReferences(data, conn)
        answers = []
        for dataset_id in question.datasets:
            dataset = data.dataset(dataset_id, conn)
            version = data.version(dataset_id, None, conn)
            shown = [("fields", NAME_FIELD)] if NAME_FIELD in version.schema.field_names else []
            table_items = [*items, *shown, ("limit", str(TABLE_ROWS))]
            table = parse_records_query(table_items, version.schema,
                                        has_geometry=version.has_geometry, limits=limits,
                                        dialect=V1, resolver=resolver)
            page = data.records(version, table, "csv", conn)
            # The API's one counting rule: exact up to HUB_COUNT_CAP, else unknown. The
            # question states a count, so past the cap it is not shown rather than guessed.
            count = data.number_matched(version, table, page, conn)
            if count is None:
                return None
            answers.append(Answer(
                dataset_id=dataset_id,
                title={"ja": dataset["title_ja"] or "", "en": dataset["title_en"] or ""},
                count=count,
                columns=tuple(c for c in page.csv_columns if c != "geometry"),
                rows=[tuple(v for c, v in zip(page.csv_columns, row, strict=True)
                            if c != "geometry") for row in page.rows],
                api_url=records_url(dataset_id, items),
                geojson_url=records_url(dataset_id, [*items, ("f", "geojson"),
                                                     ("limit", str(limits.maximum))])))
    except (NotFound, Gone, QueryError):
        return None
    feed = f"/v1/datasets/{question.feed}"
    return {
        "line": question.line_name,
        "radius": question.radius_m,
        "route_id": route,
        "feed": question.feed,
        "answers": answers,
        "map": {
            "line": f"{feed}/records?{urlencode([(ROUTE_ID, route), ('f', 'geojson')])}",
            "stations": f"{feed}/routes/{route}/stops?"
                        + urlencode([("f", "geojson"), ("limit", str(limits.maximum))]),
            "layers": [{"id": a.dataset_id, "url": a.geojson_url} for a in answers],
        },
    }
