"""What the use cases need from the outside world, and the errors it may answer with.

Adapters (appointment_svc/adapters) implement these and translate their drivers' exceptions into
the errors named here; nothing in the service layer knows which database or cache sits behind.
The repositories and the unit of work are ports too: service_layer/repositories.py and
service_layer/unit_of_work.py.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Protocol, Sequence
from uuid import UUID

from appointment_svc.domain.events import BookingEvent, BrochureRequested
from appointment_svc.domain.model import AvailabilityQuery, Slot


class LockUnavailable(Exception):
    """The slot lock service cannot be reached; the booking carries on, guarded by the database alone."""


class RateLimiterUnavailable(Exception):
    """The rate limiter could not be asked; the caller decides whether to fail open or use another guard."""


class SlotTaken(Exception):
    """The slot already has an active booking (the storage's one-active-booking-per-slot rule)."""


class DuplicateRequest(Exception):
    """The customer already has a booking made with this request id (stored concurrently)."""


class SlotLock(Protocol):
    """A lease on a slot that makes racers for it fail fast; the database, not the lock, keeps bookings single."""

    async def acquire(self, slot_id: UUID) -> str | None:
        """A token when taken, None when someone holds it; LockUnavailable when the service is down."""

    async def holder(self, slot_id: UUID) -> str | bytes | None:
        """The token held now (None when free); LockUnavailable when the service is down."""

    async def release(self, slot_id: UUID, token: str | bytes, *, booked: bool = False) -> None:
        """Release only if `token` still holds the lease; never raises (the lease expires by itself).
        `booked`: the holder's booking committed, which racers may learn for a few seconds (just_booked)."""

    async def just_booked(self, slot_id: UUID) -> bool:
        """Whether a booking of the slot committed in the last few seconds, as a releasing holder said:
        a racer's answer without asking the database. False when unknown or the service is down."""

    async def forget_booked(self, slot_id: UUID) -> None:
        """The slot is free again (its booking was cancelled or moved): forget that it was just booked."""


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def epoch_micros(instant: datetime) -> int:
    """Exact (no float), so a slot starting at `now` compares as the domain's `starts_at > now` does."""
    return (instant - EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class EncodedGrid:
    """A day's free slots already in the transport's wire form, earliest first.

    `body` is the slots' encodings one after another; slot i begins at byte `offsets[i]` and starts
    at `starts[i]` (microseconds since the epoch). The encoder must make every suffix of `body` a
    valid answer on its own (a protobuf repeated field is), so dropping the slots that have started
    is cutting the body at one offset: a cache hit touches no slot.
    """

    body: bytes
    starts: Sequence[int]
    offsets: Sequence[int]

    def not_started_at(self, now: datetime) -> bytes:
        first = bisect_right(self.starts, epoch_micros(now))
        if first == 0:
            return self.body
        return self.body[self.offsets[first] :] if first < len(self.offsets) else b""


class SlotReader(Protocol):
    """The availability read, outside any unit of work: it changes nothing, so it needs no transaction."""

    async def open_on(self, query: AvailabilityQuery, now: datetime) -> list[Slot]:
        """Candidates for the day's availability (the domain's rules pick from them)."""


class AvailabilityCache(Protocol):
    """Best effort: a cache that is down reads as a miss and ignores writes."""

    async def get(self, query: AvailabilityQuery) -> EncodedGrid | None: ...

    async def put(self, query: AvailabilityQuery, grid: EncodedGrid, ttl_seconds: float | None = None) -> None:
        """`ttl_seconds`: keep the entry no longer than this (the cache's own TTL still bounds it)."""

    async def invalidate_day(self, day: date) -> None: ...


class RateDecision(Protocol):
    allowed: bool
    retry_after_seconds: int
    token: str


class RateLimiter(Protocol):
    limit: int
    window_seconds: int

    async def hit(self, subject: str) -> RateDecision:
        """Count one request of `subject` if it fits; RateLimiterUnavailable when the limiter cannot be asked."""

    async def refund(self, subject: str, token: str) -> None:
        """Give back a hit whose request then failed (best effort, never raises)."""


class Outbox(Protocol):
    """Events for the outside world, written in the unit of work's transaction and relayed after commit."""

    async def add(self, event: BookingEvent | BrochureRequested) -> None: ...


class EmailLedger(Protocol):
    """The booking emails sent to each mailbox: what the per-recipient daily limit counts."""

    async def serialise(self, recipient: str) -> None:
        """Wait for, then hold until the transaction ends, the recipient's lock."""

    async def sent_since(self, recipient: str, since: datetime) -> list[datetime]: ...

    async def record(self, recipient: str, booking_id: UUID, kind: str, at: datetime, *, forget_before: datetime) -> None: ...
