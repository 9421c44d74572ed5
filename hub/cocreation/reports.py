"""Reports: anyone with a key may report any co-created item as abusive or wrong.

An item reported by :data:`HIDE_AT` distinct keys is hidden from lists and pages until a
moderator looks: ``keep`` shows it again (and only reports made after that review count
toward hiding it again), ``remove`` keeps it hidden for good. One rule for every kind of
item; a kind of item joins by being named in :class:`ItemKind` and given a table in
``hub.query.reports.REPORTABLE``.
"""

from __future__ import annotations

from enum import StrEnum

HIDE_AT = 3


class ItemKind(StrEnum):
    REQUEST = "request"
    COMMENT = "comment"
    SHOWCASE = "showcase"
    CONTRIBUTION = "contribution"


class Review(StrEnum):
    KEEP = "keep"
    REMOVE = "remove"


def hidden_after_report(distinct_reporters_since_review: int) -> bool:
    """Whether an item with this many distinct reporters (since its last review) is hidden."""
    return distinct_reporters_since_review >= HIDE_AT


def hidden_after_review(review: Review) -> bool:
    return review is Review.REMOVE
