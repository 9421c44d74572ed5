"""How text is folded for search, so that the spellings of one word meet.

Japanese writes one word many ways: 車いす, 車椅子 and 車イス; センター and センタ; ｾﾝﾀｰ in
half-width; 三ケ名 and 三ヶ名; 便所 and トイレ. Search compares folded text with folded text, so
the one rule here is used on both sides: for the indexed side (each version table's ``_search``
column written at publish, the catalogue's search columns) and for the query side (``q`` on
records and on datasets). It lives beside :mod:`hub.catalog`, below ``hub.query``, so that
``etl`` and ``hub.query`` import the same function.

Two steps:

* :func:`fold_spelling` (code): NFKC (width, compatibility forms), lower case, the marks that
  stand for a long vowel after kana (``ー``, ``-``, ``〜`` ...) made one ``ー`` and elsewhere
  dashes ``-`` and waves ``~``, a trailing ``ー`` dropped from katakana words of three or more
  kana (JIS Z 8301 spells センタ for センター), katakana to hiragana, small ヶ/ヵ to け/か.
* canonical synonyms (data, ``schemas/search-synonyms.toml``): every spelling of a group
  becomes the group's first spelling, so the query 車椅子 and the stored 車イス meet.

The indexed side stores the spelling fold and, when synonyms changed it, the canonical text
after it (:func:`fold_indexed`); the query side is canonical (:func:`fold_query`). A query
for a whole synonym matches the canonical part, and a query for part of a word (車椅) or for
a word that a synonym swallowed (バリアフリー in バリアフリートイレ) still matches the
spelling part. Matching stays substring matching, which the trigram index serves.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

# Bump when fold_spelling's rules change: the identity of stored search text changes with it.
SPELLING_RULES = 1
SYNONYMS_FILE = Path(__file__).resolve().parents[1] / "schemas" / "search-synonyms.toml"

_KATAKANA = "ァ-ヺ"
_KANA = "ぁ-ゖァ-ヺ"
# Marks people type for a long vowel, besides ー itself: dashes, minus signs, box-drawing
# lines and waves (NFKC has already made ｰ into ー, － into - and ～ into ~).
_DASHES = "\\-‐‑‒–—―−─━﹣"
_WAVES = "~〜〰"
_MARK = f"[ー{_DASHES}{_WAVES}]"
_MARKS = re.compile(f"{_MARK}+")
_IS_KANA = re.compile(f"[{_KANA}]")
_MARK_TO_ASCII = str.maketrans({**{c: "-" for c in "ー‐‑‒–—―−─━﹣"},
                                **{c: "~" for c in "〜〰"}})
# A katakana word ending in long-vowel marks (no lookbehind: re finds the word's start by
# scanning from the left, and a lookbehind would cost it its first-character scan).
_KATAKANA_LONG_END = re.compile(f"([{_KATAKANA}ー]*[{_KATAKANA}])ー+(?![{_KATAKANA}ー])")
_TO_HIRAGANA = {c: c - 0x60 for c in range(ord("ァ"), ord("ヶ") + 1)}
_TO_HIRAGANA.update({ord("ヽ"): "ゝ", ord("ヾ"): "ゞ", ord("ゕ"): "か", ord("ゖ"): "け",
                     ord("ヵ"): "か", ord("ヶ"): "け"})


def _code_point_table(mapping: dict[int, int | str]) -> np.ndarray:
    """A ``str.translate`` mapping of code points below U+10000 (one character each) as a
    table over all 65,536 of them, for :func:`_mapped`."""
    table = np.arange(1 << 16, dtype="<u4")
    for code, to in mapping.items():
        table[code] = to if isinstance(to, int) else ord(to)
    return table


# _TO_HIRAGANA as a table over the code points below U+10000 (all it maps): one numpy gather
# does what str.translate does a dictionary lookup per character for (0.3 -> 0.03 s on the
# bench's 5M characters of distinct addresses).
_HIRAGANA_OF = _code_point_table(_TO_HIRAGANA)
_SEP = "\0"
# Passes of synonym replacement before a text counts as canonical (a group's spelling may be
# written with another group's words: 車椅子トイレ -> 車いすといれ -> 車いす使用者用といれ).
_MAX_PASSES = 4


class SynonymError(ValueError):
    """The synonym file is malformed; the message names the file, the group and the rule."""


def _drop_trailing_long_mark(match: re.Match[str]) -> str:
    stem = match.group(1)
    return stem if len(stem) >= 3 else match.group(0)


def _long_mark(match: re.Match[str]) -> str:
    """After kana, any run of marks is one long vowel; elsewhere a dash or a wave (the ー
    typed in 4ー13ー7 is a dash)."""
    start = match.start()
    if start and _IS_KANA.match(match.string, start - 1):
        return "ー"
    return match.group(0).translate(_MARK_TO_ASCII)


# _long_mark's rule without a Python call per run (addresses hold a dash or two per cell:
# 334k calls on the bench's distinct values): a run after kana becomes a stand-in, then one
# table gather makes the stand-in ー and every other mark ASCII. The stand-in is a
# private-use character; text that holds it takes the per-run path.
_STAND_IN = "\ue000"
_KANA_THEN_MARKS = re.compile(f"([{_KANA}]){_MARK}+")
_MARKS_AFTER_STAND_IN = _code_point_table({**_MARK_TO_ASCII, ord(_STAND_IN): "ー"})


def _long_marks(text: str) -> str:
    """Every run of marks in ``text`` as :func:`_long_mark` makes it."""
    if _STAND_IN in text:
        return _MARKS.sub(_long_mark, text)
    return _mapped(_KANA_THEN_MARKS.sub("\\1" + _STAND_IN, text), _MARKS_AFTER_STAND_IN)


def fold_spelling(text: str) -> str:
    """Width, case, long-vowel marks and kana folded; no synonyms (see the module)."""
    text = unicodedata.normalize("NFKC", text).lower()
    if text.isascii():
        return text
    text = _long_marks(text)
    text = _KATAKANA_LONG_END.sub(_drop_trailing_long_mark, text)
    return _to_hiragana(text)


def _to_hiragana(text: str) -> str:
    """``text.translate(_TO_HIRAGANA)``, by :data:`_HIRAGANA_OF`."""
    return _mapped(text, _HIRAGANA_OF)


def _mapped(text: str, table: np.ndarray) -> str:
    """Each code point below U+10000 replaced by its entry in ``table`` (65,536 code
    points), the others kept: ``str.translate`` without a dictionary lookup per character,
    in one numpy gather over the UTF-32 text (one unit per code point, lone surrogates
    included)."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    folded = np.where(codes < 1 << 16, table[codes & 0xFFFF], codes)
    return folded.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")


@dataclass(frozen=True)
class SynonymGroup:
    """Spellings of one word; the first is the canonical one."""

    spellings: tuple[str, ...]
    why: str


class TextFolder:
    """The folding rules with one synonym table; :attr:`identity` names them."""

    def __init__(self, groups: Iterable[SynonymGroup], where: str = "synonyms") -> None:
        self.groups = tuple(groups)
        canonical_of: dict[str, str] = {}
        for number, group in enumerate(self.groups, 1):
            canonical = fold_spelling(group.spellings[0])
            for spelling in group.spellings:
                folded = fold_spelling(spelling)
                if not folded or any(c.isspace() for c in folded):
                    raise SynonymError(f"{where}: group {number}: spelling {spelling!r} must "
                                       "be one word (no spaces)")
                if canonical_of.get(folded, canonical) != canonical:
                    raise SynonymError(f"{where}: group {number}: spelling {spelling!r} is "
                                       f"already a spelling of {canonical_of[folded]!r}")
                canonical_of[folded] = canonical
        self._canonical_of = canonical_of
        # Longest first, so that バス停留所 is read before バス停 and 停留所. Plain literals:
        # a lookaround in any alternative costs re its first-character scan (16x slower), so
        # Latin word boundaries are checked in _replace instead.
        alternatives = sorted(canonical_of, key=lambda s: (-len(s), s))
        self._pattern = re.compile("|".join(map(re.escape, alternatives)) or "(?!)")
        digest = hashlib.sha256(repr([g.spellings for g in self.groups]).encode()).hexdigest()
        self.identity = f"spelling-{SPELLING_RULES}+synonyms-{digest[:12]}"

    def canonical(self, folded: str) -> str:
        """Every synonym in spelling-folded text replaced by its group's canonical spelling."""
        for _ in range(_MAX_PASSES):
            replaced = self._pattern.sub(self._replace, folded)
            if replaced == folded:
                break
            folded = replaced
        return folded

    def _replace(self, match: re.Match[str]) -> str:
        """The canonical spelling, unless Latin letters or digits at the match's ends
        continue a word (aed is not replaced inside caedmon, 24h not in 24hours)."""
        found, text = match.group(0), match.string
        start, end = match.span()
        if ((_is_word_char(found[0]) and start and _is_word_char(text[start - 1]))
                or (_is_word_char(found[-1]) and end < len(text)
                    and _is_word_char(text[end]))):
            return found
        return self._canonical_of[found]

    def fold_query(self, text: str) -> str:
        """Query side: spelling fold, then canonical synonyms."""
        return self.canonical(fold_spelling(text))

    def fold_indexed(self, text: str) -> str:
        """Indexed side: the spelling fold, and the canonical text after it when it differs."""
        spelled = fold_spelling(text)
        canonical = self.canonical(spelled)
        return spelled if canonical == spelled else f"{spelled} {canonical}"

    def fold_indexed_many(self, texts: list[str]) -> list[str]:
        """:meth:`fold_indexed` of each text, folded as one string (joined by NUL, which no
        rule matches or crosses): each step is then one C-level pass instead of a Python
        call per cell, about 4x faster on a table's columns."""
        if not texts:
            return []
        joined = _SEP.join(texts)
        if joined.count(_SEP) != len(texts) - 1:  # a text holds NUL itself
            return [self.fold_indexed(t) for t in texts]
        spelled = fold_spelling(joined)
        canonical = self.canonical(spelled)
        if canonical == spelled:
            return spelled.split(_SEP)
        return [s if s == c else f"{s} {c}"
                for s, c in zip(spelled.split(_SEP), canonical.split(_SEP), strict=True)]


def _is_word_char(char: str) -> bool:
    """A Latin letter or digit (other scripts have no word boundaries)."""
    return char.isascii() and char.isalnum()


def load_synonyms(path: Path) -> TextFolder:
    """Read a synonym file: ``[[group]]`` tables with ``spellings`` (canonical first) and
    ``why`` (where the hub's data uses these spellings)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SynonymError(f"synonym file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SynonymError(f"{path}: invalid TOML: {exc}") from exc
    groups = []
    for number, raw in enumerate(data.get("group", []), 1):
        spellings = raw.get("spellings")
        why = raw.get("why")
        if (not isinstance(spellings, list) or len(spellings) < 2
                or not all(isinstance(s, str) and s.strip() for s in spellings)):
            raise SynonymError(f"{path}: group {number}: 'spellings' must list two or more "
                               "words, the canonical one first")
        if not isinstance(why, str) or not why.strip():
            raise SynonymError(f"{path}: group {number}: 'why' must say where the hub's data "
                               "uses these spellings")
        groups.append(SynonymGroup(tuple(spellings), why))
    return TextFolder(groups, where=str(path))


@cache
def text_folder() -> TextFolder:
    """The hub's folding rules (the synonym file is read once per process)."""
    return load_synonyms(SYNONYMS_FILE)


def fold_query(text: str) -> str:
    """Query-side folding with the hub's rules (see the module)."""
    return text_folder().fold_query(text)


def fold_indexed(text: str) -> str:
    """Indexed-side folding with the hub's rules (see the module)."""
    return text_folder().fold_indexed(text)


def fold_indexed_many(texts: list[str]) -> list[str]:
    """Indexed-side folding of many texts at once (a table's column)."""
    return text_folder().fold_indexed_many(texts)


def fold_identity() -> str:
    """Names the rules that folded a version's stored search text (``versions.search_fold``)."""
    return text_folder().identity
