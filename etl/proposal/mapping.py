"""Which column of a file feeds which field of one schema, and how sure that is.

Three rules, strongest first, each taking only the headers and fields the stronger ones left:

``spelling`` (1.0)
    The field's name, title, ``title_ja`` or a synonym, compared as publishing compares them
    (:func:`etl.normalise.match_headers`): publishing maps these on its own.
``folded`` (0.8)
    The same spellings after the search folding of :mod:`hub.textfold` (kana, long-vowel
    marks, 車いす/車椅子 ...): トイレ名称 and ﾄｲﾚ名称 meet.
``partial`` (0.5)
    The header contains a spelling (緯度（世界測地系） contains 緯度); the longest wins. Only
    spellings long enough to mean something alone count (:data:`PARTIAL_MIN_LETTERS`).

Coordinates told apart by their values (:mod:`etl.proposal.geometry`) come as ``coordinates``
(0.9), and a person's choice as ``chosen`` (1.0).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from etl.normalise import header_key, match_headers
from hub.catalog import TableSchema
from hub.textfold import fold_query

CONFIDENCE = {"spelling": 1.0, "chosen": 1.0, "coordinates": 0.9, "folded": 0.8,
              "partial": 0.5}
# A spelling found inside a longer header must be at least this long: 2 for Japanese
# (緯度, 住所), 4 for Latin letters ("name", not "no" or "id").
PARTIAL_MIN_LETTERS = {"latin": 4, "other": 2}
_LATIN = re.compile(r"^[\x00-\x7f]+$")


@dataclass(frozen=True)
class ColumnMatch:
    """One column feeding one field: ``header`` as the file's reader named it."""

    header: str
    field: str
    rule: str

    @property
    def confidence(self) -> float:
        return CONFIDENCE[self.rule]

    def to_dict(self) -> dict[str, object]:
        return {"header": self.header, "field": self.field, "rule": self.rule,
                "confidence": self.confidence}


def loose_key(header: str) -> str:
    """A header as the ``folded`` rule compares it: publishing's comparison, then search
    folding."""
    return fold_query(header_key(header))


def map_columns(headers: list[str], schema: TableSchema) -> list[ColumnMatch]:
    """The columns of ``headers`` that feed ``schema``'s fields, by the rules above."""
    exact, _unmatched = match_headers(headers, schema, {})
    matches = [ColumnMatch(header, name, "spelling") for name, header in exact.items()]
    taken_headers = set(exact.values())
    taken_fields = set(exact)
    spellings = _folded_spellings(schema)
    for header in headers:
        name = spellings.get(loose_key(header))
        if header in taken_headers or name is None or name in taken_fields:
            continue
        matches.append(ColumnMatch(header, name, "folded"))
        taken_headers.add(header)
        taken_fields.add(name)
    for header in headers:
        if header in taken_headers:
            continue
        name = _partial(loose_key(header), spellings, taken_fields)
        if name is not None:
            matches.append(ColumnMatch(header, name, "partial"))
            taken_headers.add(header)
            taken_fields.add(name)
    order = {h: i for i, h in enumerate(headers)}
    return sorted(matches, key=lambda m: order[m.header])


def _spellings(schema: TableSchema) -> Iterable[tuple[str, str]]:
    for f in schema.fields:
        for spelling in (f.name, f.title, f.title_ja, *f.synonyms):
            if spelling:
                yield spelling, f.name


def _folded_spellings(schema: TableSchema) -> dict[str, str]:
    """Folded spelling -> field; a folded spelling two fields share names neither."""
    found: dict[str, str] = {}
    shared: set[str] = set()
    for spelling, name in _spellings(schema):
        key = loose_key(spelling)
        if key in found and found[key] != name:
            shared.add(key)
        found.setdefault(key, name)
    return {key: name for key, name in found.items() if key not in shared}


def _partial(key: str, spellings: dict[str, str], taken: set[str]) -> str | None:
    best: tuple[int, str] | None = None
    for spelling, name in spellings.items():
        if name in taken or spelling == key or spelling not in key:
            continue
        kind = "latin" if _LATIN.match(spelling) else "other"
        if len(spelling) < PARTIAL_MIN_LETTERS[kind]:
            continue
        if best is None or len(spelling) > best[0]:
            best = (len(spelling), name)
    return best[1] if best else None
