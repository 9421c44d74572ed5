"""Read the files of a feed that the hub imports, and say what it does with the others."""

from __future__ import annotations

from collections.abc import Callable

from etl.gtfs.archive import Feed
from etl.gtfs.spec import (
    CALENDAR_FILES,
    IMPORTED_FILES,
    REQUIRED_FILES,
    SPECS,
    STANDARD_NOT_IMPORTED,
)
from etl.gtfs.tables import FeedTable, load_table, read_csv_bytes
from etl.read import ReadError
from etl.report import Issue, Report, Severity

# Files read even though they are not imported as layers (checks and warnings need them).
READ_FILES = (*sorted(IMPORTED_FILES), "frequencies.txt")


def read_feed_tables(
    feed: Feed, report: Report, progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, FeedTable]:
    """The imported files of ``feed`` as :class:`FeedTable` (absent files are absent).

    Missing required files and unreadable files are errors in ``report``; files the hub does
    not import are listed in one warning each (standard-but-not-imported, non-standard).
    """
    names = feed.names
    if feed.root:
        report.warning(row=None, column=None, field=None, value=feed.root, rule="feed-folder",
                       message=f"the feed's files are inside the folder '{feed.root}' of the "
                       "archive, not at its root; read from there")
    for missing in (n for n in REQUIRED_FILES if n not in names):
        file_issue(report, missing, "missing-file",
                              f"{missing} is required by GTFS and the feed has no such file")
    if not any(n in names for n in CALENDAR_FILES):
        file_issue(report, "calendar.txt", "missing-file",
                              "the feed has neither calendar.txt nor calendar_dates.txt; one "
                              "of them is required to know when trips run")
    _list_other_files(feed, report)
    wanted = [n for n in READ_FILES if n in names]
    tables: dict[str, FeedTable] = {}
    for done, name in enumerate(wanted, start=1):
        try:
            raw = read_csv_bytes(name, feed.read(name))
        except ReadError as exc:
            if name in REQUIRED_FILES or name in CALENDAR_FILES:
                file_issue(report, name, "unreadable-file", exc.message)
            else:
                file_issue(report, name, "unreadable-file", f"{exc.message}; the file is ignored",
                           severity="warning")
            continue
        table = load_table(name, raw, SPECS[name])
        report.rows_read += len(table)
        missing = [c for c in table.spec.required_columns if not table.has(c)]
        if missing:
            essential = name in REQUIRED_FILES or name in CALENDAR_FILES
            for column in missing:
                table.file_issue(
                    "missing-column",
                    f"{name} has no column '{column}', which GTFS requires"
                    + ("" if essential else "; the file is ignored"),
                    severity="error" if essential else "warning", field_name=column, row=1)
            if not essential:
                table.report_to(report)
                continue
        tables[name] = table
        if progress:
            progress("read", done, len(wanted))
    return tables


def _list_other_files(feed: Feed, report: Report) -> None:
    names = feed.names
    read = set(READ_FILES)
    standard = sorted(n for n in names if n in STANDARD_NOT_IMPORTED and n not in read)
    other = sorted(n for n in names if n not in read and n not in STANDARD_NOT_IMPORTED)
    other += feed.outside_root
    if standard:
        report.warning(row=None, column=None, field=None, value=", ".join(standard),
                       rule="file-not-imported",
                       message="standard GTFS/GTFS-JP files the hub does not import (kept in "
                       f"the source only): {', '.join(standard)}")
    if other:
        report.warning(row=None, column=None, field=None, value=", ".join(other),
                       rule="non-standard-file",
                       message="files that are not part of GTFS or GTFS-JP, ignored: "
                       f"{', '.join(other)}")


def file_issue(report: Report, file: str, rule: str, message: str,
               severity: Severity = "error") -> None:
    """A problem with a whole file of the feed (no row, no column)."""
    report.add(Issue(file=file, row=None, column=None, field=None, value=None, rule=rule,
                     message=message, severity=severity))
