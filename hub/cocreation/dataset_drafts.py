"""New datasets for staff over HTTP: the proposal for an uploaded file, and the definition
folder a confirmed draft becomes, so that the next upload to its id publishes it.

Like :mod:`hub.cocreation.publishing` this is a door from ``hub`` into ``etl``: the rules are
``etl.proposal`` (the same ones ``hub datasets new`` prints); here they meet the server's
settings. A definition is written only once it loads exactly as publishing will load it
(:meth:`hub.catalog.DatasetDefinition.load`), and never over an existing one.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path

from etl.proposal import Proposal, ProposalError, propose
from etl.read import ReadError
from hub.catalog import DATASET_ID, DatasetDefinition, DefinitionError
from hub.settings import Settings

__all__ = ["DEFINE_ACTION", "DefinitionExists", "InvalidDraft", "Proposal", "ProposalError",
           "ReadError", "define_dataset", "propose_upload"]

DEFINE_ACTION = "dataset.define"
DEFINITION_FILE = "dataset.toml"


class InvalidDraft(ValueError):
    """A dataset.toml sent to be defined does not load; the message says where and why."""


class DefinitionExists(Exception):
    """The dataset id is already defined on this hub; a definition is never overwritten."""


def propose_upload(settings: Settings, path: Path, *, dataset_id: str | None = None,
                   sheet: str | None = None, schema: str | None = None,
                   columns: Mapping[str, str | None] | None = None) -> Proposal:
    """The proposal for an uploaded file (blocking: call it from a worker thread)."""
    return propose(path, settings.schemas_dir, dataset_id=dataset_id, sheet=sheet,
                   schema=schema, columns=columns)


def define_dataset(settings: Settings, dataset_id: str, text: str) -> DatasetDefinition:
    """Write ``text`` as ``datasets/<dataset_id>/dataset.toml`` once it loads as a definition
    whose id is ``dataset_id``; raise :class:`InvalidDraft` or :class:`DefinitionExists`."""
    if not DATASET_ID.match(dataset_id):
        raise InvalidDraft(f"dataset id {dataset_id!r} must match {DATASET_ID.pattern}")
    try:
        stated = tomllib.loads(text).get("id")
    except tomllib.TOMLDecodeError as exc:
        raise InvalidDraft(f"{DEFINITION_FILE}: invalid TOML: {exc}") from exc
    if stated != dataset_id:
        raise InvalidDraft(f"{DEFINITION_FILE}: id {stated!r} is not the dataset id "
                           f"{dataset_id!r} of the request")
    settings.datasets_dir.mkdir(parents=True, exist_ok=True)
    folder = settings.datasets_dir / dataset_id
    if folder.exists():
        raise DefinitionExists(f"dataset {dataset_id!r} is already defined on this hub")
    staging = Path(tempfile.mkdtemp(prefix=f".{dataset_id}-", dir=settings.datasets_dir))
    try:
        (staging / DEFINITION_FILE).write_text(text, encoding="utf-8")
        try:
            DatasetDefinition.load(staging / DEFINITION_FILE, settings.schemas_dir)
        except DefinitionError as exc:
            raise InvalidDraft(str(exc).replace(str(staging / DEFINITION_FILE),
                                                DEFINITION_FILE)) from exc
        try:
            os.rename(staging, folder)  # atomic; fails if another request defined it first
        except OSError as exc:
            raise DefinitionExists(f"dataset {dataset_id!r} is already defined on this "
                                   "hub") from exc
    finally:
        if staging.exists():
            (staging / DEFINITION_FILE).unlink(missing_ok=True)
            staging.rmdir()
    folder.chmod(0o755)
    return DatasetDefinition.load(folder / DEFINITION_FILE, settings.schemas_dir)
