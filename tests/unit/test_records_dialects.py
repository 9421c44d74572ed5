"""One parser, three surfaces: /v1 records, OGC items and OGC tiles differ only in names,
formats and what an over-large limit gets; a parameter is applied or refused, never dropped."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import select, table

from hub.catalog import TableSchema
from hub.query.model import NearSet, PageLimits, QueryError
from hub.query.params import (
    OGC_ITEMS,
    OGC_TILES,
    V1,
    Dialect,
    NearReference,
    parse_records_query,
)

SCHEMA = TableSchema.from_json({"fields": [
    {"name": "id", "type": "string"}, {"name": "name", "type": "string"},
    {"name": "floors", "type": "integer"}, {"name": "opened", "type": "date"}],
    "primaryKey": ["id"]})


@dataclass
class FakeReferences:
    """A resolver that knows one route and records what it was asked."""

    asked: list[tuple[NearReference, float]] = field(default_factory=list)

    def near_set(self, reference: NearReference, radius_m: float) -> NearSet:
        self.asked.append((reference, radius_m))
        if reference.key != "100310":
            raise QueryError(f"parameter '{reference.parameter}': no such route",
                             reference.parameter)
        return NearSet(select(table("stops")), radius_m, content_sha256="feed",
                       pinned=reference.version is not None)


def parse(pairs, dialect: Dialect = V1, *, limits: PageLimits | None = None,
          resolver: FakeReferences | None = None):
    limits = limits or PageLimits(10, 100, 5000, dialect.over_limit)
    return parse_records_query(pairs, SCHEMA, has_geometry=True, limits=limits,
                               dialect=dialect, resolver=resolver)


@pytest.mark.parametrize("dialect", [V1, OGC_ITEMS, OGC_TILES])
def test_near_route_goes_through_the_resolver_on_every_surface(dialect: Dialect) -> None:
    references = FakeReferences()
    query = parse([("near_route", "bus@2:100310"), ("radius", "300")], dialect,
                  resolver=references)
    assert references.asked == [(NearReference("near_route", "bus", 2, "100310"), 300.0)]
    assert query.near_set is not None and query.near_set.radius_m == 300.0
    assert query.near_set.pinned and not query.is_unfiltered


def test_resolver_refusals_and_missing_resolver_name_the_parameter() -> None:
    with pytest.raises(QueryError, match="no such route") as caught:
        parse([("near_stop", "bus:9"), ("radius", "300")], OGC_ITEMS,
              resolver=FakeReferences())
    assert caught.value.parameter == "near_stop"
    with pytest.raises(QueryError, match="not available") as caught:
        parse([("near_stop", "bus:9"), ("radius", "300")], OGC_ITEMS)
    with pytest.raises(QueryError, match="needs 'radius'"):
        parse([("near_route", "bus:100310")], OGC_ITEMS, resolver=FakeReferences())


def test_limit_over_the_maximum_is_clamped_or_refused_as_the_limits_say() -> None:
    assert parse([("limit", "100000")], OGC_ITEMS).limit == 100
    with pytest.raises(QueryError, match="between 1 and 100"):
        parse([("limit", "100000")], V1)
    with pytest.raises(QueryError, match="between 1 and 100"):
        parse([("limit", "0")], OGC_ITEMS)
    assert parse([], OGC_ITEMS).limit == 10


def test_ogc_names_for_sort_and_fields() -> None:
    query = parse([("sortby", "+floors,-name"), ("properties", "name")], OGC_ITEMS)
    assert [(k.field, k.descending) for k in query.sort] == [("floors", False),
                                                             ("name", True)]
    assert query.fields == ("name",)
    with pytest.raises(QueryError, match="unknown field 'height'") as caught:
        parse([("sortby", "height")], OGC_ITEMS)
    assert caught.value.parameter == "sortby"


@pytest.mark.parametrize(("pairs", "dialect", "fragment"), [
    ([("sort", "name")], OGC_ITEMS, "use 'sortby'"),
    ([("fields", "name")], OGC_ITEMS, "use 'properties'"),
    ([("sortby", "name")], V1, "use 'sort'"),
    ([("datetime", "2020-01-01")], V1, "does not apply to this endpoint"),
    ([("limit", "5")], OGC_TILES, "does not apply to this endpoint"),
    ([("crs", "EPSG:3857")], OGC_TILES, "does not apply to this endpoint"),
    ([("count", "true")], V1, "unknown field 'count'"),
    ([("f", "csv")], OGC_ITEMS, "formats are: json, geojson"),
    ([("near", "35,139")], OGC_TILES, "add 'radius'"),
])
def test_parameters_a_surface_cannot_apply_are_refused(pairs, dialect, fragment) -> None:
    with pytest.raises(QueryError) as caught:
        parse(pairs, dialect)
    assert fragment in caught.value.detail
    assert caught.value.parameter == pairs[0][0]


def test_ogc_datetime_crs_and_filter_in_the_one_parser() -> None:
    query = parse([("datetime", "2020-01-01/.."), ("crs", "EPSG:3857"),
                   ("filter", "floors > 2"), ("bbox", "35,139,36,140"),
                   ("bbox-crs", "EPSG:4326")], OGC_ITEMS)
    assert [(f.field, f.op) for f in query.filters] == [("opened", "gte")]
    assert query.output_crs is not None and query.output_crs.srid == 3857
    assert query.cql2 is not None
    assert query.bbox == pytest.approx((139, 35, 140, 36))


def test_within_and_intersects_are_geometries() -> None:
    query = parse([("within", "POLYGON ((139 35, 140 35, 140 36, 139 35))"),
                   ("intersects", '{"type": "LineString", "coordinates": [[139, 35], '
                                  '[140, 36]]}')])
    assert query.within is not None and query.within.geom_type == "Polygon"
    assert query.intersects is not None and query.intersects.geom_type == "LineString"
