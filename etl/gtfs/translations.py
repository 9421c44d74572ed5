"""translations.txt in either of its two layouts, turned into English and kana names.

- GTFS (current): ``table_name, field_name, language, translation`` plus either
  ``record_id`` (the translated row's key) or ``field_value`` (every row whose field has
  this value).
- GTFS-JP v1 (2017, still common in Japan): ``trans_id, lang, translation``, where
  ``trans_id`` is the Japanese text itself; it applies to any field with that value.

Language tags are compared on their primary subtag, case-insensitively: ``en``, ``en-US``
-> English; ``ja-Hrkt`` (kana reading) is kept apart from ``ja``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from etl.gtfs.tables import FeedTable

ENGLISH = "en"
KANA = "ja-hrkt"


def _language(tag: str) -> str | None:
    tag = tag.strip().lower()
    if tag == KANA:
        return KANA
    if tag.split("-")[0] == ENGLISH:
        return ENGLISH
    return None


@dataclass
class Translations:
    """Lookups: (table, field, language) -> {record key: text} and {field value: text}."""

    by_record: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)
    by_value: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)
    # GTFS-JP v1: language -> {Japanese text: translation}, for every table and field.
    by_text: dict[str, dict[str, str]] = field(default_factory=dict)
    layout: str = "none"

    def apply(self, table: str, field_name: str, language: str, keys: pd.Series,
              values: pd.Series) -> pd.Series:
        """The translation of ``values`` (the field's text, aligned with ``keys``, the
        rows' ids) into ``language``; None where there is none."""
        out = pd.Series(np.full(len(values), None, dtype=object), index=values.index)
        lookups = [
            (keys, self.by_record.get((table, field_name, language), {})),
            (values, self.by_value.get((table, field_name, language), {})),
            (values, self.by_text.get(language, {})),
        ]
        for source, lookup in lookups:
            if not lookup:
                continue
            found = source.map(lookup)
            out = out.where(out.notna(), found)
        return out.astype(object).where(out.notna(), None)


def read_translations(table: FeedTable | None) -> Translations:
    if table is None or not len(table):
        return Translations()
    if table.has("table_name") and table.has("translation"):
        return _current(table)
    if table.has("trans_id") and table.has("translation"):
        table.file_issue(
            "old-translations",
            "translations.txt uses the GTFS-JP v1 layout (trans_id,lang,translation); each "
            "translation applies to every name equal to its trans_id")
        return _old(table)
    table.file_issue("translations-layout",
                     "translations.txt has neither the GTFS layout (table_name,field_name,"
                     "language,translation) nor the GTFS-JP v1 layout (trans_id,lang,"
                     "translation); no translations were applied")
    return Translations()


def _current(table: FeedTable) -> Translations:
    out = Translations(layout="gtfs")
    frame = pd.DataFrame({c: table.cells(c) for c in (
        "table_name", "field_name", "language", "translation", "record_id", "field_value")})
    frame["lang"] = frame["language"].map(_language)
    frame = frame[frame["lang"].notna() & (frame["translation"] != "")]
    for (tname, fname, lang), group in frame.groupby(["table_name", "field_name", "lang"]):
        with_id = group[group["record_id"] != ""]
        with_value = group[(group["record_id"] == "") & (group["field_value"] != "")]
        if len(with_id):
            out.by_record[(tname, fname, lang)] = dict(
                zip(with_id["record_id"], with_id["translation"], strict=True))
        if len(with_value):
            out.by_value[(tname, fname, lang)] = dict(
                zip(with_value["field_value"], with_value["translation"], strict=True))
    return out


def _old(table: FeedTable) -> Translations:
    out = Translations(layout="gtfs-jp-v1")
    frame = pd.DataFrame({c: table.cells(c) for c in ("trans_id", "lang", "translation")})
    frame["language"] = frame["lang"].map(_language)
    frame = frame[frame["language"].notna() & (frame["translation"] != "")]
    for lang, group in frame.groupby("language"):
        out.by_text[str(lang)] = dict(zip(group["trans_id"], group["translation"], strict=True))
    return out
