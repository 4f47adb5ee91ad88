"""Turning a weekly working pattern into concrete slot times (London wall clock → UTC)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from mesh_common.clock import LONDON


@dataclass(frozen=True)
class WeeklyPattern:
    weekdays: frozenset[int]  # ISO: 1 = Monday … 7 = Sunday
    day_start: time
    day_end: time
    slot_minutes: int
    buffer_minutes: int = 0
    skip_dates: frozenset[date] = field(default_factory=frozenset)


def pattern_times(pattern: WeeklyPattern, first: date, last: date) -> list[tuple[datetime, datetime]]:
    """Every (start, end) in UTC the pattern yields between first and last, inclusive."""
    length = timedelta(minutes=pattern.slot_minutes)
    step = length + timedelta(minutes=pattern.buffer_minutes)
    result: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        if day.isoweekday() in pattern.weekdays and day not in pattern.skip_dates:
            # Wall-clock arithmetic in London, so a 09:00 slot stays 09:00 across clock changes.
            cursor = datetime.combine(day, pattern.day_start)
            day_end = datetime.combine(day, pattern.day_end)
            while cursor + length <= day_end:
                start = cursor.replace(tzinfo=LONDON)
                end = (cursor + length).replace(tzinfo=LONDON)
                result.append((start.astimezone(timezone.utc), end.astimezone(timezone.utc)))
                cursor += step
        day += timedelta(days=1)
    return result
