"""A data request's life: its statuses, who may move it where, and the reasons to decline.

Staff move a request forward, each move with a note: ``open`` -> ``under-review`` ->
``planned`` (with a target date) -> ``published`` (with the dataset and version that answer
it), or ``declined`` from any open status with a reason code and a text (Japan's open-data
guidelines ask that the reason data cannot be published be made public). ``published`` and
``declined`` close a request: it takes no more votes and no more moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from hub.cocreation.errors import Conflict, InvalidInput
from hub.cocreation.messages import N_
from hub.cocreation.text import TEXT_MAX, clean_optional


class RequestStatus(StrEnum):
    OPEN = "open"
    UNDER_REVIEW = "under-review"
    PLANNED = "planned"
    PUBLISHED = "published"
    DECLINED = "declined"


class ReasonCode(StrEnum):
    """Why a request is declined: the fixed list every decline names one of."""

    ALREADY_PUBLISHED = "already-published"
    HELD_BY_ANOTHER_BODY = "held-by-another-body"
    PERSONAL_OR_CONFIDENTIAL = "personal-or-confidential"
    LICENSING = "licensing"
    COST = "cost"
    OTHER = "other"


REASON_TEXT: dict[ReasonCode, str] = {
    ReasonCode.ALREADY_PUBLISHED: N_("The data is already published (see the note for where)."),
    ReasonCode.HELD_BY_ANOTHER_BODY: N_("The data is held by another body, not the city."),
    ReasonCode.PERSONAL_OR_CONFIDENTIAL: N_("The data contains personal or confidential "
                                            "information."),
    ReasonCode.LICENSING: N_("The city may not license the data for reuse."),
    ReasonCode.COST: N_("Publishing it would cost more than the city can spend."),
    ReasonCode.OTHER: N_("Another reason, given in the note."),
}

CLOSED = frozenset({RequestStatus.PUBLISHED, RequestStatus.DECLINED})

# Where each status may go next. Moving back from planned to under-review is allowed (a
# plan can fall through); nothing leaves a closed status.
TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.OPEN: frozenset({RequestStatus.UNDER_REVIEW, RequestStatus.PUBLISHED,
                                   RequestStatus.DECLINED}),
    RequestStatus.UNDER_REVIEW: frozenset({RequestStatus.PLANNED, RequestStatus.PUBLISHED,
                                           RequestStatus.DECLINED}),
    RequestStatus.PLANNED: frozenset({RequestStatus.UNDER_REVIEW, RequestStatus.PUBLISHED,
                                      RequestStatus.DECLINED}),
    RequestStatus.PUBLISHED: frozenset(),
    RequestStatus.DECLINED: frozenset(),
}

SORTS = ("votes", "newest", "updated")


@dataclass(frozen=True)
class StatusChange:
    """One move of a request, as staff asked for it (checked by :func:`check_status_change`)."""

    status: RequestStatus
    note: str
    reason_code: ReasonCode | None = None
    target_date: date | None = None
    dataset: str | None = None
    version: int | None = None


# The fields each move needs besides its note; no other move may carry them. Read by
# :func:`status_change` and written into OpenAPI by hub.api.requests.
MOVE_FIELDS: dict[RequestStatus, tuple[str, ...]] = {
    RequestStatus.OPEN: (),
    RequestStatus.UNDER_REVIEW: (),
    RequestStatus.PLANNED: ("target_date",),
    RequestStatus.PUBLISHED: ("dataset", "version"),
    RequestStatus.DECLINED: ("reason_code",),
}
_MISSING = {
    "target_date": "planning needs a 'target_date' (YYYY-MM-DD)",
    "dataset": "publishing needs the 'dataset' and 'version' that answer the request",
    "version": "publishing needs the 'dataset' and 'version' that answer the request",
    "reason_code": "declining needs a 'reason_code', one of: "
                   + ", ".join(c.value for c in ReasonCode),
}
def status_change(status: str, note: str | None, reason_code: str | None = None,
                  target_date: date | None = None, dataset: str | None = None,
                  version: int | None = None) -> StatusChange:
    """Read a move from a body's fields; :class:`InvalidInput` names what is missing or
    unknown. The fields a status does not use must be left out, so nothing is stored that
    the timeline would misstate."""
    try:
        wanted = RequestStatus(status)
    except ValueError:
        raise InvalidInput(f"unknown status {status!r}; one of: "
                           + ", ".join(s.value for s in RequestStatus), "status") from None
    text = clean_optional("note", note, TEXT_MAX)
    if text is None:
        raise InvalidInput("every status change needs a 'note' saying why", "note")
    given = {"target_date": target_date, "dataset": dataset, "version": version,
             "reason_code": reason_code}
    for name in MOVE_FIELDS[wanted]:
        if given[name] is None:
            raise InvalidInput(_MISSING[name], name)
    for name, value in given.items():
        if value is not None and name not in MOVE_FIELDS[wanted]:
            owner = next(s for s, names in MOVE_FIELDS.items() if name in names)
            raise InvalidInput(f"'{name}' is for a move to '{owner.value}' only", name)
    code: ReasonCode | None = None
    if reason_code is not None:
        try:
            code = ReasonCode(reason_code)
        except ValueError:
            raise InvalidInput(f"unknown reason_code {reason_code!r}; one of: "
                               + ", ".join(c.value for c in ReasonCode),
                               "reason_code") from None
    return StatusChange(wanted, text, code, target_date, dataset, version)


def check_status_change(current: RequestStatus, change: StatusChange) -> None:
    """Whether a request in ``current`` may move as ``change`` asks (:class:`Conflict` if
    not: the request's state, not the body, is what stands in the way)."""
    if change.status not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: it is closed"
        raise Conflict(f"a request that is {current.value!r} cannot become "
                       f"{change.status.value!r} (next: {allowed})", "status")


def check_may_vote(current: RequestStatus) -> None:
    """Votes count only while the city is still deciding."""
    if current in CLOSED:
        raise Conflict(f"the request is {current.value}; votes are closed", None)
