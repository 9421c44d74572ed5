"""Where bulk files live: a small key -> bytes store with atomic, all-or-nothing groups.

The hub only needs a handful of operations from an artifact store, so that an S3-compatible
store can replace the local directory later without touching the exporters or the API:

* :meth:`ArtifactStore.stage` opens a *staging area* for one group of files (one version's
  downloads); files are written there by streaming, and :meth:`Staging.commit` publishes the
  whole group at once (a directory rename locally; "manifest written last" on object stores).
  A staging area that is never committed leaves nothing visible.
* :meth:`ArtifactStore.read_text`, :meth:`ArtifactStore.size` and :meth:`ArtifactStore.open_range`
  read committed files (ranges for HTTP ``Range`` requests).
* :meth:`ArtifactStore.lock` serialises the generation of one group across processes.
* :meth:`ArtifactStore.delete_group` removes a group (withdrawn versions).
"""

from hub.storage.base import ArtifactStore, Staging, StoreError
from hub.storage.local import LocalArtifactStore

__all__ = ["ArtifactStore", "LocalArtifactStore", "Staging", "StoreError", "store_for"]


def store_for(settings: object) -> ArtifactStore:
    """The store configured by ``HUB_ARTIFACT_DIR`` (the only backend for now)."""
    return LocalArtifactStore(settings.artifact_dir)  # type: ignore[attr-defined]
