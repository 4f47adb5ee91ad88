"""The staff side of the diary: the admin table, the booking history, consultants and slots (the lifecycle is Booking's)."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from appointment_svc.domain.errors import FieldViolation, SlotBooked, SlotInPast, ValidationFailed
from appointment_svc.domain.events import HistoryKind
from appointment_svc.domain.limits import BookingLimits
from appointment_svc.domain.model import AppointmentType, BookingStatus, Category, Slot
from appointment_svc.domain.schedule import WeeklyPattern, pattern_times

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_GENERATION_DAYS = 366
MAX_GENERATED_SLOTS = 10_000


@dataclass(frozen=True)
class StatusChange:
    """One entry of a booking's append-only history; from_status is None for its creation. A move
    or a reminder leaves the status as it was (from_status == to_status); `kind` says which."""

    from_status: BookingStatus | None
    to_status: BookingStatus
    changed_by: str
    changed_at: datetime
    reason: str = ""
    kind: HistoryKind = HistoryKind.STATUS


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
    postcode_areas: tuple[str, ...] = ()


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
    HELD = "HELD"


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
        if self.slot.is_blocked:
            return SlotState.BLOCKED
        # The calendar reads live holds only (held_until set), so a hold that ran out shows FREE.
        return SlotState.HELD if self.slot.held_until is not None else SlotState.FREE


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
