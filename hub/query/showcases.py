"""Statements for showcases: submit, decide, list (approved ones, per dataset), the image."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, Select, Update, and_, func, insert, literal, or_, select, update

from hub.cocreation.reports import ItemKind
from hub.cocreation.showcases import ShowcaseStatus
from hub.db.tables import requests, showcase_datasets, showcases, versions
from hub.query.reports import visible

# Every column a client may see (the image is served on its own path).
SHOWCASE_COLUMNS = tuple(c for c in showcases.c if c.name != "image")


def insert_showcase(values: dict[str, Any]) -> Insert:
    return insert(showcases).values(**values, status=ShowcaseStatus.PENDING.value,
                                    created_at=func.now()).returning(showcases.c.id)


def insert_pins(showcase_id: int, pins: list[tuple[str, int]]) -> Insert:
    return insert(showcase_datasets).values(
        [{"showcase_id": showcase_id, "dataset_id": d, "version": v} for d, v in pins])


def versions_exist(pins: list[tuple[str, int]]) -> Select[Any]:
    """Which of the pinned (dataset, version) pairs are published (withdrawn ones too: a
    citation of a withdrawn version stays a true statement of what was used)."""
    wanted = [and_(versions.c.dataset_id == d, versions.c.version == v) for d, v in pins]
    return select(versions.c.dataset_id, versions.c.version).where(or_(*wanted))


def request_exists(request_id: int) -> Select[Any]:
    return select(literal(True)).where(requests.c.id == request_id)


def lock_showcase(showcase_id: int) -> Select[Any]:
    return select(showcases.c.id, showcases.c.status, showcases.c.key_id).where(
        showcases.c.id == showcase_id).with_for_update()


def decide(showcase_id: int, status: ShowcaseStatus, reason: str | None, by: str) -> Update:
    return update(showcases).where(showcases.c.id == showcase_id).values(
        status=status.value, decision_reason=reason, decided_at=func.now(), decided_by=by)


def set_image(showcase_id: int, data: bytes, media_type: str) -> Update:
    return update(showcases).where(showcases.c.id == showcase_id).values(
        image=data, image_type=media_type)


def image(showcase_id: int) -> Select[Any]:
    return select(showcases.c.image, showcases.c.image_type, showcases.c.status).where(
        showcases.c.id == showcase_id, visible(ItemKind.SHOWCASE, showcases.c.id))


def pending_of_key(key_id: int) -> Select[Any]:
    return select(func.count()).select_from(showcases).where(
        showcases.c.key_id == key_id, showcases.c.status == ShowcaseStatus.PENDING.value)


def showcase_by_id(showcase_id: int) -> Select[Any]:
    return select(*SHOWCASE_COLUMNS, (showcases.c.image.is_not(None)).label("has_image")).where(
        showcases.c.id == showcase_id, visible(ItemKind.SHOWCASE, showcases.c.id))


def pins_of(showcase_ids: list[int]) -> Select[Any]:
    p = showcase_datasets.c
    return (select(p.showcase_id, p.dataset_id, p.version)
            .where(p.showcase_id.in_(showcase_ids))
            .order_by(p.showcase_id, p.dataset_id, p.version))


def showcase_list(status: ShowcaseStatus | None, dataset: str | None = None) -> Select[Any]:
    """Showcases in ``status`` (None: every status, for staff), optionally those using
    ``dataset`` in any pinned version; newest first."""
    s = showcases.c
    statement = (select(*SHOWCASE_COLUMNS, (s.image.is_not(None)).label("has_image"))
                 .where(visible(ItemKind.SHOWCASE, s.id)).order_by(s.id.desc()))
    if status is not None:
        statement = statement.where(s.status == status.value)
    if dataset is not None:
        p = showcase_datasets.c
        statement = statement.where(s.id.in_(select(p.showcase_id)
                                             .where(p.dataset_id == dataset)))
    return statement
