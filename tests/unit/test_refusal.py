"""The one refusal rule: errors refuse unless --skip-invalid dropped the invalid rows;
file-level errors always refuse; warnings never do."""

from __future__ import annotations

from etl.pipeline import PublishOptions, refusal
from etl.report import Report

SKIP = PublishOptions(skip_invalid=True)


def _report(*, row_error: bool = False, file_error: bool = False, warning: bool = False,
            skipped: int = 0) -> Report:
    report = Report(file="shops.csv", rows_read=10, rows_skipped=skipped)
    if row_error:
        report.error(row=5, column="階数", field="floors", value="三階", rule="type:integer",
                     message="'三階' is not a whole number")
    if file_error:
        report.error(row=None, column=None, field="name", value=None, rule="missing-column",
                     message="no column for field 'name' (required)")
    if warning:
        report.warning(row=3, column="緯度", field="latitude", value="139.7",
                       rule="swapped-coordinates", message="looked swapped")
    return report


def test_warnings_never_refuse() -> None:
    assert refusal(_report(warning=True), PublishOptions()) is None


def test_errors_refuse_without_skip_invalid() -> None:
    reason = refusal(_report(row_error=True, warning=True), PublishOptions())
    assert reason is not None and reason.startswith("1 validation error(s)")
    assert "--skip-invalid" in reason


def test_skip_invalid_accepts_once_the_invalid_rows_are_dropped() -> None:
    assert refusal(_report(row_error=True, skipped=1), SKIP) is None


def test_skip_invalid_cannot_drop_errors_no_row_was_dropped_for() -> None:
    # a preparer that drops nothing (a GTFS feed) leaves its errors in place
    assert refusal(_report(row_error=True, skipped=0), SKIP) is not None


def test_file_level_errors_refuse_even_when_rows_were_dropped() -> None:
    reason = refusal(_report(row_error=True, file_error=True, skipped=1), SKIP)
    assert reason is not None and "file as a whole" in reason


def test_file_level_errors_do_not_suggest_skip_invalid() -> None:
    reason = refusal(_report(row_error=True, file_error=True), PublishOptions())
    assert reason is not None and reason.startswith("2 validation error(s)")
    assert "which --skip-invalid cannot drop" in reason
    assert "use --skip-invalid" not in reason
