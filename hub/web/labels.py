"""Co-creation codes as words in the page's language.

The codes and their English texts live once, in ``hub.cocreation`` (``RequestStatus``,
``ReasonCode`` with ``REASON_TEXT``, the contribution ``STATUSES``); here each code gets the
gettext message the catalogues translate. The status labels carry a gettext context because
the same English word means something else elsewhere on the pages ("Published" is also the
dataset page's date column). ``tests/web/test_labels.py`` fails when a code has no label or
no Japanese translation.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable

from hub.cocreation.requests import REASON_TEXT, ReasonCode, RequestStatus


def request_status_labels(t: gettext.NullTranslations) -> dict[str, str]:
    return {
        RequestStatus.OPEN: t.pgettext("request status", "Open"),
        RequestStatus.UNDER_REVIEW: t.pgettext("request status", "Under review"),
        RequestStatus.PLANNED: t.pgettext("request status", "Planned"),
        RequestStatus.PUBLISHED: t.pgettext("request status", "Published"),
        RequestStatus.DECLINED: t.pgettext("request status", "Declined"),
    }


def contribution_status_labels(t: gettext.NullTranslations) -> dict[str, str]:
    """Keyed by ``hub.cocreation.contributions.STATUSES``, in words a contributor reads."""
    return {
        "pending": t.pgettext("contribution status", "Waiting for a moderator"),
        "accepted": t.pgettext("contribution status", "Accepted (in the next version)"),
        "rejected": t.pgettext("contribution status", "Declined"),
        "published": t.pgettext("contribution status", "Published"),
    }


def reason_texts(t: gettext.NullTranslations) -> dict[str, str]:
    """Each decline reason code's text (``REASON_TEXT``), translated."""
    return {code.value: t.gettext(REASON_TEXT[code]) for code in ReasonCode}


def label_functions(t: gettext.NullTranslations) -> dict[str, Callable[[str | None], str]]:
    """The template globals of one language: code -> words (an unknown code shows as is)."""
    requests, contributions, reasons = (request_status_labels(t),
                                        contribution_status_labels(t), reason_texts(t))

    def lookup(table: dict[str, str]) -> Callable[[str | None], str]:
        return lambda code: "" if code is None else table.get(code, code)

    return {"request_status_label": lookup(requests),
            "contribution_status_label": lookup(contributions),
            "reason_text": lookup(reasons)}
