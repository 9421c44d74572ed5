"""Publish and withdraw on behalf of a key: the same pipeline, options and audit entry as the
``hub publish`` and ``hub withdraw`` commands.

The routes (``hub.api.publishing``) hand over a file already on disk and the caller's choices;
this module loads the dataset's definition, runs :func:`etl.pipeline.publish_dataset` with the
same :class:`PublishOptions` the CLI builds, and names the audit entry of the outcome
(:func:`publish_audit`), which the CLI uses too, so both doors write the same log.
Version events (``version.published``, ``version.withdrawn``) need no call here: the trigger on
``hub.changes`` emits them in the publish's own transaction, whichever door published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from etl.pipeline import FileSource, PublishOptions, PublishOutcome, publish_dataset
from etl.read import ReadError
from etl.read_limits import ReadLimits
from etl.withdraw import WithdrawRefused, WithdrawResult, withdraw
from hub.catalog import DatasetDefinition, load_definition
from hub.cocreation.city_publish import CommunityRows, city_source
from hub.export.formats import version_group
from hub.settings import Settings
from hub.storage import store_for

__all__ = [
    "PUBLISH_ACTION",
    "WITHDRAW_ACTION",
    "PublishAudit",
    "PublishOptions",
    "PublishOutcome",
    "ReadError",
    "UnknownDataset",
    "WithdrawRefused",
    "WithdrawResult",
    "definition_of",
    "failed_publish_audit",
    "publish_audit",
    "publish_file",
    "publish_options",
    "withdraw_audit",
    "withdraw_version",
]

PUBLISH_ACTION = "version.publish"
WITHDRAW_ACTION = "version.withdraw"

# The audit result of each pipeline status. "ok" is the audit log's word for a write that
# happened (hub.people.audit); the other statuses keep their names.
_AUDIT_RESULTS = {"published": "ok", "unchanged": "unchanged", "refused": "refused",
                  "dry-run": "dry-run"}


class UnknownDataset(LookupError):
    """No dataset definition has this id: nothing can be published to it."""


@dataclass(frozen=True)
class PublishAudit:
    """What the audit log says about one publish: the object, the result and the details."""

    object_type: str
    object_id: str
    result: str
    detail: dict[str, Any] = field(default_factory=dict)


def publish_options(settings: Settings, *, dry_run: bool = False, force: bool = False,
                    skip_invalid: bool = False,
                    on_invalid_optional: str | None = None) -> PublishOptions:
    """The pipeline options for a caller's choices, with the error cap from settings."""
    return PublishOptions(dry_run=dry_run, force=force, skip_invalid=skip_invalid,
                          max_errors=settings.max_errors,
                          on_invalid_optional=on_invalid_optional,
                          read_limits=ReadLimits.from_settings(settings))


def definition_of(settings: Settings, dataset_id: str) -> DatasetDefinition:
    """The dataset's definition, or :class:`UnknownDataset` when no folder defines it."""
    if not (settings.datasets_dir / dataset_id / "dataset.toml").is_file():
        raise UnknownDataset(f"no dataset {dataset_id!r} is defined on this hub")
    return load_definition(dataset_id, settings.datasets_dir, settings.schemas_dir)


def publish_file(engine: Engine, definition: DatasetDefinition, path: Path,
                 options: PublishOptions, *, publisher: str,
                 community: CommunityRows | None = None) -> PublishOutcome:
    """Publish the file at ``path`` (its name is the one reports show) as the next version of
    the dataset through the one pipeline. Blocking: call it from a worker thread.
    ``community``: the current version's community rows, kept or dropped as the dataset
    declares (:func:`hub.cocreation.city_publish.city_source`).

    Raises :class:`ReadError` (not readable as a table) and database errors after the
    publish's transaction has rolled back."""
    return publish_dataset(definition, city_source(definition, FileSource(path), community),
                           options, engine=engine, publisher=publisher)


def publish_audit(outcome: PublishOutcome) -> PublishAudit:
    """The audit entry of a publish that ran: a new version is the object when one was
    written, else the dataset."""
    detail: dict[str, Any] = {"source": outcome.source_name, "rows": outcome.row_count}
    if outcome.status == "published":
        assert outcome.result is not None
        return PublishAudit("version", f"{outcome.dataset_id}/{outcome.version}", "ok",
                            {**detail, "content_sha256": outcome.result.content_sha256})
    if outcome.result is not None:
        detail["content_sha256"] = outcome.result.content_sha256
    if outcome.refused is not None:
        detail.update(refused=outcome.refused, errors=len(outcome.report.errors))
    return PublishAudit("dataset", outcome.dataset_id, _AUDIT_RESULTS[outcome.status], detail)


def failed_publish_audit(dataset_id: str, source_name: str | None, error: str,
                         result: str = "failed") -> PublishAudit:
    """The audit entry of a publish that never reached the pipeline's outcome: ``refused``
    when the upload itself was refused (too large, not a form, not readable as a table),
    ``failed`` when the publish broke (a database failure). Nothing was written."""
    return PublishAudit("dataset", dataset_id, result, {"source": source_name, "error": error})


def withdraw_audit(dataset_id: str, version: int, reason: str,
                   error: str | None = None) -> PublishAudit:
    """The audit entry of a withdrawal: ``ok``, or ``failed`` with why it was refused."""
    detail: dict[str, Any] = {"reason": reason}
    if error is not None:
        detail["error"] = error
    return PublishAudit("version", f"{dataset_id}/{version}",
                        "ok" if error is None else "failed", detail)


def withdraw_version(settings: Settings, engine: Engine, dataset_id: str, version: int,
                     reason: str) -> WithdrawResult:
    """Withdraw ``version`` (410 Gone for its pinned URLs, ``latest`` moved back) in one
    transaction, then delete its bulk files, so nothing withdrawn is served from the
    artifact store; :class:`WithdrawRefused` when it cannot be withdrawn. Blocking."""
    result = withdraw(engine, dataset_id, version, reason)
    store_for(settings).delete_group(version_group(dataset_id, version))
    return result
