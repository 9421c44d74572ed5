"""Showcases (reuses): their kinds and how staff decide them.

A showcase is listed only once approved; a rejection carries its reason, which the
submitter sees. The datasets a showcase uses are pinned to versions so that a paper's
citation stays reproducible.
"""

from __future__ import annotations

from enum import StrEnum

from hub.cocreation.errors import Conflict, InvalidInput
from hub.cocreation.text import TEXT_MAX, clean_optional

MAX_DATASETS = 50
MAX_AUTHORS = 50


class ShowcaseKind(StrEnum):
    APP = "app"
    SERVICE = "service"
    VISUALISATION = "visualisation"
    PAPER = "paper"
    ARTICLE = "article"
    DATASET = "dataset"


class ShowcaseStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


def decide(current: ShowcaseStatus, decision: Decision, reason: str | None
           ) -> tuple[ShowcaseStatus, str | None]:
    """The status and stored reason after ``decision``; a rejection needs a reason, and a
    decided showcase is not decided again."""
    if current is not ShowcaseStatus.PENDING:
        raise Conflict(f"the showcase was already {current.value}", "decision")
    text = clean_optional("reason", reason, TEXT_MAX)
    if decision is Decision.REJECT:
        if text is None:
            raise InvalidInput("rejecting a showcase needs a 'reason' the submitter will see",
                               "reason")
        return ShowcaseStatus.REJECTED, text
    return ShowcaseStatus.APPROVED, text
