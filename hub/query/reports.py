"""Statements for reports and hiding: one rule for every reportable kind of item."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Select,
    String,
    Table,
    and_,
    cast,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from hub.cocreation.reports import ItemKind, Review
from hub.db.tables import item_moderation, reports, request_comments, requests, showcases

# The table of each kind that can be reported, keyed by its ``id`` column. Contributions
# join by adding their table here.
REPORTABLE: dict[ItemKind, Table] = {
    ItemKind.REQUEST: requests,
    ItemKind.COMMENT: request_comments,
    ItemKind.SHOWCASE: showcases,
}


def visible(kind: ItemKind, item_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """The item is not hidden: the predicate every public list and page of ``kind`` uses."""
    m = item_moderation.c
    return not_(exists().where(m.item_type == kind.value,
                               m.item_id == cast(item_id, String), m.hidden))


def item_exists(kind: ItemKind, item_id: str) -> Select[Any]:
    table = REPORTABLE[kind]
    return select(literal(True)).where(cast(table.c.id, String) == item_id)


def insert_report(kind: ItemKind, item_id: str, key_id: int, reason: str) -> Insert:
    """One report per key and item: a repeat changes nothing and returns no row."""
    return (pg_insert(reports)
            .values(item_type=kind.value, item_id=item_id, key_id=key_id, reason=reason,
                    at=func.now())
            .on_conflict_do_nothing()
            .returning(reports.c.key_id))


def moderation_of(kind: ItemKind, item_id: str) -> Select[Any]:
    m = item_moderation.c
    return select(item_moderation).where(m.item_type == kind.value, m.item_id == item_id)


def reporters_since_review(kind: ItemKind, item_id: str) -> Select[Any]:
    """Distinct keys that reported the item after its last review (all, if never reviewed)."""
    r, m = reports.c, item_moderation.c
    reviewed = (select(m.reviewed_at)
                .where(m.item_type == kind.value, m.item_id == item_id)
                .scalar_subquery())
    return select(func.count(func.distinct(r.key_id))).where(
        r.item_type == kind.value, r.item_id == item_id,
        or_(reviewed.is_(None), r.at > reviewed))


def hide(kind: ItemKind, item_id: str) -> Insert:
    stmt = pg_insert(item_moderation).values(item_type=kind.value, item_id=item_id,
                                             hidden=True)
    return stmt.on_conflict_do_update(index_elements=["item_type", "item_id"],
                                      set_={"hidden": True})


def review(kind: ItemKind, item_id: str, decision: Review, hidden: bool, by: str,
           note: str | None) -> Insert:
    stmt = pg_insert(item_moderation).values(
        item_type=kind.value, item_id=item_id, hidden=hidden, decision=decision.value,
        reviewed_at=func.now(), reviewed_by=by, note=note)
    return stmt.on_conflict_do_update(
        index_elements=["item_type", "item_id"],
        set_={"hidden": hidden, "decision": decision.value, "reviewed_at": func.now(),
              "reviewed_by": by, "note": note}).returning(*item_moderation.c)


def report_queue(kind: ItemKind | None, hidden_only: bool) -> Select[Any]:
    """Reported items with their distinct reporters and reasons, hidden ones first."""
    r, m = reports.c, item_moderation.c
    statement = (
        select(r.item_type, r.item_id, func.count(func.distinct(r.key_id)).label("reporters"),
               func.array_agg(func.distinct(r.reason)).label("reasons"),
               func.max(r.at).label("last_reported_at"),
               func.coalesce(func.bool_or(m.hidden), False).label("hidden"),
               func.max(m.decision).label("decision"))
        .select_from(reports.outerjoin(item_moderation, and_(
            m.item_type == r.item_type, m.item_id == r.item_id)))
        .group_by(r.item_type, r.item_id)
        .order_by(func.coalesce(func.bool_or(m.hidden), False).desc(),
                  func.max(r.at).desc())
    )
    if kind is not None:
        statement = statement.where(r.item_type == kind.value)
    if hidden_only:
        statement = statement.having(func.coalesce(func.bool_or(m.hidden), False))
    return statement
