"""Interface languages: which one a request gets, and the gettext catalogues for each.

The catalogues are the ``.po`` files under ``hub/web/locale/{ja,en}/LC_MESSAGES/``, compiled
with Babel when the app starts: no compiled ``.mo`` file is committed or has to be built by
an install step, so a fresh checkout serves both languages.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES: tuple[str, ...] = ("ja", "en")
# A city's portal in Japan: Japanese unless the visitor asks otherwise.
DEFAULT_LANGUAGE = "ja"
LANG_COOKIE = "hub_lang"
LANG_PARAMETER = "lang"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


def _accepted(header: str) -> list[str]:
    """Language tags of an ``Accept-Language`` header, most preferred first (q=0 dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip().lower()))
    return [tag for _q, _p, tag in sorted(ranked)]


def choose_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """``?lang=`` first (the switch), then the cookie the switch set, then the browser's
    ``Accept-Language``; a value that is not one of :data:`LANGUAGES` is ignored."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate  # type: ignore[return-value]
    for tag in _accepted(accept_language or ""):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


@lru_cache(maxsize=8)
def translations(language: str, locale_dir: Path = LOCALE_DIR) -> gettext.GNUTranslations:
    """The compiled catalogue of ``language`` (its ``.po`` file, compiled in memory)."""
    path = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)
