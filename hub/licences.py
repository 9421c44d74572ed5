"""The licence rule: which licences a dataset may state, and what each is called elsewhere.

A dataset's ``dataset.toml`` names its licence by identifier in a ``[licence]`` table::

    [licence]
    id = "CC-BY-4.0"
    note = "as stated on the city's portal"

:data:`KNOWN_LICENCES` is the one table every surface reads: SPDX identifier, Japanese and
English titles, canonical URL, CKAN's licence id (CKAN's default register,
``ckan/model/license.py``), the EU Vocabularies licence authority URI used by DCAT-AP, and
whether the licence is open. The v1 API, the CKAN read API, DCAT, ``hub ckan push`` and
``pull``, the Data Package export, OGC collections and citations all ask :class:`Licence`,
so one identifier always means the same CKAN id, the same IRI and the same title.

Guessing a licence from free text is what this module exists to stop: an identifier outside
the table is refused when the definition is loaded, and a licence the table does not know is
written ``id = "other"`` with its own ``title`` (and ``url`` when it has one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EU_LICENCE = "http://publications.europa.eu/resource/authority/licence/"
OTHER = "other"
NOT_ASSERTED = "NOASSERTION"


class LicenceError(ValueError):
    """A ``[licence]`` that names no known licence, or an ``other`` licence without its text."""


@dataclass(frozen=True)
class KnownLicence:
    """One row of the licence table.

    ``on_spdx_list`` says whether the id is on the SPDX licence list (Citation File Format
    accepts only those as ``license``). ``ckan_names_it`` says whether CKAN's id names
    exactly this licence (``cc-zero`` is CC0 1.0; ``cc-by`` is some version of CC BY), which
    decides whether a CKAN package's ``license_id`` alone can be read back as this licence.
    """

    id: str
    title_ja: str
    title_en: str
    url: str | None
    ckan_id: str
    eu_uri: str | None
    open: bool
    on_spdx_list: bool = True
    ckan_names_it: bool = False


KNOWN_LICENCES: tuple[KnownLicence, ...] = (
    KnownLicence("CC-BY-4.0", "クリエイティブ・コモンズ 表示 4.0 国際",
                 "Creative Commons Attribution 4.0 International",
                 "https://creativecommons.org/licenses/by/4.0/", "cc-by",
                 EU_LICENCE + "CC_BY_4_0", open=True),
    KnownLicence("CC-BY-3.0", "クリエイティブ・コモンズ 表示 3.0 非移植",
                 "Creative Commons Attribution 3.0 Unported",
                 "https://creativecommons.org/licenses/by/3.0/", "cc-by",
                 EU_LICENCE + "CC_BY_3_0", open=True),
    KnownLicence("CC-BY-2.1-JP", "クリエイティブ・コモンズ 表示 2.1 日本",
                 "Creative Commons Attribution 2.1 Japan",
                 "https://creativecommons.org/licenses/by/2.1/jp/", "cc-by", None, open=True),
    KnownLicence("CC-BY-SA-4.0", "クリエイティブ・コモンズ 表示-継承 4.0 国際",
                 "Creative Commons Attribution-ShareAlike 4.0 International",
                 "https://creativecommons.org/licenses/by-sa/4.0/", "cc-by-sa",
                 EU_LICENCE + "CC_BYSA_4_0", open=True),
    KnownLicence("CC-BY-SA-3.0", "クリエイティブ・コモンズ 表示-継承 3.0 非移植",
                 "Creative Commons Attribution-ShareAlike 3.0 Unported",
                 "https://creativecommons.org/licenses/by-sa/3.0/", "cc-by-sa",
                 EU_LICENCE + "CC_BYSA_3_0", open=True),
    KnownLicence("CC0-1.0", "CC0 1.0 全世界 パブリック・ドメイン提供",
                 "Creative Commons Zero v1.0 Universal",
                 "https://creativecommons.org/publicdomain/zero/1.0/", "cc-zero",
                 EU_LICENCE + "CC0", open=True, ckan_names_it=True),
    KnownLicence("ODbL-1.0", "オープンデータベースライセンス 1.0",
                 "Open Data Commons Open Database License v1.0",
                 "https://opendatacommons.org/licenses/odbl/1-0/", "odc-odbl",
                 EU_LICENCE + "ODC_BL", open=True, ckan_names_it=True),
    KnownLicence("ODC-By-1.0", "オープンデータコモンズ 表示ライセンス 1.0",
                 "Open Data Commons Attribution License v1.0",
                 "https://opendatacommons.org/licenses/by/1-0/", "odc-by",
                 EU_LICENCE + "ODC_BY", open=True, ckan_names_it=True),
    KnownLicence("PDDL-1.0", "オープンデータコモンズ パブリック・ドメイン提供ライセンス 1.0",
                 "Open Data Commons Public Domain Dedication & License 1.0",
                 "https://opendatacommons.org/licenses/pddl/1-0/", "odc-pddl",
                 EU_LICENCE + "ODC_PDDL", open=True, ckan_names_it=True),
    # Japan's standard terms for public data (デジタル庁); compatible with CC BY 4.0. Not on
    # the SPDX list and not in the EU authority table: its own page is its IRI.
    KnownLicence("PDL-1.0", "公共データ利用規約 第1.0版", "Public Data License 1.0 (Japan)",
                 "https://www.digital.go.jp/resources/open_data/public_data_license_v1.0",
                 "other-open", None, open=True, on_spdx_list=False),
    # SPDX's word for "nobody has confirmed a licence": the data's terms are unknown, so it
    # is neither open nor given an IRI. The note says what is believed and why.
    KnownLicence(NOT_ASSERTED, "ライセンス未確認", "Licence not verified", None,
                 "notspecified", None, open=False, on_spdx_list=False),
)

_BY_ID = {known.id: known for known in KNOWN_LICENCES}
ACCEPTED_IDS = (*(known.id for known in KNOWN_LICENCES), OTHER)


@dataclass(frozen=True)
class Licence:
    """A dataset's licence as its definition states it, and every name it has elsewhere.

    ``title`` and ``url`` are the dataset's own only for ``other``; for a known id they come
    from the table and a definition may not restate them (two answers to one question).
    """

    id: str
    note: str = ""
    title: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if self.id == OTHER:
            if not self.title:
                raise LicenceError("an 'other' licence needs its 'title' (the licence's name "
                                   "as its publisher writes it; add 'url' when it has one)")
        elif self.id not in _BY_ID:
            raise LicenceError(f"unknown licence id {self.id!r}; accepted ids: "
                               f"{', '.join(ACCEPTED_IDS)}")
        elif self.title is not None or self.url is not None:
            raise LicenceError(f"licence {self.id!r} takes its title and URL from the licence "
                               "table; 'title' and 'url' are only for id = \"other\" (put "
                               "anything else in 'note')")

    @property
    def known(self) -> KnownLicence | None:
        return _BY_ID.get(self.id)

    @property
    def title_ja(self) -> str:
        return self.known.title_ja if self.known else str(self.title)

    @property
    def title_en(self) -> str:
        return self.known.title_en if self.known else str(self.title)

    @property
    def label(self) -> str:
        """One display title in the hub's bilingual convention, ``日本語 (English)``."""
        ja, en = self.title_ja, self.title_en
        return ja if ja == en else f"{ja} ({en})"

    @property
    def document_url(self) -> str | None:
        """Where the licence text is: the canonical URL, or an ``other`` licence's own."""
        return self.known.url if self.known else self.url

    @property
    def ckan_id(self) -> str:
        """CKAN's licence id. An ``other`` licence is ``notspecified``: CKAN's register
        cannot name it and its openness is not guessed; its title travels beside the id."""
        return self.known.ckan_id if self.known else "notspecified"

    @property
    def dcat_iri(self) -> str | None:
        """``dct:license``: the EU licence authority URI, else the licence's own page; None
        when nothing identifies the licence (a licence not verified)."""
        if self.known and self.known.eu_uri:
            return self.known.eu_uri
        return self.document_url

    @property
    def is_open(self) -> bool:
        return bool(self.known and self.known.open)

    @property
    def spdx_id(self) -> str | None:
        """The id when it is on the SPDX licence list (for Citation File Format)."""
        return self.id if self.known and self.known.on_spdx_list else None

    def as_json(self) -> dict[str, Any]:
        """The licence as the v1 API describes it."""
        return {"id": self.id, "title": {"ja": self.title_ja, "en": self.title_en},
                "url": self.document_url, "open": self.is_open, "note": self.note}

    def columns(self) -> dict[str, Any]:
        """The catalogue row's licence columns (``hub.datasets``)."""
        return {"licence": self.id, "licence_note": self.note,
                "licence_title": self.title, "licence_url": self.url}

    @classmethod
    def from_columns(cls, row: Mapping[str, Any]) -> Licence:
        """The licence of a catalogue row (the inverse of :meth:`columns`)."""
        return cls(id=row["licence"], note=row.get("licence_note") or "",
                   title=row.get("licence_title"), url=row.get("licence_url"))

    @classmethod
    def from_definition(cls, value: Any) -> Licence:
        """The ``[licence]`` table of a dataset.toml. A plain string is refused: free text
        is what made one licence mean three things, and it is not guessed from again."""
        if isinstance(value, str):
            raise LicenceError(
                f"'licence' must be a table with an id, not the text {value!r}; write\n"
                "  [licence]\n  id = \"CC-BY-4.0\"   # one of: " + ", ".join(ACCEPTED_IDS)
                + "\n  note = \"...\"        # optional: what the publisher says, doubts")
        if not isinstance(value, Mapping):
            raise LicenceError("'licence' must be a [licence] table with an 'id'")
        unknown_keys = sorted(set(value) - {"id", "note", "title", "url"})
        if unknown_keys:
            raise LicenceError(f"[licence] has unknown keys {unknown_keys}; "
                               "use id, note, and for id = \"other\" title and url")
        if not value.get("id"):
            raise LicenceError(f"[licence] needs an 'id', one of: {', '.join(ACCEPTED_IDS)}")
        return cls(id=str(value["id"]), note=str(value.get("note") or ""),
                   title=value.get("title"), url=value.get("url"))

    @classmethod
    def from_ckan(cls, package: Mapping[str, Any]) -> Licence:
        """The licence of a CKAN package, read back through the same table.

        A ``hub_licence`` extra (written by ``hub ckan push``) names the id; else a
        ``license_url`` that is one of the table's URLs; else a ``license_id`` that names
        exactly one licence (``cc-zero``); anything vaguer (``cc-by`` says no version)
        becomes ``other`` with CKAN's title and URL, and a note saying where it came from.
        """
        extras = package.get("extras") or []
        pairs = extras.items() if isinstance(extras, Mapping) else (
            (e.get("key"), e.get("value")) for e in extras)
        stated = {str(k): str(v) for k, v in pairs}.get("hub_licence")
        if stated in _BY_ID:
            return cls(id=stated)
        ckan_id = str(package.get("license_id") or "")
        url = str(package.get("license_url") or "")
        for known in KNOWN_LICENCES:
            if url and known.url and _same_url(url, known.url):
                return cls(id=known.id)
        for known in KNOWN_LICENCES:
            if known.ckan_names_it and known.ckan_id == ckan_id:
                return cls(id=known.id)
        title = str(package.get("license_title") or "").strip()
        if not ckan_id or ckan_id == "notspecified" or not title:
            return cls(id=NOT_ASSERTED, note=f"imported from CKAN, license_id {ckan_id!r}")
        return cls(id=OTHER, title=title, url=url or None,
                   note=f"imported from CKAN, license_id {ckan_id!r}; check the exact licence")


def _same_url(a: str, b: str) -> bool:
    def key(url: str) -> str:
        return url.split("://", 1)[-1].rstrip("/").lower()
    return key(a) == key(b)
