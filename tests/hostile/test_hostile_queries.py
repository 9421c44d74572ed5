"""Hostile queries through the real app: filters nested to blow a parser's stack, polygons
of a million vertices, self-intersecting rings, absurd limits and cursors. Each is a 400
problem naming the parameter and the bound, answered before the database does any work."""

from __future__ import annotations

import math

import pytest

from hub.catalog import TableSchema
from hub.query.cql2 import parse_cql2
from hub.query.geometry_input import MAX_QUERY_VERTICES
from hub.query.model import PageLimits, QueryError
from hub.query.params import parse_records_query
from tests.api.conftest import Hub

RECORDS = "/v1/datasets/test-shops/versions/1/records"
ITEMS = "/ogc/collections/test-shops/items"


SCHEMA = TableSchema.from_json({"fields": [{"name": "name", "type": "string"}]})


def problem(response, status: int, *fragments: str) -> dict:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    for fragment in fragments:
        assert fragment in body["detail"], body["detail"]
    return body


def ring(vertices: int, lon: float = 139.70, lat: float = 35.66, r: float = 0.01) -> str:
    points = [(lon + r * math.cos(2 * math.pi * i / vertices),
               lat + r * math.sin(2 * math.pi * i / vertices)) for i in range(vertices)]
    points.append(points[0])
    return "POLYGON((" + ",".join(f"{x:.6f} {y:.6f}" for x, y in points) + "))"


@pytest.mark.parametrize("depth", [101, 5000])
def test_a_deeply_nested_cql2_filter_is_400(hub: Hub, depth: int) -> None:
    cql = "(" * depth + "階数 > 1" + ")" * depth
    problem(hub.client.get(ITEMS, params={"filter": cql, "filter-lang": "cql2-text"}), 400,
            "nested more than 100 levels")
    nots = "NOT " * depth + "階数 > 1"
    problem(hub.client.get(ITEMS, params={"filter": nots, "filter-lang": "cql2-text"}), 400,
            "nested more than 100 levels")


def _records(pairs: list[tuple[str, str]]) -> None:
    parse_records_query(pairs, SCHEMA, has_geometry=True,
                        limits=PageLimits(default=10, maximum=100, max_radius_m=1000))


def _cql2(text: str) -> None:
    parse_cql2(text, "cql2-text", SCHEMA, has_geometry=True)


# A URL cannot carry these (uvicorn refuses a request line past 16 KB and httpx past 64 KB),
# so the parsers that every surface calls are driven directly.
def test_a_polygon_of_a_million_vertices_is_refused_before_it_is_used() -> None:
    huge = ring(1_000_000)
    with pytest.raises(QueryError, match="1,000,001 vertices"):
        _records([("within", huge)])
    with pytest.raises(QueryError, match="filter is longer than"):  # refused by length first
        _cql2(f"S_INTERSECTS(geometry, {huge})")


def test_the_vertex_bound_is_the_same_for_parameters_and_filters() -> None:
    fits, too_many = ring(MAX_QUERY_VERTICES - 1), ring(MAX_QUERY_VERTICES)  # + closing point
    _records([("within", fits)])
    with pytest.raises(QueryError, match="10,001 vertices"):
        _records([("within", too_many)])
    # Whole-degree vertices keep a 10,001-vertex filter under the filter's length bound.
    short = "POLYGON((" + ",".join(f"{i % 90} {i % 45}" for i in range(MAX_QUERY_VERTICES))
    with pytest.raises(QueryError, match="10,001 vertices"):
        _cql2(f"S_WITHIN(geometry, {short},0 0)))")


def test_a_self_intersecting_polygon_is_400_on_every_surface(hub: Hub) -> None:
    bowtie = "POLYGON((139.70 35.66, 139.71 35.67, 139.71 35.66, 139.70 35.67, 139.70 35.66))"
    problem(hub.client.get(RECORDS, params={"within": bowtie}), 400, "Self-intersection")
    problem(hub.client.get(ITEMS, params={"filter": f"S_INTERSECTS(geometry, {bowtie})",
                                          "filter-lang": "cql2-text"}), 400,
            "Self-intersection")


@pytest.mark.parametrize("limit", ["1000000000000", "99999999999999999999999", "-1", "1e9"])
def test_absurd_limits_are_refused_or_clamped_never_served(hub: Hub, limit: str) -> None:
    response = hub.client.get(RECORDS, params={"limit": limit})
    if response.status_code == 200:  # clamped to the largest page
        assert len(response.json()["features"]) <= 500
    else:
        problem(response, 400, "limit")


@pytest.mark.parametrize("cursor", ["A" * 20_000, "eyJ" + "x" * 5000, "\u00e9\u00e9"])
def test_forged_cursors_are_400(hub: Hub, cursor: str) -> None:
    problem(hub.client.get(RECORDS, params={"cursor": cursor}), 400, "cursor")
