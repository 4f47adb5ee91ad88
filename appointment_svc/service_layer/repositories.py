"""The repositories a unit of work exposes: what the use cases store and read, not how.

Abstract classes rather than bare Protocols because one rule is shared by every implementation:
what a repository adds or loads is remembered, so the unit of work can collect the events
recorded on it (cosmicpython's `seen`). Adapters implement the underscored methods.
"""
from __future__ import annotations

import abc
from datetime import date, datetime
from uuid import UUID

from appointment_svc.domain import staff
from appointment_svc.domain.brochures import BrochureRequest
from appointment_svc.domain.events import (
    BookingEvent,
    ConsultantAreasChanged,
    SlotBlocked,
    SlotHeld,
    SlotHoldReleased,
    SlotsAdded,
    SlotUnblocked,
)
from appointment_svc.domain.holds import SlotHold
from appointment_svc.domain.model import AvailabilityQuery, Booking, Consultant, Slot


class BookingRepository(abc.ABC):
    def __init__(self) -> None:
        self.seen: list[Booking] = []

    async def add(self, booking: Booking, fingerprint: str | None) -> None:
        """Store a new booking; SlotTaken or DuplicateRequest when storage already holds a rival."""
        await self._add(booking, fingerprint)
        self.seen.append(booking)

    async def get(self, booking_id: UUID, *, lock: bool = False) -> Booking | None:
        """`lock`: hold the booking until the transaction ends, so concurrent changes take turns."""
        booking = await self._get(booking_id, lock=lock)
        if booking is not None:
            self.seen.append(booking)
        return booking

    async def claim_due_reminders(self, now: datetime, limit: int) -> list[Booking]:
        """Up to `limit` PENDING/CONFIRMED bookings whose reminder is due at `now`, earliest first,
        each locked until the transaction ends; bookings another transaction holds are skipped."""
        claimed = await self._claim_due_reminders(now, limit)
        self.seen.extend(claimed)
        return claimed

    @abc.abstractmethod
    async def _add(self, booking: Booking, fingerprint: str | None) -> None: ...

    @abc.abstractmethod
    async def _get(self, booking_id: UUID, *, lock: bool) -> Booking | None: ...

    @abc.abstractmethod
    async def _claim_due_reminders(self, now: datetime, limit: int) -> list[Booking]: ...

    @abc.abstractmethod
    async def save_reminded(self, claimed: list[Booking], sent: list[Booking], at: datetime) -> None:
        """Store that none of the claimed bookings is due a reminder any more, and that those `sent`
        had theirs queued at `at`."""

    @abc.abstractmethod
    async def for_request(self, user_id: str, request_id: str) -> tuple[Booking, str] | None:
        """The booking a customer made with this request id, and the fingerprint of that request."""

    @abc.abstractmethod
    async def save(self, booking: Booking, now: datetime) -> None:
        """Store a loaded booking's status and cancellation fields."""

    @abc.abstractmethod
    async def add_history(self, event: BookingEvent) -> None: ...

    async def next_event_sequence(self, booking: Booking) -> int:
        """Number the booking's next published event, storing the number with the booking in this
        transaction. Callers hold the booking's row lock (get(lock=True)) or created it, so numbers
        are taken one at a time, in commit order."""
        booking.event_sequence += 1
        await self._store_event_sequence(booking)
        return booking.event_sequence

    @abc.abstractmethod
    async def _store_event_sequence(self, booking: Booking) -> None: ...

    @abc.abstractmethod
    async def history(self, booking_id: UUID) -> list[staff.StatusChange]: ...

    @abc.abstractmethod
    async def list_for_user(self, user_id: str, offset: int, limit: int) -> tuple[list[Booking], int]: ...

    @abc.abstractmethod
    async def table(self, query: staff.AppointmentTableQuery) -> tuple[list[Booking], int]:
        """One page of the staff table and how many bookings match in all."""

    @abc.abstractmethod
    async def next_reference_number(self, day: date) -> int:
        """The day's next sequence number (taken even if the transaction later rolls back); once the
        day has given out DAILY_BOOKING_CAPACITY of them, some number above it (nothing is taken)."""

    @abc.abstractmethod
    async def serialise_customer(self, user_id: str) -> None:
        """Wait for, then hold until the transaction ends, the customer's lock."""

    @abc.abstractmethod
    async def upcoming_active(self, user_id: str, now: datetime) -> int: ...

    @abc.abstractmethod
    async def active_to(self, recipient: str) -> int:
        """Active bookings whose emails go to this canonical mailbox."""


class SlotRepository(abc.ABC):
    """Slots are not aggregates of their own: the staff changes made here record their events."""

    def __init__(self) -> None:
        self.events: list[SlotsAdded | SlotBlocked | SlotUnblocked] = []

    async def add(self, slot: staff.NewSlot) -> UUID:
        """ConsultantNotFound or SlotOverlap when storage refuses it."""
        slot_id = await self._add(slot)
        self.events.append(SlotsAdded((slot.starts_at,)))
        return slot_id

    async def add_generated(self, command: staff.GenerateSlots, times: list[tuple[datetime, datetime]]) -> list[datetime]:
        """Add the slots that overlap nothing already there; returns the starts of those added."""
        created = await self._add_generated(command, times)
        if created:
            self.events.append(SlotsAdded(tuple(created)))
        return created

    async def set_blocked(self, slot: Slot, blocked: bool) -> None:
        await self._set_blocked(slot.id, blocked)
        self.events.append(SlotBlocked(slot.id, slot.starts_at) if blocked else SlotUnblocked(slot.id, slot.starts_at))

    @abc.abstractmethod
    async def _add(self, slot: staff.NewSlot) -> UUID: ...

    @abc.abstractmethod
    async def _add_generated(self, command: staff.GenerateSlots, times: list[tuple[datetime, datetime]]) -> list[datetime]: ...

    @abc.abstractmethod
    async def _set_blocked(self, slot_id: UUID, blocked: bool) -> None: ...

    @abc.abstractmethod
    async def get(self, slot_id: UUID, *, lock: bool = False) -> Slot | None:
        """`lock`: the slot row lock every booking and block takes, held until the transaction ends."""

    @abc.abstractmethod
    async def free_and_unlocked(self, slot_id: UUID) -> bool:
        """Neither booked nor blocked, nor locked by any open transaction (never waits for one)."""

    @abc.abstractmethod
    async def mark_booked(self, slot_id: UUID) -> bool:
        """Book a free, unblocked slot; False if it was not."""

    @abc.abstractmethod
    async def free(self, slot_id: UUID) -> None: ...

    @abc.abstractmethod
    async def open_on(self, query: AvailabilityQuery, now: datetime) -> list[Slot]:
        """Candidates for the day's availability (the domain's rules pick from them)."""

    @abc.abstractmethod
    async def calendar(self, query: staff.SlotCalendarQuery) -> list[staff.CalendarSlot]: ...


class HoldRepository(abc.ABC):
    """Slot holds (issue 14): at most one row per slot and one per customer, live while `expires_at`
    is ahead. Rows are added or removed only under their slot's row lock (SlotRepository.get with
    lock=True), or by their holder; the changes record the events that refresh the availability cache."""

    def __init__(self) -> None:
        self.events: list[SlotHeld | SlotHoldReleased] = []

    async def add(self, hold: SlotHold) -> None:
        """SlotTaken when storage already holds a row for the slot (a caller skipped the row lock)."""
        await self._add(hold)
        self.events.append(SlotHeld(hold.slot_id, hold.starts_at))

    async def remove(self, hold: SlotHold, now: datetime) -> None:
        await self._remove(hold.id)
        if hold.is_live(now):
            self.events.append(SlotHoldReleased(hold.slot_id, hold.starts_at))

    @abc.abstractmethod
    async def _add(self, hold: SlotHold) -> None: ...

    @abc.abstractmethod
    async def _remove(self, hold_id: UUID) -> None: ...

    @abc.abstractmethod
    async def get(self, hold_id: UUID, *, lock: bool = False) -> SlotHold | None: ...

    @abc.abstractmethod
    async def for_slot(self, slot_id: UUID) -> SlotHold | None:
        """The slot's hold row, live or run out."""

    @abc.abstractmethod
    async def of_customer(self, user_id: str) -> SlotHold | None:
        """The customer's hold row, live or run out."""

    @abc.abstractmethod
    async def take_for_booking(self, slot_id: UUID) -> SlotHold | None:
        """Delete the slot's hold row and return it: the booking that runs this under the slot's
        row lock either commits (the hold is used up) or is refused and rolls it back."""


class ConsultantRepository(abc.ABC):
    def __init__(self) -> None:
        self.events: list[ConsultantAreasChanged] = []

    @abc.abstractmethod
    async def add(self, consultant: staff.NewConsultant) -> UUID: ...

    @abc.abstractmethod
    async def list(self) -> list[Consultant]: ...

    @abc.abstractmethod
    async def lock(self, consultant_id: UUID) -> bool:
        """True if the consultant exists; it then stays so until the transaction ends."""

    async def set_areas(self, consultant_id: UUID, areas: tuple[str, ...], now: datetime) -> Consultant | None:
        """The consultant with its service areas replaced; None when there is no such consultant."""
        changed = await self._set_areas(consultant_id, areas)
        if changed is not None:
            self.events.append(ConsultantAreasChanged(consultant_id, tuple(await self._open_home_visit_starts(consultant_id, now))))
        return changed

    @abc.abstractmethod
    async def _set_areas(self, consultant_id: UUID, areas: tuple[str, ...]) -> Consultant | None: ...

    @abc.abstractmethod
    async def _open_home_visit_starts(self, consultant_id: UUID, after: datetime) -> list[datetime]:
        """The starts of the consultant's free, unblocked home-measurement slots after `after`."""


class BrochureRepository(abc.ABC):
    def __init__(self) -> None:
        self.seen: list[BrochureRequest] = []

    async def add(self, request: BrochureRequest) -> None:
        await self._add(request)
        self.seen.append(request)

    @abc.abstractmethod
    async def _add(self, request: BrochureRequest) -> None: ...

    @abc.abstractmethod
    async def serialise(self, recipient: str) -> None:
        """Wait for, then hold until the transaction ends, the canonical mailbox's lock."""

    @abc.abstractmethod
    async def seconds_until_room(self, recipient: str, limit: int, window_seconds: int) -> float | None:
        """None while the mailbox has had fewer than `limit` requests in the window, else when one frees."""
