"""Statements over the catalogue tables: dataset search with facets, versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    select,
    true,
)

from hub.catalog import DEFAULT_SOURCE_FORMAT
from hub.db.tables import datasets, versions
from hub.query.model import refuse_nul
from hub.query.textmatch import all_terms_in, query_terms

FACETS = ("keyword", "organisation", "licence", "format", "has_map")

# The dataset's current version, joined to every catalogue search (row count, date, map).
_CURRENT: FromClause = datasets.outerjoin(
    versions,
    and_(versions.c.dataset_id == datasets.c.id,
         versions.c.version == datasets.c.current_version),
)
# What kind of source a dataset is published from (dataset.toml ``format``): a facet.
SOURCE_FORMAT: ColumnElement[str] = func.coalesce(
    datasets.c.definition["format"].astext, DEFAULT_SOURCE_FORMAT)
# A dataset "has a map" when its current version has geometry (a bounding box).
HAS_MAP: ColumnElement[bool] = versions.c.bbox.is_not(None)


@dataclass(frozen=True)
class DatasetSearch:
    """Catalogue search: free text (every word of ``q`` somewhere in the title, keywords or
    description, ranked in that order), exact facet filters, offset paging (the catalogue is
    small)."""

    q: str | None = None
    keyword: tuple[str, ...] = ()
    organisation: str | None = None
    licence: str | None = None
    format: str | None = None
    has_map: bool | None = None
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        for name in ("q", "organisation", "licence"):
            refuse_nul(name, getattr(self, name) or "")
        for keyword in self.keyword:
            refuse_nul("keyword", keyword)


def _terms(search: DatasetSearch) -> list[str]:
    """The words of ``q``, folded as the catalogue's search columns are (hub.textfold)."""
    return query_terms(search.q)


# Where a word of ``q`` can match, best first: the order of catalogue search results.
_TIERS = (datasets.c.search_title, datasets.c.search_keywords, datasets.c.search_description)


def _search_predicate(search: DatasetSearch, *, skip: str | None = None) -> ColumnElement[bool]:
    """All filters of a search; ``skip`` leaves one facet out so its counts show alternatives."""
    parts: list[ColumnElement[bool]] = [datasets.c.current_version.is_not(None)]
    parts.append(all_terms_in(_terms(search), *_TIERS))
    if search.keyword and skip != "keyword":
        parts.append(datasets.c.keywords.contains(list(search.keyword)))
    if search.organisation and skip != "organisation":
        parts.append(datasets.c.organisation == search.organisation)
    if search.licence and skip != "licence":
        parts.append(datasets.c.licence == search.licence)
    if search.format and skip != "format":
        parts.append(search.format == SOURCE_FORMAT)
    if search.has_map is not None and skip != "has_map":
        parts.append(HAS_MAP if search.has_map else ~HAS_MAP)
    return and_(true(), *parts)


def _ranking(search: DatasetSearch) -> list[ColumnElement[Any]]:
    """Most words of ``q`` in titles first, then most in keywords (then descriptions, where
    every remaining word matched); the id breaks ties, so pages are stable."""
    terms = _terms(search)
    order: list[ColumnElement[Any]] = []
    if terms:
        for tier in _TIERS[:-1]:
            hits = sum((case((tier.contains(t, autoescape=True), 1), else_=0) for t in terms),
                       start=literal(0))
            order.append(hits.desc())
    order.append(datasets.c.id)
    return order


def dataset_page(search: DatasetSearch) -> Select[Any]:
    return (
        select(datasets, versions.c.row_count, versions.c.published_at, versions.c.bbox,
               SOURCE_FORMAT.label("format"), HAS_MAP.label("has_map"))
        .select_from(_CURRENT)
        .where(_search_predicate(search))
        .order_by(*_ranking(search))
        .limit(search.limit)
        .offset(search.offset)
    )


def dataset_count(search: DatasetSearch) -> Select[Any]:
    return select(func.count()).select_from(_CURRENT).where(_search_predicate(search))


def facet_counts(search: DatasetSearch, facet: str) -> Select[Any]:
    """Counts per value of one facet, over the search with that facet's own filter removed."""
    if facet == "keyword":
        value = func.unnest(datasets.c.keywords).label("value")
    elif facet == "organisation":
        value = datasets.c.organisation.label("value")
    elif facet == "licence":
        value = datasets.c.licence.label("value")
    elif facet == "format":
        value = SOURCE_FORMAT.label("value")
    else:
        value = HAS_MAP.label("value")
    inner = (select(value).select_from(_CURRENT)
             .where(_search_predicate(search, skip=facet)).subquery())
    return (
        select(inner.c.value, func.count().label("count"), literal(facet).label("facet"))
        .group_by(inner.c.value)
        .order_by(func.count().desc(), inner.c.value)
    )


def dataset_by_id(dataset_id: str) -> Select[Any]:
    return select(datasets).where(datasets.c.id == dataset_id)


# Dataset columns that travel with every version row (for its citation).
_CITED = (datasets.c.title_ja, datasets.c.title_en, datasets.c.organisation, datasets.c.licence,
          datasets.c.licence_note, datasets.c.licence_title, datasets.c.licence_url)


def versions_of(dataset_id: str) -> Select[Any]:
    return (
        select(versions, *_CITED)
        .join(datasets, datasets.c.id == versions.c.dataset_id)
        .where(versions.c.dataset_id == dataset_id)
        .order_by(versions.c.version.desc())
    )


def version_by_number(dataset_id: str, number: int) -> Select[Any]:
    return select(versions, *_CITED).join(
        datasets, datasets.c.id == versions.c.dataset_id
    ).where(
        versions.c.dataset_id == dataset_id, versions.c.version == number
    )


# -- cheap version lookups (the hot path of every records request) ------------------------------

_VERSION_STATE = (versions.c.dataset_id, versions.c.version, versions.c.status,
                  versions.c.withdrawn_reason, versions.c.withdrawn_at, versions.c.content_sha256,
                  versions.c.published_lsn)


def version_state(dataset_id: str, number: int | None,
                  with_dataset: bool = False) -> Select[Any]:
    """Only what can change about a version (status, the WAL stamp of its publish, see
    hub.db.commit_lsn) and what identifies its content: the heavy parts (schema, layers,
    warnings) are immutable and cached by the caller. ``with_dataset``: the dataset's row
    too, in the same round trip (an OGC collection needs both).

    The values are the named bind parameters ``dataset_id`` and ``version``, so a caller that
    compiles the statement once (hub.data.records_by_key) can run it again with new values.
    """
    dataset = bindparam("dataset_id", dataset_id, type_=datasets.c.id.type)
    columns = (*_VERSION_STATE, *datasets.c) if with_dataset else _VERSION_STATE
    if number is None:
        return select(*columns).join(
            datasets,
            and_(datasets.c.id == versions.c.dataset_id,
                 datasets.c.current_version == versions.c.version),
        ).where(datasets.c.id == dataset)
    pinned = select(*columns)
    if with_dataset:
        pinned = pinned.join(datasets, datasets.c.id == versions.c.dataset_id)
    return pinned.where(
        versions.c.dataset_id == dataset,
        versions.c.version == bindparam("version", number, type_=versions.c.version.type),
    )
