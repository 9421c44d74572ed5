"""Key secrets: ``hub_`` + 43 URL-safe characters, shown once, stored as SHA-256.

The prefix makes a leaked token recognisable to secret scanners (GitHub, gitleaks) and to
people. SHA-256 rather than a slow password hash (bcrypt, argon2) is deliberate: a token
carries 256 bits from ``secrets``, so nobody can guess it from its hash however fast the hash
is, and a fast hash lets every request be checked with one indexed lookup instead of tens of
milliseconds of CPU. Slow hashes exist for low-entropy secrets people choose; these are not.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "hub_"
DISPLAY_CHARS = 8  # random characters kept after the prefix, for listings


def new_token() -> str:
    """A fresh secret token (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """What is stored and looked up: the SHA-256 of the whole token."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def display_prefix(token: str) -> str:
    """The part of a token safe to show in listings and logs (``hub_AbCd1234``)."""
    return token[: len(TOKEN_PREFIX) + DISPLAY_CHARS]


def looks_like_token(text: str) -> bool:
    """Cheap shape check before any database lookup."""
    return text.startswith(TOKEN_PREFIX) and 20 <= len(text) <= 200
