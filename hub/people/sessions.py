"""Signed-in browser sessions: their secrets and the one CSRF comparison.

A session id and a CSRF token are 256 random bits each. The id travels only in an HttpOnly
cookie and is stored as its SHA-256 (as key tokens are, for the same reason: a random secret
needs no slow hash); the CSRF token is written into the session's forms and compared with
:func:`csrf_matches` in constant time. Pure: storage is ``hub.data.portal_sessions``, HTTP
is ``hub.web.session``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def session_hash(session_id: str) -> bytes:
    """What is stored and looked up: the SHA-256 of the cookie's value."""
    return hashlib.sha256(session_id.encode("utf-8")).digest()


def csrf_matches(expected: str | None, presented: str | None) -> bool:
    """Whether a form's token is the one its session (or pre-session) holds; a missing
    token on either side never matches."""
    if not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8"))
