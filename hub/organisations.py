"""The organisation rule: a dataset's publisher text -> the name catalogues know it by.

The hub writes organisations as ``日本語名 (English Name)``. CKAN (the read API and
``hub ckan push``) and DCAT (the publisher's IRI) need a stable machine name for them; both
ask :func:`organisation_of`, so a harvester reading the hub and one reading a CKAN the hub
pushed to see the same organisation names.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass


def slug(text: str, *, fallback_prefix: str = "x", max_length: int = 100) -> str:
    """A CKAN-valid name (2-100 of ``[a-z0-9_-]``) derived stably from ``text``.

    ASCII letters and digits survive (after NFKC, lower-cased), runs of anything else become
    one ``-``. Text with a parenthesised ASCII part, as the hub's organisations are written
    (``神戸市 (Kobe City)``), uses that part: ``kobe-city``. Text with too little ASCII
    (``焼津市``) gets ``<prefix>-<first 10 hex of its SHA-1>``, stable as long as the text is.
    """
    normalised = unicodedata.normalize("NFKC", text).strip()
    bracketed = re.findall(r"\(([^()]*)\)", normalised)
    candidates = [b for b in bracketed if re.search(r"[A-Za-z]", b)] + [normalised]
    for candidate in candidates:
        ascii_only = re.sub(r"[^a-z0-9]+", "-", candidate.lower()).strip("-")
        if len(ascii_only) >= 2 and _ascii_share(candidate) >= 0.5:
            return ascii_only[:max_length].strip("-")
    digest = hashlib.sha1(normalised.encode("utf-8")).hexdigest()[:10]
    return f"{fallback_prefix}-{digest}"


def _ascii_share(text: str) -> float:
    letters = [c for c in text if not c.isspace() and c not in "()-_.,/"]
    if not letters:
        return 0.0
    return sum(1 for c in letters if c.isascii()) / len(letters)


@dataclass(frozen=True)
class Organisation:
    name: str  # CKAN-valid slug: lower-case ascii, digits, - and _, 2..100 characters
    title: str  # the Japanese name as published
    title_en: str | None
    display: str  # the catalogue's organisation string, unchanged


def organisation_of(text: str) -> Organisation:
    """``焼津市 (Yaizu City)`` -> name ``yaizu-city``, title ``焼津市``, English ``Yaizu City``."""
    normalised = unicodedata.normalize("NFKC", text).strip()
    match = re.match(r"^(.*?)\s*\(([^()]*)\)\s*$", normalised)
    local, english = (match.group(1).strip(), match.group(2).strip()) if match else (
        normalised, None)
    return Organisation(slug(text, fallback_prefix="org"), local or normalised, english, text)
