"""What the use cases need from the outside world, and the errors it may answer with.

Adapters (appointment_svc/adapters) implement these and translate their drivers' exceptions into
the errors named here; nothing in the service layer knows which database or cache sits behind.
The repositories and the unit of work are ports too: service_layer/repositories.py and
service_layer/unit_of_work.py.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Protocol
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

    async def release(self, slot_id: UUID, token: str | bytes) -> None:
        """Release only if `token` still holds the lease; never raises (the lease expires by itself)."""


class AvailabilityCache(Protocol):
    """Best effort: a cache that is down reads as a miss and ignores writes."""

    async def get(self, query: AvailabilityQuery) -> list[Slot] | None: ...

    async def put(self, query: AvailabilityQuery, slots: list[Slot]) -> None: ...

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
