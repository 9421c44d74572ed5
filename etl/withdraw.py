"""Withdraw a published version: the one UPDATE a version row ever gets.

A withdrawn version keeps its metadata (listed with status ``withdrawn``, the reason and the
time) but its pinned URLs answer 410 Gone. If it was the dataset's current version,
``latest`` moves back to the newest version still published, or to none. The version's data
table is kept (versions are immutable); its bulk files are deleted by the caller after the
commit (see ``hub withdraw``), so nothing withdrawn is served from the artifact store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select, update

from hub.db.commit_lsn import stamp_commit_lsn
from hub.db.tables import datasets, versions


class WithdrawRefused(ValueError):
    """Unknown dataset or version, already withdrawn, or no reason given."""


@dataclass(frozen=True)
class WithdrawResult:
    dataset_id: str
    version: int
    reason: str
    withdrawn_at: datetime
    current_version: int | None  # after the withdrawal

    def to_dict(self) -> dict[str, object]:
        return {"dataset": self.dataset_id, "version": self.version, "reason": self.reason,
                "withdrawn_at": self.withdrawn_at.isoformat(),
                "current_version": self.current_version}


def withdraw(engine: Engine, dataset_id: str, version: int, reason: str) -> WithdrawResult:
    """Mark ``version`` withdrawn and move ``latest`` back if needed, in one transaction."""
    reason = reason.strip()
    if not reason:
        raise WithdrawRefused("a reason is required: it is shown to everyone who asks for "
                              "the withdrawn version")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        # same lock as publish: a withdrawal and a publish of one dataset never interleave
        current = conn.execute(
            select(datasets.c.current_version).where(datasets.c.id == dataset_id)
            .with_for_update()
        ).first()
        if current is None:
            raise WithdrawRefused(f"unknown dataset {dataset_id!r}")
        status = conn.execute(select(versions.c.status).where(
            versions.c.dataset_id == dataset_id, versions.c.version == version)).scalar()
        if status is None:
            raise WithdrawRefused(f"dataset {dataset_id!r} has no version {version}")
        if status == "withdrawn":
            raise WithdrawRefused(f"version {version} of {dataset_id!r} is already withdrawn")
        conn.execute(
            update(versions)
            .where(versions.c.dataset_id == dataset_id, versions.c.version == version,
                   versions.c.status == "published")
            .values(status="withdrawn", withdrawn_reason=reason, withdrawn_at=now)
        )
        new_current = current[0]
        if current[0] == version:
            new_current = conn.execute(select(func.max(versions.c.version)).where(
                versions.c.dataset_id == dataset_id, versions.c.status == "published"
            )).scalar()
            conn.execute(update(datasets).where(datasets.c.id == dataset_id)
                         .values(current_version=new_current, updated_at=now))
    stamp_commit_lsn(engine, "withdrawn")
    return WithdrawResult(dataset_id, version, reason, now, new_current)
