"""Validation reports: every problem found in a source file, located by file, row and column.

A report is the contract between the ETL stages and the people who publish: the CLI prints
it as a table or JSON, and it is stored (warnings only) with the version it produced.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# ``info``: a note on how the file was read (a section row taken as a heading), not a problem.
Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Issue:
    """One problem. ``row`` is the 1-based physical line (CSV) or sheet row (XLSX) where the
    record starts in the source file, so staff can find it in their editor; ``column`` is the
    header as written in the file, ``field`` the schema field it maps to."""

    file: str
    row: int | None
    column: str | None
    field: str | None
    value: str | None
    rule: str
    message: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    """Errors and warnings of one run, capped at ``max_errors`` errors."""

    file: str
    max_errors: int = 1000
    issues: list[Issue] = field(default_factory=list)
    truncated: bool = False
    rows_read: int = 0
    rows_skipped: int = 0

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def notes(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "info"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, issue: Issue) -> None:
        if issue.severity == "error" and len(self.errors) >= self.max_errors:
            self.truncated = True
            return
        self.issues.append(issue)

    def extend(self, issues: list[Issue]) -> None:
        for issue in issues:
            self.add(issue)

    def error(self, **kwargs: Any) -> None:
        self.add(Issue(file=self.file, severity="error", **kwargs))

    def warning(self, **kwargs: Any) -> None:
        self.add(Issue(file=self.file, severity="warning", **kwargs))

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "ok": self.ok,
            "rows_read": self.rows_read,
            "rows_skipped": self.rows_skipped,
            "error_count": len(self.errors),
            "warning_count": len(self.warnings),
            "note_count": len(self.notes),
            "truncated": self.truncated,
            "issues": [i.to_dict() for i in self.issues],
        }
