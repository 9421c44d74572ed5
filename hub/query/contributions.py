"""Statements for community contributions (built here, executed in hub.data.contributions)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Insert,
    Select,
    String,
    Update,
    and_,
    cast,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from hub.catalog import PublishedVersion
from hub.cocreation.contributions import NAME_SIMILARITY, NEAR_DUPLICATE_METRES
from hub.db.tables import contributions, versions

# Everything but the geometry, which answers carry as GeoJSON.
_COLUMNS = tuple(c for c in contributions.c if c.name != "geom")
_GEOJSON = func.ST_AsGeoJSON(contributions.c.geom).label("geometry")


def insert_contribution(values: dict[str, Any], geometry_wkt: str | None) -> Insert:
    geom = func.ST_GeomFromText(geometry_wkt, 4326) if geometry_wkt else None
    return insert(contributions).values(**values, geom=geom, created_at=func.now()) \
        .returning(*_COLUMNS, _GEOJSON)


def contribution_by_id(contribution_id: int) -> Select[Any]:
    return select(*_COLUMNS, _GEOJSON).where(contributions.c.id == contribution_id)


def contribution_page(*, status: str | None, dataset: str | None, key_id: int | None,
                      before_id: int | None, limit: int) -> Select[Any]:
    """Newest first, keyset-paged by id."""
    statement = select(*_COLUMNS, _GEOJSON).order_by(contributions.c.id.desc()).limit(limit)
    for column, value in ((contributions.c.status, status),
                          (contributions.c.dataset_id, dataset),
                          (contributions.c.key_id, key_id)):
        if value is not None:
            statement = statement.where(column == value)
    if before_id is not None:
        statement = statement.where(contributions.c.id < before_id)
    return statement


def pending_count(key_id: int) -> Select[Any]:
    return select(func.count()).where(contributions.c.key_id == key_id,
                                      contributions.c.status == "pending")


def decide(contribution_id: int, status: str, reason: str, by: str) -> Update:
    """Only a pending contribution is decided (a concurrent decision finds no row)."""
    return (update(contributions)
            .where(contributions.c.id == contribution_id, contributions.c.status == "pending")
            .values(status=status, decision_reason=reason, decided_by=by,
                    decided_at=func.now())
            .returning(*_COLUMNS, _GEOJSON))


def accepted_of(dataset_id: str) -> Select[Any]:
    return select(*_COLUMNS).where(contributions.c.dataset_id == dataset_id,
                                   contributions.c.status == "accepted") \
        .order_by(contributions.c.id)


def mark_published(ids: list[int], version: int) -> Update:
    return (update(contributions)
            .where(contributions.c.id.in_(ids), contributions.c.status == "accepted")
            .values(status="published", published_version=version)
            .returning(contributions.c.id))


def version_before(dataset_id: str, number: int) -> Select[Any]:
    return select(func.max(versions.c.version)).where(versions.c.dataset_id == dataset_id,
                                                      versions.c.version < number)


def record_cells(version: PublishedVersion, key: str | None = None) -> Select[Any]:
    """The version's rows as text cells (``key`` first, then each field), in version order;
    one row when ``key`` is given. Booleans read back as ``true``/``false``, dates as ISO,
    which the ETL's preparation reads like any file's cells."""
    t = version.query_table()
    key_field = version.schema.primary_key[0]
    cells = [func.coalesce(_cell(t.c[f.name], f.type), "").label(f.name)
             for f in version.schema.fields]
    statement = select(cast(t.c[key_field], String).label("_key"), *cells).order_by(t.c._fid)
    if key is not None:
        statement = statement.where(cast(t.c[key_field], String) == key)
    return statement


def _cell(column: ColumnElement[Any], field_type: str) -> ColumnElement[Any]:
    """A stored value as text the ETL reads back to the same value. A timestamp's own text
    (``2020-04-01 09:30:00+09``) has an offset without minutes, which the ETL does not read;
    ISO 8601 in UTC it does (seconds are all a published datetime keeps)."""
    if field_type == "datetime":
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    return cast(column, String)


def _near(geom: ColumnElement[Any], wkt: str) -> ColumnElement[Any]:
    point = func.geography(func.ST_GeomFromText(wkt, 4326))
    return func.ST_DWithin(func.geography(geom), point, NEAR_DUPLICATE_METRES)


def near_records(version: PublishedVersion, wkt: str, name: str | None) -> Select[Any]:
    """Records of ``version`` within :data:`NEAR_DUPLICATE_METRES` of ``wkt`` whose text is
    similar to ``name`` (any name when None), nearest first."""
    t = version.query_table()
    key_field = version.schema.primary_key[0]
    point = func.geography(func.ST_GeomFromText(wkt, 4326))
    distance = func.ST_Distance(func.geography(t.c.geom), point)
    statement = select(literal("record").label("kind"),
                       cast(t.c[key_field], String).label("key"),
                       distance.label("metres")).where(_near(t.c.geom, wkt))
    if name:
        similarity = func.word_similarity(name, t.c._search)
        statement = statement.add_columns(similarity.label("similarity")) \
            .where(similarity >= NAME_SIMILARITY)
    return statement.order_by(distance).limit(10)


def near_pending(dataset_id: str, wkt: str, name: str | None) -> Select[Any]:
    """Pending new records of ``dataset_id`` near ``wkt`` with a similar name."""
    c = contributions.c
    point = func.geography(func.ST_GeomFromText(wkt, 4326))
    distance = func.ST_Distance(func.geography(c.geom), point)
    conditions = [c.dataset_id == dataset_id, c.status == "pending", c.kind == "new",
                  _near(c.geom, wkt)]
    statement = select(literal("contribution").label("kind"), c.id.label("contribution"),
                       distance.label("metres"))
    if name:
        similarity = func.word_similarity(name, func.coalesce(c.name_folded, ""))
        statement = statement.add_columns(similarity.label("similarity"))
        conditions.append(similarity >= NAME_SIMILARITY)
    return statement.where(and_(*conditions)).order_by(distance).limit(10)
