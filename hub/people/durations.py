"""Expiry durations as people write them: ``90d``, ``12h``, ``2w``, ``30m``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PATTERN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")


def parse_duration(text: str) -> timedelta:
    """``"90d"`` -> 90 days; ValueError with the accepted forms otherwise."""
    match = _PATTERN.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"invalid duration {text!r}: write a positive number and a unit, "
                         "m (minutes), h (hours), d (days) or w (weeks), e.g. 90d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
