"""Keywords as CKAN tags: the one cleaning rule the CKAN read API and `hub ckan push` share.

CKAN refuses a tag with characters outside letters, digits, space, ``-``, ``_`` and ``.``, or
shorter than 2 or longer than 100 characters. The read API must show the tags a push would
write, or a harvester comparing the two sees a change that is not there; so both ask here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_TAG_BAD = re.compile(r"[^\w \-.]", re.UNICODE)
TAG_MIN, TAG_MAX = 2, 100


def ckan_tag(keyword: str) -> str | None:
    """One keyword as CKAN accepts it, or None when too little of it is left."""
    tag = _TAG_BAD.sub(" ", unicodedata.normalize("NFKC", str(keyword)))
    tag = re.sub(r"\s+", " ", tag).strip()[:TAG_MAX].strip()
    return tag if len(tag) >= TAG_MIN else None


def ckan_tags(keywords: Iterable[str] | None) -> list[str]:
    """Keywords as CKAN tags: cleaned, empty ones dropped, case-insensitive duplicates
    removed (the first spelling wins), sorted."""
    seen: dict[str, str] = {}
    for keyword in keywords or ():
        tag = ckan_tag(keyword)
        if tag:
            seen.setdefault(tag.lower(), tag)
    return sorted(seen.values())
