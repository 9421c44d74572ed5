"""Expiry durations as people write them: ``90d``, ``12h``, ``2w``, ``30m``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# At most five digits: 99999 weeks still ends before the year 9999 (a longer one would
# overflow the expiry date). Also the JSON Schema pattern of `expires` (hub.api.people).
DURATION_PATTERN = r"^\s*0*([1-9][0-9]{0,4})\s*([mhdw])\s*$"
_PATTERN = re.compile(DURATION_PATTERN)


def parse_duration(text: str) -> timedelta:
    """``"90d"`` -> 90 days; ValueError with the accepted forms otherwise."""
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f"invalid duration {text!r}: write a positive number (at most five "
                         "digits) and a unit, "
                         "m (minutes), h (hours), d (days) or w (weeks), e.g. 90d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
