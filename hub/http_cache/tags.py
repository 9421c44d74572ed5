"""Cache tags: the one naming of "which dataset version a cached response shows".

Every cacheable response names the dataset versions it was built from in ``Hub-Cache-Tags``
(space-separated): ``<dataset>@<n>`` for a pinned version, ``<dataset>@latest`` for an answer
that follows ``latest``. A publish or withdrawal bans by tag (``Hub-Cache-Ban``), so the
shared cache drops exactly the responses that can have changed: a publish moves ``latest``
only; a withdrawal makes the pinned version 410 and may move ``latest`` back. Pinned
responses of other versions stay cached, since they never change.

The VCL (deploy/varnish/hub.vcl) checks each banned tag against :data:`TAG_PATTERN`'s
spelling before it builds a ban from it.
"""

from __future__ import annotations

import re

TAGS_HEADER = "Hub-Cache-Tags"
BAN_HEADER = "Hub-Cache-Ban"
LATEST = "latest"
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*@(latest|[0-9]+)$")


def cache_tag(dataset_id: str, version: int, *, pinned: bool) -> str:
    """The tag of a response built from ``version`` of ``dataset_id``, reached by its pinned
    URL (``pinned``) or through ``latest``."""
    return f"{dataset_id}@{version if pinned else LATEST}"


def tags_to_ban(kind: str, dataset_id: str, version: int) -> tuple[str, ...]:
    """What a change (a ``hub.changes`` row: ``publish`` or ``withdraw``) makes stale."""
    latest = cache_tag(dataset_id, version, pinned=False)
    if kind == "withdraw":
        return (cache_tag(dataset_id, version, pinned=True), latest)
    return (latest,)
