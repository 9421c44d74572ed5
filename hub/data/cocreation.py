"""Data requests, showcases and reports: the statements of hub.query.requests, .showcases
and .reports, executed.

Every write runs in one transaction with its audit entry (``hub.data.people.record_audit``)
and, for status changes and decisions, its webhook event, so an action is never stored
without the record of who did it, nor announced without having happened. Refusals that
depend on stored state (a vote on a closed request, too many pending items) are decided
inside that transaction, after locking the row, by the rules of ``hub.cocreation``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from hub.cocreation.errors import Conflict, InvalidInput, TooManyPending
from hub.cocreation.reports import ItemKind, Review, hidden_after_report, hidden_after_review
from hub.cocreation.requests import RequestStatus, StatusChange, check_may_vote, check_status_change
from hub.cocreation.showcases import Decision, ShowcaseStatus, decide
from hub.data.core import NotFound
from hub.data.people import record_audit
from hub.db.events import emit
from hub.people.audit import AuditEntry
from hub.query import reports as reports_q
from hub.query import requests as requests_q
from hub.query import showcases as showcases_q
from hub.query.requests import RequestSearch
from hub.textfold import fold_indexed, fold_query

Row = dict[str, Any]
EXAMPLES_FILE = Path(__file__).resolve().parents[1] / "cocreation" / "examples.toml"
# Builds the audit entry of an action: (action, object type, object id, result, **detail).
Auditor = Callable[..., AuditEntry]


@dataclass(frozen=True)
class Actor:
    """Who acts: the key's id and name (how comments and timelines name them) and how the
    audit log records them."""

    key_id: int | None
    name: str
    audit: Auditor


@dataclass(frozen=True)
class NewRequest:
    title: str
    description: str
    purpose: str
    wanted: dict[str, Any]
    area_geojson: str | None
    municipality: str | None
    organisation: str | None
    example: bool = False


@dataclass(frozen=True)
class NewShowcase:
    title: str
    description: str
    url: str
    kind: str
    authors: list[str]
    pins: list[tuple[str, int]]
    request: int | None
    example: bool = False


def _request_search_text(title: str, description: str) -> str:
    return fold_indexed(f"{title}\n{description}")


class CoCreation:
    """Requests, showcases and reports through one engine."""

    def __init__(self, engine: Engine, pending_per_key: int) -> None:
        self.engine = engine
        self.pending_per_key = pending_per_key

    # -- requests ----------------------------------------------------------------------------

    def suggestions(self, title: str, description: str, exclude: int | None = None) -> Row:
        """Datasets and open requests that look like this text (same folding as search)."""
        folded_title, folded_text = fold_query(title), fold_query(f"{title} {description}")
        with self.engine.connect() as conn:
            found = [dict(r) for r in conn.execute(
                requests_q.similar_datasets(folded_title, folded_text)).mappings()]
            similar = [dict(r) for r in conn.execute(
                requests_q.similar_requests(folded_title, folded_text, exclude)).mappings()]
        return {"datasets": found, "requests": similar}

    def file_request(self, new: NewRequest, actor: Actor) -> int:
        with self.engine.begin() as conn:
            self._check_pending(conn, requests_q.pending_of_key, actor, "open data requests")
            values = {"title": new.title, "description": new.description,
                      "purpose": new.purpose, "wanted": new.wanted, "area": new.area_geojson,
                      "municipality": new.municipality, "organisation": new.organisation,
                      "key_id": actor.key_id, "author": actor.name, "example": new.example,
                      "search_text": _request_search_text(new.title, new.description)}
            request_id = conn.execute(requests_q.insert_request(values)).scalar_one()
            opened = StatusChange(RequestStatus.OPEN, "filed")
            conn.execute(requests_q.insert_event(request_id, opened, actor.key_id, actor.name))
            record_audit(conn, actor.audit("request.create", "request", str(request_id),
                                           title=new.title))
        return request_id

    def _check_pending(self, conn: Connection, count: Callable[[int], Any], actor: Actor,
                       what: str) -> None:
        if actor.key_id is None:
            return
        pending = conn.execute(count(actor.key_id)).scalar_one()
        if pending >= self.pending_per_key:
            raise TooManyPending(f"this key already has {pending} {what} waiting for staff; "
                                 f"at most {self.pending_per_key} may wait at once")

    def request(self, request_id: int, viewer: int | None = None) -> Row:
        """One request with its timeline, comments, followers count and answering showcases."""
        with self.engine.connect() as conn:
            row = conn.execute(requests_q.request_by_id(request_id)).mappings().first()
            if row is None:
                raise NotFound(f"no data request {request_id}")
            result = dict(row)
            result["timeline"] = [dict(r) for r in conn.execute(
                requests_q.timeline(request_id)).mappings()]
            result["comments"] = [dict(r) for r in conn.execute(
                requests_q.comments(request_id)).mappings()]
            result["followers"] = len(conn.execute(requests_q.followers(request_id)).all())
            result["showcases"] = [dict(r) for r in conn.execute(
                requests_q.showcases_answering(request_id)).mappings()]
            if viewer is not None:
                result["voted"] = conn.execute(
                    requests_q.voted(request_id, viewer)).first() is not None
        return result

    def requests(self, search: RequestSearch) -> tuple[list[Row], Row, int]:
        """A page (one extra row tells the caller a next page exists), facets, total."""
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(requests_q.request_page(search)).mappings()]
            facets = {facet: {r["value"]: r["count"] for r in conn.execute(
                requests_q.facet_counts(search, facet)).mappings()}
                for facet in requests_q.FACETS}
            total = conn.execute(requests_q.request_count(search)).scalar_one()
        return rows, facets, total

    def _locked(self, conn: Connection, request_id: int) -> Row:
        row = conn.execute(requests_q.lock_request(request_id)).mappings().first()
        if row is None or conn.execute(requests_q.request_by_id(request_id)).first() is None:
            raise NotFound(f"no data request {request_id}")
        return dict(row)

    def vote(self, request_id: int, actor: Actor, *, withdraw: bool = False) -> int:
        """Add (or withdraw) the key's vote; a repeat changes nothing. Returns the count."""
        assert actor.key_id is not None
        with self.engine.begin() as conn:
            current = self._locked(conn, request_id)
            if not withdraw:
                check_may_vote(RequestStatus(current["status"]))
            statement = (requests_q.remove_vote if withdraw else requests_q.add_vote)(
                request_id, actor.key_id)
            changed = conn.execute(statement).first() is not None
            if changed:
                votes = conn.execute(requests_q.change_votes(
                    request_id, -1 if withdraw else 1)).scalar_one()
            else:
                votes = conn.execute(requests_q.change_votes(request_id, 0)).scalar_one()
            record_audit(conn, actor.audit("request.unvote" if withdraw else "request.vote",
                                           "request", str(request_id),
                                           "ok" if changed else "unchanged", votes=votes))
        return votes

    def follow(self, request_id: int, actor: Actor, *, stop: bool = False) -> bool:
        assert actor.key_id is not None
        with self.engine.begin() as conn:
            self._locked(conn, request_id)
            statement = (requests_q.remove_follower if stop else requests_q.add_follower)(
                request_id, actor.key_id)
            changed = conn.execute(statement).first() is not None
            record_audit(conn, actor.audit("request.unfollow" if stop else "request.follow",
                                           "request", str(request_id),
                                           "ok" if changed else "unchanged"))
        return not stop

    def comment(self, request_id: int, text: str, actor: Actor) -> Row:
        with self.engine.begin() as conn:
            self._locked(conn, request_id)
            row = dict(conn.execute(requests_q.insert_comment(
                request_id, actor.key_id, actor.name, text)).mappings().one())
            conn.execute(requests_q.touch(request_id))
            record_audit(conn, actor.audit("comment.create", "comment", str(row["id"]),
                                           request=request_id))
        return row

    def change_status(self, request_id: int, change: StatusChange, actor: Actor) -> None:
        """Move a request; the requester and its followers are told by the
        ``request.status_changed`` event, written in the same transaction."""
        with self.engine.begin() as conn:
            current = self._locked(conn, request_id)
            try:
                check_status_change(RequestStatus(current["status"]), change)
                conn.execute(requests_q.insert_event(request_id, change, actor.key_id,
                                                     actor.name))
                conn.execute(requests_q.apply_status(request_id, change))
            except IntegrityError:
                raise InvalidInput(f"dataset {change.dataset!r} has no version "
                                   f"{change.version}", "version") from None
            followers = [r[0] for r in conn.execute(requests_q.followers(request_id))]
            notify = sorted({k for k in [current["key_id"], *followers] if k is not None})
            emit(conn, "request.status_changed", {
                "request": request_id, "status": change.status.value,
                "previous_status": current["status"], "note": change.note,
                "reason_code": change.reason_code.value if change.reason_code else None,
                "dataset": change.dataset, "version": change.version,
                "target_date": change.target_date.isoformat() if change.target_date else None,
                "requester": current["key_id"], "notify": notify})
            record_audit(conn, actor.audit(
                "request.status", "request", str(request_id), status=change.status.value,
                previous=current["status"],
                reason_code=change.reason_code.value if change.reason_code else None))

    # -- showcases ---------------------------------------------------------------------------

    def submit_showcase(self, new: NewShowcase, actor: Actor) -> int:
        with self.engine.begin() as conn:
            self._check_pending(conn, showcases_q.pending_of_key, actor, "pending showcases")
            found = {(r[0], r[1]) for r in conn.execute(showcases_q.versions_exist(new.pins))}
            missing = [f"{d} version {v}" for d, v in new.pins if (d, v) not in found]
            if missing:
                raise InvalidInput("the pinned versions do not exist: " + ", ".join(missing),
                                   "datasets")
            if new.request is not None and conn.execute(
                    showcases_q.request_exists(new.request)).first() is None:
                raise InvalidInput(f"no data request {new.request}", "request")
            showcase_id = conn.execute(showcases_q.insert_showcase({
                "title": new.title, "description": new.description, "url": new.url,
                "kind": new.kind, "authors": new.authors, "request_id": new.request,
                "key_id": actor.key_id, "author": actor.name, "example": new.example,
            })).scalar_one()
            conn.execute(showcases_q.insert_pins(showcase_id, new.pins))
            record_audit(conn, actor.audit("showcase.create", "showcase", str(showcase_id),
                                           title=new.title,
                                           datasets=[f"{d}/{v}" for d, v in new.pins]))
        return showcase_id

    def decide_showcase(self, showcase_id: int, decision: Decision, reason: str | None,
                        actor: Actor) -> None:
        with self.engine.begin() as conn:
            current = conn.execute(showcases_q.lock_showcase(showcase_id)).mappings().first()
            if current is None:
                raise NotFound(f"no showcase {showcase_id}")
            status, stored_reason = decide(ShowcaseStatus(current["status"]), decision, reason)
            conn.execute(showcases_q.decide(showcase_id, status, stored_reason, actor.name))
            emit(conn, "showcase.decided", {"showcase": showcase_id, "decision": decision.value,
                                            "submitter": current["key_id"]})
            record_audit(conn, actor.audit(f"showcase.{decision.value}", "showcase",
                                           str(showcase_id), reason=stored_reason))

    def set_showcase_image(self, showcase_id: int, data: bytes, media_type: str,
                           actor: Actor, may_edit_any: bool) -> None:
        """Only the submitter (or staff) sets the image, and only while it is pending: an
        approved showcase's picture is what staff approved."""
        with self.engine.begin() as conn:
            current = conn.execute(showcases_q.lock_showcase(showcase_id)).mappings().first()
            if current is None:
                raise NotFound(f"no showcase {showcase_id}")
            if not may_edit_any and current["key_id"] != actor.key_id:
                raise Conflict("only the key that submitted a showcase may set its image")
            if current["status"] != ShowcaseStatus.PENDING.value:
                raise Conflict(f"the showcase is {current['status']}; its image can be set "
                               "only while it is pending")
            conn.execute(showcases_q.set_image(showcase_id, data, media_type))
            record_audit(conn, actor.audit("showcase.image", "showcase", str(showcase_id),
                                           media_type=media_type, bytes=len(data)))

    def showcase(self, showcase_id: int) -> Row:
        with self.engine.connect() as conn:
            row = conn.execute(showcases_q.showcase_by_id(showcase_id)).mappings().first()
            if row is None:
                raise NotFound(f"no showcase {showcase_id}")
            return self._with_pins(conn, [dict(row)])[0]

    def showcases(self, status: ShowcaseStatus | None, dataset: str | None = None
                  ) -> list[Row]:
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(
                showcases_q.showcase_list(status, dataset)).mappings()]
            return self._with_pins(conn, rows)

    @staticmethod
    def _with_pins(conn: Connection, rows: list[Row]) -> list[Row]:
        pins: dict[int, list[Row]] = {r["id"]: [] for r in rows}
        if pins:
            for pin in conn.execute(showcases_q.pins_of(list(pins))).mappings():
                pins[pin["showcase_id"]].append({"dataset": pin["dataset_id"],
                                                 "version": pin["version"]})
        for row in rows:
            row["datasets"] = pins[row["id"]]
        return rows

    def showcase_image(self, showcase_id: int, may_see_pending: bool) -> tuple[bytes, str]:
        with self.engine.connect() as conn:
            row = conn.execute(showcases_q.image(showcase_id)).mappings().first()
        if row is None or row["image"] is None or (
                row["status"] != ShowcaseStatus.APPROVED.value and not may_see_pending):
            raise NotFound(f"showcase {showcase_id} has no image to show")
        return bytes(row["image"]), row["image_type"]

    # -- reports -----------------------------------------------------------------------------

    def report(self, kind: ItemKind, item_id: str, reason: str, actor: Actor) -> bool:
        """Record the key's report; returns whether the item is hidden now."""
        assert actor.key_id is not None
        if kind not in reports_q.REPORTABLE:
            raise NotFound(f"items of kind {kind.value!r} cannot be reported on this hub")
        with self.engine.begin() as conn:
            if conn.execute(reports_q.item_exists(kind, item_id)).first() is None:
                raise NotFound(f"no {kind.value} {item_id}")
            new = conn.execute(reports_q.insert_report(
                kind, item_id, actor.key_id, reason)).first() is not None
            reporters = conn.execute(reports_q.reporters_since_review(kind, item_id)
                                     ).scalar_one()
            hidden = hidden_after_report(reporters)
            if hidden:
                conn.execute(reports_q.hide(kind, item_id))
            record_audit(conn, actor.audit("report.create", kind.value, item_id,
                                           "ok" if new else "unchanged", reason=reason,
                                           reporters=reporters, hidden=hidden))
            moderation = conn.execute(reports_q.moderation_of(kind, item_id)).mappings().first()
        return bool(moderation and moderation["hidden"])

    def review(self, kind: ItemKind, item_id: str, decision: Review, note: str | None,
               actor: Actor) -> Row:
        if kind not in reports_q.REPORTABLE:
            raise NotFound(f"items of kind {kind.value!r} cannot be reported on this hub")
        with self.engine.begin() as conn:
            if conn.execute(reports_q.item_exists(kind, item_id)).first() is None:
                raise NotFound(f"no {kind.value} {item_id}")
            row = dict(conn.execute(reports_q.review(
                kind, item_id, decision, hidden_after_review(decision), actor.name, note
            )).mappings().one())
            record_audit(conn, actor.audit("report.review", kind.value, item_id,
                                           decision=decision.value, note=note))
        return row

    def report_queue(self, kind: ItemKind | None, hidden_only: bool) -> list[Row]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(
                reports_q.report_queue(kind, hidden_only)).mappings()]


def load_examples(store: CoCreation, examples: dict[str, Any], actor: Actor,
                  current_version: Callable[[str], int | None]) -> int:
    """Store the demo's example requests and showcases (``example`` = true) unless examples
    exist already; returns how many items were stored. Requests are filed and moved the way
    staff would, so their timelines and audit entries are real; showcases are approved."""
    from datetime import date

    from hub.cocreation.area import check_area
    from hub.cocreation.requests import status_change

    with store.engine.connect() as conn:
        if conn.execute(requests_q.examples_exist()).scalar_one():
            return 0
    stored, ids = 0, {}
    for item in examples.get("requests", []):
        _geometry, municipality = check_area(item.get("area"))
        wanted = {k: item[k] for k in ("fields", "period") if k in item}
        request_id = store.file_request(NewRequest(
            item["title"], item["description"], item["purpose"], wanted, None, municipality,
            item.get("organisation"), example=True), actor)
        ids[item["title"]] = request_id
        for move in item.get("moves", []):
            target = move.get("target_date")
            store.change_status(request_id, status_change(
                move["status"], move.get("note"), move.get("reason_code"),
                date.fromisoformat(target) if target else None), actor)
        stored += 1
    for item in examples.get("showcases", []):
        pins = [(d, v) for d in item["datasets"] if (v := current_version(d)) is not None]
        if not pins:
            continue
        showcase_id = store.submit_showcase(NewShowcase(
            item["title"], item["description"], item["url"], item["kind"],
            item.get("authors", []), pins, ids.get(item.get("answers", "")), example=True),
            actor)
        store.decide_showcase(showcase_id, Decision.APPROVE, None, actor)
        stored += 1
    return stored
