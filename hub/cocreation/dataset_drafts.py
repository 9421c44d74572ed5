"""New datasets for staff over HTTP: the proposal for an uploaded file, and the definition
folder a confirmed draft becomes, so that the next upload to its id publishes it.

Like :mod:`hub.cocreation.publishing` this is a door from ``hub`` into ``etl``: the rules are
``etl.proposal`` (the same ones ``hub datasets new`` prints); here they meet the server's
settings. A definition is written only once it loads exactly as publishing will load it
(:meth:`hub.catalog.DatasetDefinition.load`), and never over an existing one.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
import time
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from etl.proposal import Proposal, ProposalError, propose
from etl.read import ReadError
from hub.catalog import DATASET_ID, DatasetDefinition, DefinitionError
from hub.settings import Settings

__all__ = ["DEFINE_ACTION", "Choices", "DefinitionExists", "InvalidDraft", "KeptUploads",
           "Proposal", "ProposalError", "ReadError", "UnknownDraft", "define_dataset",
           "propose_upload"]

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


# Kept uploads: the console corrects a proposal over several pages, each re-proposing from
# the file; the file waits in a folder of its own, named by a random id and owned by one key.
KEPT_FOR_S = 24 * 3600
_DRAFT_ID = re.compile(r"^[0-9]+-[A-Za-z0-9_-]{22}$")
CHOICES_FILE = "choices.json"


class UnknownDraft(LookupError):
    """No kept upload has this id for this key (or it expired)."""


@dataclass
class Choices:
    """A person's corrections so far: the schema, the dataset id, header -> field (None:
    left unmapped)."""

    schema: str | None = None
    dataset_id: str | None = None
    columns: dict[str, str | None] = field(default_factory=dict)


class KeptUploads:
    """Uploads waiting for their proposal to be confirmed, under ``<data_dir>/drafts``."""

    def __init__(self, settings: Settings) -> None:
        self.root = settings.data_dir / "drafts"

    def keep(self, upload: Path, key_id: int) -> str:
        """Move ``upload`` here; the id names it for this key only. Expired ones go."""
        self._forget_expired()
        draft_id = f"{key_id}-{secrets.token_urlsafe(16)}"
        folder = self.root / draft_id
        folder.mkdir(parents=True)
        shutil.move(upload, folder / upload.name)
        return draft_id

    def file(self, draft_id: str, key_id: int) -> Path:
        folder = self._folder(draft_id, key_id)
        files = [p for p in folder.iterdir() if p.name not in (CHOICES_FILE, DEFINITION_FILE)]
        if not files:
            raise UnknownDraft("this draft's file is gone; upload it again")
        return files[0]

    def choices(self, draft_id: str, key_id: int) -> Choices:
        path = self._folder(draft_id, key_id) / CHOICES_FILE
        if not path.exists():
            return Choices()
        return Choices(**json.loads(path.read_text(encoding="utf-8")))

    def remember(self, draft_id: str, key_id: int, choices: Choices, draft: str) -> None:
        """The choices and the draft they gave (what a download or a create takes)."""
        folder = self._folder(draft_id, key_id)
        (folder / CHOICES_FILE).write_text(json.dumps(asdict(choices), ensure_ascii=False),
                                           encoding="utf-8")
        (folder / DEFINITION_FILE).write_text(draft, encoding="utf-8")

    def draft(self, draft_id: str, key_id: int) -> str:
        path = self._folder(draft_id, key_id) / DEFINITION_FILE
        if not path.exists():
            raise UnknownDraft("this upload has no draft yet")
        return path.read_text(encoding="utf-8")

    def discard(self, draft_id: str, key_id: int) -> None:
        shutil.rmtree(self._folder(draft_id, key_id), ignore_errors=True)

    def _folder(self, draft_id: str, key_id: int) -> Path:
        if not _DRAFT_ID.match(draft_id) or not draft_id.startswith(f"{key_id}-"):
            raise UnknownDraft("no such draft for this key")
        folder = self.root / draft_id
        if not folder.is_dir():
            raise UnknownDraft("no such draft (drafts are kept for a day); upload the file "
                               "again")
        return folder

    def _forget_expired(self) -> None:
        if not self.root.is_dir():
            return
        now = time.time()
        for folder in self.root.iterdir():
            if folder.is_dir() and now - folder.stat().st_mtime > KEPT_FOR_S:
                shutil.rmtree(folder, ignore_errors=True)
