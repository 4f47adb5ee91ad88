"""The staff side of the diary: the booking lifecycle, the admin table, consultants and slots."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from appointment_svc.domain.errors import FieldViolation, InvalidStatusTransition, SlotBooked, SlotInPast, ValidationFailed
from appointment_svc.domain.limits import BookingLimits
from appointment_svc.domain.model import ACTIVE_STATUSES, LONDON, AppointmentType, Booking, BookingStatus, Category, Slot
from appointment_svc.domain.schedule import WeeklyPattern, pattern_times

# target status -> the statuses staff may move a booking to it from. Anything else is refused.
ALLOWED_TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.CONFIRMED: frozenset({BookingStatus.PENDING}),
    BookingStatus.COMPLETED: frozenset({BookingStatus.CONFIRMED}),
    BookingStatus.NO_SHOW: frozenset({BookingStatus.CONFIRMED}),
    BookingStatus.CANCELLED: frozenset(ACTIVE_STATUSES),
}

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_GENERATION_DAYS = 366
MAX_GENERATED_SLOTS = 10_000


def can_change(current: BookingStatus, target: BookingStatus) -> bool:
    return current in ALLOWED_TRANSITIONS.get(target, frozenset())


# Outcomes of an appointment: nobody knows them before it has started.
OUTCOMES = frozenset({BookingStatus.COMPLETED, BookingStatus.NO_SHOW})


def check_transition(current: BookingStatus, target: BookingStatus) -> None:
    if not can_change(current, target):
        raise InvalidStatusTransition(f"A {current.value} booking cannot become {target.value}.")


@dataclass(frozen=True)
class StatusChange:
    """One entry of a booking's append-only history; from_status is None for its creation."""

    from_status: BookingStatus | None
    to_status: BookingStatus
    changed_by: str
    changed_at: datetime
    reason: str = ""


def change_status(booking: Booking, target: BookingStatus, by: str, now: datetime, reason: str = "") -> StatusChange:
    """Move `booking` to `target` if the lifecycle allows it; returns the history entry to append."""
    check_transition(booking.status, target)
    if target in OUTCOMES and booking.slot.starts_at > now:
        raise InvalidStatusTransition(
            f"A booking can become {target.value} only once its appointment has started; "
            f"this one starts on {booking.slot.starts_at.astimezone(LONDON):%d %B %Y at %H:%M} (UK time)."
        )
    if target is BookingStatus.CANCELLED:
        if not reason.strip():
            raise ValidationFailed([FieldViolation("reason", "is required when staff cancel a booking")])
        booking.cancelled_at, booking.cancel_reason = now, reason.strip()
    change = StatusChange(booking.status, target, by, now, reason.strip())
    booking.status = target
    return change


def releases_slot(change: StatusChange) -> bool:
    """Only a cancellation gives the slot back; a completed or missed appointment's time is spent."""
    return change.to_status is BookingStatus.CANCELLED


class TableSort(str, enum.Enum):
    CREATED_ASC = "createdAt"
    CREATED_DESC = "-createdAt"
    STARTS_ASC = "startsAt"
    STARTS_DESC = "-startsAt"

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")

    @property
    def by_start(self) -> bool:
        return self.value.lstrip("-") == "startsAt"


@dataclass(frozen=True)
class AppointmentTableQuery:
    page: int = 1
    limit: int = DEFAULT_PAGE_SIZE
    sort: TableSort = TableSort.CREATED_DESC
    status: BookingStatus | None = None
    first_day: date | None = None  # London days of the slot start, inclusive
    last_day: date | None = None
    reference_code: str | None = None
    email: str | None = None  # already lower-cased

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def total_pages(self, total: int) -> int:
        return math.ceil(total / self.limit)


@dataclass(frozen=True)
class NewConsultant:
    name: str
    avatar_url: str
    categories: tuple[Category, ...]


@dataclass(frozen=True)
class NewSlot:
    consultant_id: UUID
    type: AppointmentType
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class GenerateSlots:
    consultant_id: UUID
    type: AppointmentType
    first_day: date
    last_day: date
    pattern: WeeklyPattern


class SlotState(str, enum.Enum):
    FREE = "FREE"
    BOOKED = "BOOKED"
    BLOCKED = "BLOCKED"


@dataclass(frozen=True)
class SlotCalendarQuery:
    """One London day of the staff slot calendar, optionally narrowed to a consultant or type."""

    day: date
    consultant_id: UUID | None = None
    type: AppointmentType | None = None


@dataclass(frozen=True)
class CalendarSlot:
    slot: Slot
    reference_code: str | None = None  # of the booking that holds the slot, when booked

    @property
    def state(self) -> SlotState:
        # A booked slot cannot be blocked (check_blockable), so booked wins should both be set.
        if self.slot.is_booked:
            return SlotState.BOOKED
        return SlotState.BLOCKED if self.slot.is_blocked else SlotState.FREE


def check_new_slot(slot: NewSlot, now: datetime, limits: BookingLimits) -> None:
    if slot.starts_at <= now:
        raise SlotInPast("A slot must start in the future.")
    limits.check_start(slot.starts_at, now, "startsAt")


def check_blockable(slot: Slot) -> None:
    if slot.is_booked:
        raise SlotBooked()


def slots_to_generate(
    command: GenerateSlots, now: datetime, limits: BookingLimits
) -> tuple[list[tuple[datetime, datetime]], int]:
    """(start, end) pairs still in the future, and how many pattern slots were dropped as past."""
    limits.check_day(command.last_day, now, "toDate")
    times = pattern_times(command.pattern, command.first_day, command.last_day)
    if len(times) > MAX_GENERATED_SLOTS:
        raise ValidationFailed(
            [FieldViolation("toDate", f"the pattern gives {len(times)} slots; at most {MAX_GENERATED_SLOTS} per call")],
            "This pattern makes too many slots at once. Please generate a shorter range.",
        )
    # A wall-clock slot that falls into the spring-forward gap can come out empty: never a real slot.
    future = [(start, end) for start, end in times if start > now and end > start]
    return future, len(times) - len(future)
