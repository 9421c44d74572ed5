"""Content negotiation for the pages that are also API documents (``/``)."""

from __future__ import annotations

HTML = "text/html"


def _quality(accept: str, media_type: str) -> float:
    """The q-value ``accept`` gives ``media_type``, the most specific range deciding
    (RFC 9110 §12.5.1); 0 when it is not acceptable."""
    kind = media_type.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        media = media.lower()
        if media == media_type:
            specificity = 2
        elif media == f"{kind}/*":
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if specificity > best[0]:
            best = (specificity, quality)
    return best[1]


def prefers_html(accept: str | None) -> bool:
    """True when the client names HTML and ranks it above JSON (a browser does); clients that send
    no Accept, ``*/*``, JSON or both equally keep the JSON document."""
    if not accept:
        return False
    html = _quality(accept, HTML)
    named = any(p.split(";")[0].strip().lower() == HTML for p in accept.split(","))
    return named and html > _quality(accept, "application/json")
