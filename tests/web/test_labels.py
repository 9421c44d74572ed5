"""Every co-creation code the portal shows has words in both languages: request statuses,
decline reasons (the text of ``REASON_TEXT``, the one table) and contribution statuses."""

from __future__ import annotations

import pytest

from hub.cocreation.contributions import STATUSES as CONTRIBUTION_STATUSES
from hub.cocreation.requests import REASON_TEXT, ReasonCode, RequestStatus
from hub.web.i18n import translations
from hub.web.labels import (
    contribution_status_labels,
    label_functions,
    reason_texts,
    request_status_labels,
)


@pytest.mark.parametrize(("table", "codes"), [
    (request_status_labels, [s.value for s in RequestStatus]),
    (contribution_status_labels, list(CONTRIBUTION_STATUSES)),
    (reason_texts, [c.value for c in ReasonCode]),
])
def test_every_code_has_a_japanese_label(table, codes: list[str]) -> None:  # type: ignore[no-untyped-def]
    english, japanese = table(translations("en")), table(translations("ja"))
    assert sorted(english) == sorted(japanese) == sorted(codes)
    for code in codes:
        assert japanese[code] and japanese[code] != english[code], code
        assert not japanese[code].isascii(), (code, japanese[code])


def test_reasons_are_the_api_texts_in_english() -> None:
    english = reason_texts(translations("en"))
    assert english == {code.value: text for code, text in REASON_TEXT.items()}


def test_one_word_two_meanings_are_told_apart_by_context() -> None:
    """'Published' as a request's status is not the dataset page's date column."""
    ja = translations("ja")
    assert request_status_labels(ja)["published"] == "公開済み"
    assert ja.gettext("Published") != "公開済み"


def test_unknown_codes_show_as_they_are() -> None:
    labels = label_functions(translations("ja"))
    assert labels["reason_text"]("some-new-code") == "some-new-code"
    assert labels["contribution_status_label"](None) == ""
