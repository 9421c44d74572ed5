"""What a contribution to a dataset's records is, as far as it can be judged without the data.

A contribution proposes one change to one dataset: a ``new`` record (a GeoJSON Feature), a
``correction`` of an existing record (its key, the changed properties and/or a geometry) or a
``removal`` (its key and a reason). Each carries a comment, optionally a source (what was
seen, where, when: the way an OpenStreetMap changeset says it) and a display name to be
credited under, and must consent to the dataset's licence: without consent the hub could not
republish the contribution under that licence.

:func:`parse_proposal` collects every problem of a body before refusing it, so one 422 lists
them all. Whether the values are valid for the dataset's schema is not decided here:
``hub.cocreation.arrival`` runs the ETL's own preparation on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hub.cocreation.errors import Conflict, InvalidInput
from hub.cocreation.text import SHORT_MAX, TEXT_MAX, clean_optional, clean_text

Kind = Literal["new", "correction", "removal"]
KINDS: tuple[Kind, ...] = ("new", "correction", "removal")
STATUSES = ("pending", "accepted", "rejected", "published")
# decision (as sent) -> status it leads to
DECISIONS = {"accept": "accepted", "reject": "rejected"}
DISPLAY_NAME_MAX = 80

# A new record this close to another (metres) with a name this similar (pg_trgm
# word_similarity of the folded names, 0..1) is flagged to the moderator as a likely duplicate.
NEAR_DUPLICATE_METRES = 30.0
NAME_SIMILARITY = 0.5
_BODY_FIELDS = {"kind", "feature", "key", "changes", "geometry", "reason", "comment", "source",
                "licence_consent", "display_name"}
SOURCE_FIELDS = ("what", "where", "when")


@dataclass(frozen=True)
class Problem:
    """One broken rule: the body field (``feature.properties.step_free``), the rule's name and
    what to change."""

    field: str
    rule: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}


class InvalidContribution(Exception):
    """422: the contribution breaks one or more rules; nothing was stored."""

    status = 422
    type_ = "invalid-contribution"
    title = "Invalid contribution"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        self.detail = "; ".join(f"{p.field}: {p.message} ({p.rule})" for p in problems)
        super().__init__(self.detail)


@dataclass(frozen=True)
class Proposal:
    """A contribution body that has the right shape; its values are not yet checked."""

    kind: Kind
    comment: str
    key: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    geometry: dict[str, Any] | None = None
    reason: str | None = None
    source: dict[str, str] | None = None
    display_name: str | None = None

    def sent(self) -> dict[str, Any]:
        """The proposal as stored beside its normalised values (what the contributor sent)."""
        return {"kind": self.kind, "key": self.key, "properties": self.properties,
                "geometry": self.geometry, "reason": self.reason}


def parse_proposal(body: Any) -> Proposal:
    """The body as a :class:`Proposal`, or :class:`InvalidContribution` listing every
    problem. The contract: ``{"kind", "feature"?, "key"?, "changes"?, "geometry"?,
    "reason"?, "comment", "source"?, "display_name"?, "licence_consent": true}``."""
    if not isinstance(body, dict):
        raise InvalidContribution([Problem("body", "json-object",
                                           "the body must be a JSON object")])
    problems: list[Problem] = []

    def text(name: str, max_length: int, required: bool) -> str | None:
        value = body.get(name)
        if value is None:
            if required:
                problems.append(Problem(name, "required", f"'{name}' is required"))
            return None
        if not isinstance(value, str):
            problems.append(Problem(name, "type", f"'{name}' must be a string"))
            return None
        try:
            return (clean_text(name, value, max_length) if required
                    else clean_optional(name, value, max_length))
        except InvalidInput as exc:
            problems.append(Problem(name, "text", exc.detail))
            return None

    for unknown in sorted(set(body) - _BODY_FIELDS):
        problems.append(Problem(unknown, "unknown-field",
                                f"'{unknown}' is not a contribution field; known: "
                                + ", ".join(sorted(_BODY_FIELDS))))
    kind = body.get("kind")
    if kind not in KINDS:
        problems.append(Problem("kind", "enum", f"'kind' must be one of {', '.join(KINDS)}"))
    if body.get("licence_consent") is not True:
        problems.append(Problem("licence_consent", "licence-consent",
                                "'licence_consent' must be true: the contribution is "
                                "republished under the dataset's licence"))
    comment = text("comment", TEXT_MAX, True)
    display_name = text("display_name", DISPLAY_NAME_MAX, False)
    source = _source(body.get("source"), problems)
    key = _key(body.get("key"), problems) if kind in ("correction", "removal") else None
    properties: dict[str, Any] = {}
    geometry: dict[str, Any] | None = None
    reason = None
    if kind == "new":
        properties, geometry = _feature(body.get("feature"), problems)
    elif kind == "correction":
        properties = _properties("changes", body.get("changes", {}), problems)
        geometry = _geometry("geometry", body.get("geometry"), problems)
        if not properties and geometry is None:
            problems.append(Problem("changes", "required", "a correction needs 'changes' "
                                    "(properties) and/or a 'geometry'"))
    elif kind == "removal":
        reason = text("reason", SHORT_MAX, True)
    if problems:
        raise InvalidContribution(problems)
    assert kind in KINDS and comment is not None
    return Proposal(kind=kind, comment=comment, key=key, properties=properties,
                    geometry=geometry, reason=reason, source=source,
                    display_name=display_name)


def _key(value: Any, problems: list[Problem]) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem("key", "required", "a correction or removal names the "
                                "record's key"))
        return None
    return value.strip()


def _feature(value: Any, problems: list[Problem]) -> tuple[dict[str, Any], dict | None]:
    if not isinstance(value, dict) or value.get("type") != "Feature":
        problems.append(Problem("feature", "geojson-feature",
                                "a new record is a GeoJSON Feature: {\"type\": \"Feature\", "
                                "\"geometry\": ..., \"properties\": {...}}"))
        return {}, None
    properties = _properties("feature.properties", value.get("properties") or {}, problems)
    return properties, _geometry("feature.geometry", value.get("geometry"), problems)


def _properties(where: str, value: Any, problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(value, dict):
        problems.append(Problem(where, "json-object", f"'{where}' must be an object"))
        return {}
    good: dict[str, Any] = {}
    for name, cell in value.items():
        if isinstance(cell, dict | list):
            problems.append(Problem(f"{where}.{name}", "scalar",
                                    "a property is a string, number, boolean or null"))
        elif isinstance(cell, str):
            try:
                good[name] = clean_text(f"{where}.{name}", cell, TEXT_MAX, required=False)
            except InvalidInput as exc:
                problems.append(Problem(f"{where}.{name}", "text", exc.detail))
        else:
            good[name] = cell
    return good


def _geometry(where: str, value: Any, problems: list[Problem]) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("type"), str) \
            or "coordinates" not in value:
        problems.append(Problem(where, "geojson-geometry",
                                f"'{where}' must be a GeoJSON geometry"))
        return None
    return value


def _source(value: Any, problems: list[Problem]) -> dict[str, str] | None:
    """``source`` as ``{"what", "where", "when"}`` (any of them), or a plain string (what)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"what": value}
    if not isinstance(value, dict):
        problems.append(Problem("source", "type", "'source' is a string or an object "
                                "{\"what\", \"where\", \"when\"}"))
        return None
    found: dict[str, str] = {}
    for name in sorted(set(value) - set(SOURCE_FIELDS)):
        problems.append(Problem(f"source.{name}", "unknown-field",
                                "source fields are what, where, when"))
    for name in SOURCE_FIELDS:
        item = value.get(name)
        if item is None:
            continue
        if not isinstance(item, str):
            problems.append(Problem(f"source.{name}", "type", "must be a string"))
            continue
        try:
            cleaned = clean_optional(f"source.{name}", item, SHORT_MAX)
        except InvalidInput as exc:
            problems.append(Problem(f"source.{name}", "text", exc.detail))
            continue
        if cleaned:
            found[name] = cleaned
    return found or None


def decided_status(current: str, decision: Any, reason: Any) -> tuple[str, str]:
    """``(new status, reason)`` for a moderator's decision; only a pending contribution can
    be decided, and every decision says why."""
    if decision not in DECISIONS:
        raise InvalidInput("'decision' must be 'accept' or 'reject'", "decision")
    if not isinstance(reason, str):
        raise InvalidInput("'reason' is required: the contributor is told why", "reason")
    text = clean_text("reason", reason, SHORT_MAX)
    if current != "pending":
        raise Conflict(f"the contribution is already {current}; only pending ones are decided")
    return DECISIONS[decision], text
