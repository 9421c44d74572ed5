"""Statements for data requests: the board (filters, facets, keyset pages), one request
with its timeline, comments and followers, votes, and look-alike suggestions."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Delete,
    Insert,
    Select,
    Update,
    and_,
    delete,
    func,
    insert,
    literal,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from hub.cocreation.reports import ItemKind
from hub.cocreation.requests import CLOSED, RequestStatus, StatusChange
from hub.db.tables import (
    datasets,
    request_comments,
    request_events,
    request_followers,
    request_votes,
    requests,
    showcases,
)
from hub.query.model import QueryError, refuse_nul
from hub.query.reports import visible
from hub.query.textmatch import (
    SUGGEST_LIMIT,
    SUGGEST_MIN_SIMILARITY,
    all_terms_in,
    likeness,
    query_terms,
)

FACETS = ("status", "organisation")
# sort name -> the column pages are ordered by (descending, then id descending).
SORT_COLUMNS = {"votes": requests.c.votes, "newest": requests.c.created_at,
                "updated": requests.c.updated_at}

# Every column a client may see (the stored folded text is an index, the area is GeoJSON).
REQUEST_COLUMNS = (
    *(c for c in requests.c if c.name not in ("area", "search_text")),
    func.ST_AsGeoJSON(requests.c.area).label("area_geojson"),
)


@dataclass(frozen=True)
class RequestSearch:
    status: RequestStatus | None = None
    organisation: str | None = None
    dataset: str | None = None
    q: str | None = None
    sort: str = "votes"
    limit: int = 20
    after: tuple[Any, int] | None = None  # keyset: (sort value, id) of the previous page's end
    skip_facet: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("organisation", "dataset", "q"):
            refuse_nul(name, getattr(self, name) or "")


# -- writing -------------------------------------------------------------------------------------

def insert_request(values: dict[str, Any]) -> Insert:
    """``values`` as built by hub.data.cocreation; ``area`` is GeoJSON text or None."""
    area = values.pop("area", None)
    statement = insert(requests).values(
        **values, status=RequestStatus.OPEN.value, votes=0, created_at=func.now(),
        updated_at=func.now(),
        area=func.ST_SetSRID(func.ST_GeomFromGeoJSON(area), 4326) if area else None)
    return statement.returning(requests.c.id)


def insert_event(request_id: int, change: StatusChange, key_id: int | None, actor: str
                 ) -> Insert:
    return insert(request_events).values(
        request_id=request_id, status=change.status.value, note=change.note,
        reason_code=change.reason_code.value if change.reason_code else None,
        target_date=change.target_date, dataset_id=change.dataset, version=change.version,
        key_id=key_id, actor=actor, at=func.now())


def apply_status(request_id: int, change: StatusChange) -> Update:
    """The request's current status repeats its last timeline event (for filters and lists)."""
    return update(requests).where(requests.c.id == request_id).values(
        status=change.status.value, updated_at=func.now(),
        reason_code=change.reason_code.value if change.reason_code else None,
        target_date=change.target_date,
        dataset_id=change.dataset if change.dataset else requests.c.dataset_id,
        version=change.version if change.version else requests.c.version)


def lock_request(request_id: int) -> Select[Any]:
    return select(requests.c.id, requests.c.status, requests.c.key_id).where(
        requests.c.id == request_id).with_for_update()


def add_vote(request_id: int, key_id: int) -> Insert:
    return (pg_insert(request_votes)
            .values(request_id=request_id, key_id=key_id, at=func.now())
            .on_conflict_do_nothing().returning(request_votes.c.key_id))


def remove_vote(request_id: int, key_id: int) -> Delete:
    return (delete(request_votes)
            .where(request_votes.c.request_id == request_id, request_votes.c.key_id == key_id)
            .returning(request_votes.c.key_id))


def change_votes(request_id: int, by: int) -> Update:
    """Votes are counted with the vote, in its transaction; ``updated_at`` is for staff
    moves and comments, so a vote does not reorder the "recently updated" sort."""
    return (update(requests).where(requests.c.id == request_id)
            .values(votes=requests.c.votes + by).returning(requests.c.votes))


def add_follower(request_id: int, key_id: int) -> Insert:
    return (pg_insert(request_followers)
            .values(request_id=request_id, key_id=key_id, at=func.now())
            .on_conflict_do_nothing().returning(request_followers.c.key_id))


def remove_follower(request_id: int, key_id: int) -> Delete:
    return (delete(request_followers)
            .where(request_followers.c.request_id == request_id,
                   request_followers.c.key_id == key_id)
            .returning(request_followers.c.key_id))


def insert_comment(request_id: int, key_id: int | None, author: str, text: str) -> Insert:
    return insert(request_comments).values(
        request_id=request_id, key_id=key_id, author=author, text=text,
        created_at=func.now()).returning(*request_comments.c)


def touch(request_id: int) -> Update:
    return update(requests).where(requests.c.id == request_id).values(updated_at=func.now())


def pending_of_key(key_id: int) -> Select[Any]:
    """Requests of a key still waiting for staff (the pending-items limit counts these)."""
    return select(func.count()).select_from(requests).where(
        requests.c.key_id == key_id, requests.c.status == RequestStatus.OPEN.value)


# -- reading -------------------------------------------------------------------------------------

def request_by_id(request_id: int, include_hidden: bool = False) -> Select[Any]:
    statement = select(*REQUEST_COLUMNS).where(requests.c.id == request_id)
    if not include_hidden:
        statement = statement.where(visible(ItemKind.REQUEST, requests.c.id))
    return statement


def timeline(request_id: int) -> Select[Any]:
    return (select(request_events).where(request_events.c.request_id == request_id)
            .order_by(request_events.c.id))


def comments(request_id: int) -> Select[Any]:
    c = request_comments.c
    return (select(request_comments)
            .where(c.request_id == request_id, visible(ItemKind.COMMENT, c.id))
            .order_by(c.id))


def followers(request_id: int) -> Select[Any]:
    return (select(request_followers.c.key_id)
            .where(request_followers.c.request_id == request_id)
            .order_by(request_followers.c.key_id))


def voted(request_id: int, key_id: int) -> Select[Any]:
    return select(literal(True)).where(request_votes.c.request_id == request_id,
                                       request_votes.c.key_id == key_id)


def showcases_answering(request_id: int) -> Select[Any]:
    s = showcases.c
    return (select(s.id, s.title, s.url, s.kind)
            .where(s.request_id == request_id, s.status == "approved",
                   visible(ItemKind.SHOWCASE, s.id))
            .order_by(s.id))


def _predicate(search: RequestSearch, skip: str | None = None) -> ColumnElement[bool]:
    r = requests.c
    parts: list[ColumnElement[bool]] = [visible(ItemKind.REQUEST, r.id)]
    if search.status is not None and skip != "status":
        parts.append(r.status == search.status.value)
    if search.organisation is not None and skip != "organisation":
        parts.append(r.organisation == search.organisation)
    if search.dataset is not None:
        parts.append(r.dataset_id == search.dataset)
    parts.append(all_terms_in(query_terms(search.q), r.search_text))
    return and_(true(), *parts)


def request_page(search: RequestSearch) -> Select[Any]:
    """One page, keyset-ordered by the sort column then id, both descending; one row more
    than the limit is read so the caller knows whether a next page exists."""
    column = SORT_COLUMNS[search.sort]
    statement = (select(*REQUEST_COLUMNS).where(_predicate(search))
                 .order_by(column.desc(), requests.c.id.desc()).limit(search.limit + 1))
    if search.after is not None:
        statement = statement.where(tuple_(column, requests.c.id) < tuple_(*search.after))
    return statement


def request_count(search: RequestSearch) -> Select[Any]:
    return select(func.count()).select_from(requests).where(_predicate(search))


def facet_counts(search: RequestSearch, facet: str) -> Select[Any]:
    """Counts per value of one facet over the search with that facet's own filter removed."""
    value = requests.c[facet]
    return (select(value.label("value"), func.count().label("count"))
            .where(_predicate(search, skip=facet), value.is_not(None))
            .group_by(value).order_by(func.count().desc(), value))


def similar_requests(folded_title: str, folded_text: str, exclude: int | None = None
                     ) -> Select[Any]:
    """Open requests that look like a new one: vote for them instead of filing it twice."""
    r = requests.c
    score = likeness(folded_title, folded_text, r.search_text).label("similarity")
    statement = (select(r.id, r.title, r.status, r.votes, score)
                 .where(r.status.not_in([s.value for s in CLOSED]),
                        visible(ItemKind.REQUEST, r.id),
                        likeness(folded_title, folded_text, r.search_text)
                        >= SUGGEST_MIN_SIMILARITY)
                 .order_by(score.desc(), r.id).limit(SUGGEST_LIMIT))
    if exclude is not None:
        statement = statement.where(r.id != exclude)
    return statement


def similar_datasets(folded_title: str, folded_text: str) -> Select[Any]:
    """Published datasets whose catalogue search text (the same folding) looks like it."""
    d = datasets.c
    stored = func.concat_ws(" ", d.search_title, d.search_keywords, d.search_description)
    score = likeness(folded_title, folded_text, stored).label("similarity")
    return (select(d.id, d.title_ja, d.title_en, d.current_version, score)
            .where(d.current_version.is_not(None),
                   likeness(folded_title, folded_text, stored) >= SUGGEST_MIN_SIMILARITY)
            .order_by(score.desc(), d.id).limit(SUGGEST_LIMIT))


# -- cursor --------------------------------------------------------------------------------------

def encode_after(sort: str, value: Any, request_id: int) -> str:
    """Opaque keyset cursor; it names its sort so it cannot be replayed on another one."""
    shown = value.isoformat() if isinstance(value, datetime) else value
    raw = json.dumps({"s": sort, "v": shown, "i": request_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_after(sort: str, row: dict[str, Any]) -> str:
    """The cursor of the page that follows ``row`` (a page's last row) in ``sort`` order."""
    return encode_after(sort, row[SORT_COLUMNS[sort].name], row["id"])


def decode_after(sort: str, cursor: str) -> tuple[Any, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value, request_id = data["v"], data["i"]
        if data["s"] != sort or not isinstance(request_id, int):
            raise ValueError
        if sort == "votes":
            if not isinstance(value, int):
                raise ValueError
        else:
            value = datetime.fromisoformat(value)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise QueryError("parameter 'cursor' is not valid for this sort; use the 'next' link "
                         "as given", "cursor") from None
    return value, request_id


def examples_exist() -> Select[Any]:
    return select(func.count()).select_from(requests).where(requests.c.example)
