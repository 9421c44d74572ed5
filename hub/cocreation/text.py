"""Text from anyone (titles, descriptions, comments, reasons): what is accepted.

Decision: text is stored as the plain text it was sent as and escaped wherever it is shown
(JSON answers are JSON-encoded; HTML pages escape with Jinja's autoescape), so ``a < b``,
``<5 m`` or a quoted tag in a description are kept as written and can never run. Text with a
``<script`` tag, or a ``javascript:`` URL, is refused outright: no request, comment or
showcase needs one, and refusing it tells the sender at once instead of storing an attack
that every consumer must remember to neutralise (a CSV export opened in a spreadsheet, a
chat bot forwarding it). Control characters other than tab and newline are refused, as is
text over its field's length.
"""

from __future__ import annotations

import re

from hub.cocreation.errors import InvalidInput

# Longest text per kind of field, in characters.
TITLE_MAX = 200
TEXT_MAX = 5000
SHORT_MAX = 500

_SCRIPT = re.compile(r"<\s*/?\s*script\b|javascript\s*:", re.IGNORECASE)
_CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_CONTROL = re.compile(f"[{_CONTROL_CHARACTERS}]")
_ALLOWED = f"[^{_CONTROL_CHARACTERS}]"


def _character_class(characters: list[str]) -> str:
    """The members of a regular-expression class, as ``\\uXXXX`` escapes and ranges, which
    ECMA-262, Python and Rust patterns all read alike."""
    codes = sorted(ord(c) for c in characters)
    runs: list[list[int]] = []
    for code in codes:
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in runs)


# White space as `str.strip()` removes it (every such character is in the Basic
# Multilingual Plane), spelled out for JSON Schema patterns: `\s` means something else in
# each dialect (ECMA-262, JSON Schema's, leaves out U+001C..U+001F and U+0085 and adds
# U+FEFF), so a pattern written with `\s` would call text blank that the API does not.
WHITE_SPACE = _character_class([chr(c) for c in range(0x10000) if chr(c).isspace()])
# An http(s) URL with a host and no white space; also the JSON Schema pattern of URL fields.
URL_PATTERN = (rf"^[Hh][Tt][Tt][Pp][Ss]?://[^{WHITE_SPACE}/?#\x00-\x1f\x7f]+"
               rf"[^{WHITE_SPACE}\x00-\x1f\x7f]*$")




def text_schema(max_length: int, *, required: bool = True) -> dict[str, object]:
    """The JSON Schema of a text field that :func:`clean_text` checks, from the same rules,
    so OpenAPI states them: no control characters but tab and newline, at most
    ``max_length`` characters, and (when required) something besides white space. The
    ``<script>`` rule is left to the description: JSON Schema patterns have no
    case-insensitive flag."""
    body = (f"^{_ALLOWED}*[^{WHITE_SPACE}{_CONTROL_CHARACTERS}]{_ALLOWED}*$" if required
            else f"^{_ALLOWED}*$")
    return {"maxLength": max_length, "pattern": body, **({"minLength": 1} if required else {})}


def clean_text(field: str, value: str, max_length: int, *, required: bool = True) -> str:
    """``value`` stripped, or :class:`InvalidInput` naming ``field`` and the rule broken."""
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"'{field}' must not be empty", field)
    if len(text) > max_length:
        raise InvalidInput(f"'{field}' is {len(text)} characters; at most {max_length} are "
                           "accepted", field)
    if _SCRIPT.search(text):
        raise InvalidInput(f"'{field}' contains a <script> tag or a javascript: URL; text is "
                           "stored as plain text and shown escaped, so write it without "
                           "them", field)
    if _CONTROL.search(text):
        raise InvalidInput(f"'{field}' contains control characters", field)
    return text


def clean_optional(field: str, value: str | None, max_length: int) -> str | None:
    """Like :func:`clean_text` for a field that may be left out; blank counts as absent."""
    if value is None:
        return None
    return clean_text(field, value, max_length, required=False) or None


def clean_url(field: str, value: str) -> str:
    """An ``http``/``https`` URL with a host: the only links a showcase may point to."""
    url = clean_text(field, value, SHORT_MAX)
    if not re.match(URL_PATTERN, url):
        raise InvalidInput(f"'{field}' must be an http:// or https:// URL, got {url!r}", field)
    return url
