"""Time zone names as people and files give them: one check for every place csbot reads one."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The longest IANA name is about 30 characters; anything far longer is not a zone,
# and the lookup would ask the file system for it (a name too long for a path is
# an OSError there, not ZoneInfoNotFoundError).
MAX_ZONE_NAME = 64


def is_zone(name: Any) -> bool:
    """True when `name` is an IANA time zone name this machine knows (Europe/Berlin, UTC)."""
    if not isinstance(name, str) or not name or len(name) > MAX_ZONE_NAME:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True
