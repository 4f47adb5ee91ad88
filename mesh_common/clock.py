"""The business's time: instants are UTC, calendar days and wall clocks are London's."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def utc_now() -> datetime:
    """The default `clock` of every use case; tests pass their own."""
    return datetime.now(timezone.utc)
