"""The booking domain in plain Python: no transport, no persistence."""
from __future__ import annotations

import enum
import hashlib
import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from uuid import UUID

from appointment_svc.domain.errors import (
    BookingAlreadyCancelled,
    FieldViolation,
    Forbidden,
    InvalidStatusTransition,
    OutsideServiceArea,
    RateLimitExceeded,
    SlotInPast,
    SlotUnavailable,
    ValidationFailed,
)
from appointment_svc.domain.events import (
    BookingCancelled,
    BookingCompleted,
    BookingConfirmed,
    BookingCreated,
    BookingEvent,
    BookingMarkedNoShow,
    BookingRescheduled,
    ReminderDue,
)
from appointment_svc.domain.notice import ChangeNotice
from appointment_svc.domain.postcodes import covers, outward_code
from appointment_svc.domain.reminders import ReminderLead
from appointment_svc.domain.validation import Contact
from mesh_common.clock import LONDON


class AppointmentType(str, enum.Enum):
    HOME_MEASUREMENT = "HOME_MEASUREMENT"
    SHOWROOM_VISIT = "SHOWROOM_VISIT"
    VIDEO_CONSULTATION = "VIDEO_CONSULTATION"


class Category(str, enum.Enum):
    KITCHEN = "KITCHEN"
    BEDROOM = "BEDROOM"


class BookingStatus(str, enum.Enum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"
    NO_SHOW = "NO_SHOW"


# Statuses that hold the slot; the partial unique index on bookings(slot_id) uses the same list.
ACTIVE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)

# target status -> the statuses a booking may move to it from. Anything else is refused.
ALLOWED_TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.CONFIRMED: frozenset({BookingStatus.PENDING}),
    BookingStatus.COMPLETED: frozenset({BookingStatus.CONFIRMED}),
    BookingStatus.NO_SHOW: frozenset({BookingStatus.CONFIRMED}),
    BookingStatus.CANCELLED: frozenset(ACTIVE_STATUSES),
}

# Outcomes of an appointment: nobody knows them before it has started.
OUTCOMES = frozenset({BookingStatus.COMPLETED, BookingStatus.NO_SHOW})


def can_change(current: BookingStatus, target: BookingStatus) -> bool:
    return current in ALLOWED_TRANSITIONS.get(target, frozenset())


@dataclass(frozen=True)
class Consultant:
    id: UUID
    name: str
    avatar_url: str
    categories: tuple[Category, ...]
    # Outward-code prefixes visited for home measurements (domain/postcodes.py); empty: everywhere.
    postcode_areas: tuple[str, ...] = ()

    def visits(self, outward: str) -> bool:
        return covers(self.postcode_areas, outward)


@dataclass(frozen=True)
class Slot:
    id: UUID
    consultant: Consultant
    type: AppointmentType
    starts_at: datetime
    ends_at: datetime
    is_booked: bool = False
    is_blocked: bool = False
    # When a customer's live hold on the slot ends (issue 14); None when nobody holds it.
    held_until: datetime | None = None

    def is_held(self, now: datetime) -> bool:
        return self.held_until is not None and self.held_until > now


@dataclass(frozen=True)
class AvailabilityQuery:
    type: AppointmentType
    day: date
    category: Category | None = None
    # The outward code of the customer's postcode (`SW1A`), for home measurements only: the slots of
    # consultants who do not visit it are left out. Only the outward code, so the cache keys stay few.
    outward_code: str | None = None


def london_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants where a London calendar day starts and ends (23 or 25 hours on clock-change days)."""
    start = datetime.combine(day, time.min, tzinfo=LONDON)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=LONDON)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def london_date(instant: datetime) -> date:
    return instant.astimezone(LONDON).date()


def is_bookable(slot: Slot, now: datetime) -> bool:
    return not slot.is_booked and not slot.is_blocked and slot.starts_at > now and not slot.is_held(now)


def first_hold_end(candidates: list[Slot], now: datetime) -> datetime | None:
    """When the earliest live hold among `candidates` ends: a grid made now is wrong from then on."""
    return min((s.held_until for s in candidates if s.is_held(now)), default=None)


def available_slots(candidates: list[Slot], query: AvailabilityQuery, now: datetime) -> list[Slot]:
    """The availability rules, applied to whatever candidate rows storage returned."""
    start, end = london_day_bounds(query.day)
    chosen = [
        s
        for s in candidates
        if s.type is query.type
        and start <= s.starts_at < end
        and is_bookable(s, now)
        and (query.category is None or query.category in s.consultant.categories)
        and (query.outward_code is None or s.consultant.visits(query.outward_code))
    ]
    return sorted(chosen, key=lambda s: (s.starts_at, s.consultant.name, str(s.id)))


@dataclass
class Booking:
    """The aggregate: every change of status goes through its methods, which check ALLOWED_TRANSITIONS
    and record what happened in `events` for the service layer to store and publish."""

    id: UUID
    reference_code: str
    user_id: str
    type: AppointmentType
    for_kitchen: bool
    for_bedroom: bool
    contact: Contact
    slot: Slot
    status: BookingStatus
    created_at: datetime
    cancelled_at: datetime | None = None
    cancel_reason: str = ""
    request_id: str | None = None
    # How many times it moved to another slot: its calendar invitations' SEQUENCE rises with it.
    reschedule_count: int = 0
    # When its reminder email is due (domain/reminders.py); None once queued, or when none is due.
    reminder_due_at: datetime | None = None
    # The number the last event published about it carried (service_layer.lifecycle.write_event).
    event_sequence: int = 0
    events: list[BookingEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def create(
        cls, command: BookSlot, slot: Slot, reference: str, at: datetime, *, reminder: ReminderLead = ReminderLead()
    ) -> Booking:
        """A new PENDING booking of `slot`, which the caller has checked (check_bookable) and taken."""
        booking = cls(
            id=uuid.uuid4(),
            reference_code=reference,
            user_id=command.user_id,
            type=command.type,
            for_kitchen=command.for_kitchen,
            for_bedroom=command.for_bedroom,
            contact=command.contact,
            slot=slot,
            status=BookingStatus.PENDING,
            created_at=at,
            request_id=command.request_id or None,
            reminder_due_at=reminder.due_at(slot.starts_at, at),
        )
        booking.events.append(BookingCreated(booking, None, BookingStatus.PENDING, command.user_id, at))
        return booking

    def confirm(self, by: str, at: datetime) -> None:
        self._check_staff_change(BookingStatus.CONFIRMED, at)
        self._move(BookingConfirmed, BookingStatus.CONFIRMED, by, at)

    def complete(self, by: str, at: datetime) -> None:
        self._check_staff_change(BookingStatus.COMPLETED, at)
        self._move(BookingCompleted, BookingStatus.COMPLETED, by, at)

    def mark_no_show(self, by: str, at: datetime) -> None:
        self._check_staff_change(BookingStatus.NO_SHOW, at)
        self._move(BookingMarkedNoShow, BookingStatus.NO_SHOW, by, at)

    def cancel(
        self, by: str, reason: str, at: datetime, *, on_behalf: bool = False, notice: ChangeNotice = ChangeNotice()
    ) -> None:
        """The customer `by` gives their slot back, or (on_behalf) staff cancel for the customer and must say why.

        The two are refused differently: a customer cancelling twice is told it is already done
        (BOOKING_ALREADY_CANCELLED), staff get the lifecycle's refusal like any other change. Only
        the customer is held to the notice window.
        """
        reason = reason.strip()
        if on_behalf:
            self._check_staff_change(BookingStatus.CANCELLED, at)
            if not reason:
                raise ValidationFailed([FieldViolation("reason", "is required when staff cancel a booking")])
        else:
            if by != self.user_id:
                raise Forbidden("This booking belongs to someone else.")
            if self.status is BookingStatus.CANCELLED:
                raise BookingAlreadyCancelled()
            if not can_change(self.status, BookingStatus.CANCELLED):
                raise InvalidStatusTransition(f"A {self.status.value} booking cannot be cancelled.")
            notice.check(self.slot.starts_at, at)
        self.cancelled_at, self.cancel_reason = at, reason
        self._move(BookingCancelled, BookingStatus.CANCELLED, by, at, reason)

    def changeable_until(self, notice: ChangeNotice) -> datetime | None:
        """Until when its owner may cancel or move it (cancel, check_reschedulable); None once it is
        neither PENDING nor CONFIRMED, when no one may."""
        return notice.closes_at(self.slot.starts_at) if self.status in ACTIVE_STATUSES else None

    def check_reschedulable(self, by: str, at: datetime, *, staff: bool = False, notice: ChangeNotice = ChangeNotice()) -> None:
        """Whether `by` may move this booking at all, whatever the slot: its owner (within the notice
        window) or staff (any time), and only while it is PENDING or CONFIRMED."""
        if not staff and by != self.user_id:
            raise Forbidden("This booking belongs to someone else.")
        if self.status not in ACTIVE_STATUSES:
            raise InvalidStatusTransition(f"A {self.status.value} booking cannot be moved to another slot.")
        if not staff:
            notice.check(self.slot.starts_at, at)

    def reschedule(
        self, slot: Slot, by: str, at: datetime, *, staff: bool = False, notice: ChangeNotice = ChangeNotice(),
        reminder: ReminderLead = ReminderLead(),
    ) -> None:  # fmt: skip
        """Move to `slot`, which the caller has checked as for a new booking (check_bookable) and
        taken; the status, reference and owner stay, the old slot is the caller's to free."""
        self.check_reschedulable(by, at, staff=staff, notice=notice)
        if slot.id == self.slot.id:
            raise SlotUnavailable("This booking already has this slot. Please choose another.")
        previous = self.slot
        before = self.slot.starts_at.astimezone(LONDON)
        after = slot.starts_at.astimezone(LONDON)
        reason = f"Moved from {before:%d %B %Y %H:%M} to {after:%d %B %Y %H:%M} (UK time)"
        self.slot = slot
        self.reschedule_count += 1
        self.reminder_due_at = reminder.due_at(slot.starts_at, at)
        self.events.append(BookingRescheduled(self, self.status, self.status, by, at, reason, previous_slot=previous))

    def reminder_is_due(self, at: datetime) -> bool:
        return self.status in ACTIVE_STATUSES and self.reminder_due_at is not None and self.reminder_due_at <= at

    def remind(self, by: str, at: datetime) -> bool:
        """Queue the reminder email that is due (True). A booking not due one (cancelled, moved since
        it was claimed, already reminded) is refused, so no path can send two for one due time. One
        whose appointment has started by now (every scheduler was down through the lead) drops its
        reminder instead (False): a reminder after the start helps nobody."""
        if not self.reminder_is_due(at):
            raise InvalidStatusTransition(f"Booking {self.reference_code} has no reminder due.")
        self.reminder_due_at = None
        if self.slot.starts_at <= at:
            return False
        when = self.slot.starts_at.astimezone(LONDON)
        self.events.append(
            ReminderDue(self, self.status, self.status, by, at, f"Reminder email sent for {when:%d %B %Y %H:%M} (UK time)")
        )
        return True

    def wanting(self, slot_id: UUID) -> BookSlot:
        """This booking as the form that would book `slot_id` anew: a slot it moves to must pass every
        check a new booking of that slot would (check_bookable: type, services, time, free)."""
        return BookSlot(
            user_id=self.user_id, type=self.type, for_kitchen=self.for_kitchen, for_bedroom=self.for_bedroom,
            contact=self.contact, slot_id=slot_id,
        )  # fmt: skip

    def _check_staff_change(self, target: BookingStatus, at: datetime) -> None:
        if not can_change(self.status, target):
            raise InvalidStatusTransition(f"A {self.status.value} booking cannot become {target.value}.")
        if target in OUTCOMES and self.slot.starts_at > at:
            raise InvalidStatusTransition(
                f"A booking can become {target.value} only once its appointment has started; "
                f"this one starts on {self.slot.starts_at.astimezone(LONDON):%d %B %Y at %H:%M} (UK time)."
            )

    def _move(self, event: type[BookingEvent], target: BookingStatus, by: str, at: datetime, reason: str = "") -> None:
        self.events.append(event(self, self.status, target, by, at, reason))
        self.status = target


# The FIXED contract gives a day's sequence four digits (`^BK-\d{8}-\d{4}$`), so a London day
# holds at most this many bookings. Past it we refuse rather than widen the code: clients and
# staff tools may rely on the pattern, and 9,999 bookings in a day is far beyond the diary's size.
DAILY_BOOKING_CAPACITY = 9999


def check_daily_capacity(sequence: int, now: datetime) -> None:
    """Refuse the booking that would take the day's sequence past four digits until London midnight:
    a daily capacity, so the same refusal as other limits (RateLimitExceeded, with when to retry)."""
    if sequence <= DAILY_BOOKING_CAPACITY:
        return
    _, midnight = london_day_bounds(london_date(now))
    raise RateLimitExceeded(
        max(1, math.ceil((midnight - now).total_seconds())),
        "We cannot take any more bookings today. Please try again after midnight (UK time).",
    )


def reference_code(day: date, sequence: int) -> str:
    if not 1 <= sequence <= DAILY_BOOKING_CAPACITY:
        raise ValueError(f"reference sequence {sequence} does not fit BK-YYYYMMDD-NNNN")
    return f"BK-{day:%Y%m%d}-{sequence:04d}"


@dataclass(frozen=True)
class BookSlot:
    """A customer's completed booking form (already shape-checked at the transport edge)."""

    user_id: str
    type: AppointmentType
    for_kitchen: bool
    for_bedroom: bool
    contact: Contact
    slot_id: UUID
    request_id: str | None = None
    # The customer's hold on the slot (issue 14), if the booking is made under one.
    hold_id: UUID | None = None

    def fingerprint(self) -> str:
        """What must match for a retried request_id to count as the same request."""
        c = self.contact
        parts = [self.type.value, str(self.for_kitchen), str(self.for_bedroom), c.first_name, c.last_name,
                 c.email.lower(), c.phone, c.postcode, c.address, str(self.slot_id)]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def check_bookable(slot: Slot, command: BookSlot, now: datetime) -> None:
    requested_type = command.type
    if slot.starts_at <= now:
        raise SlotInPast()
    if slot.is_booked:
        raise SlotUnavailable()
    if slot.is_blocked:
        raise SlotUnavailable("This slot is no longer available. Please choose another.")
    if slot.type is not requested_type:
        raise ValidationFailed(
            [FieldViolation("slotId", f"is a {slot.type.value} slot, not {requested_type.value}")],
            "This slot is for a different appointment type.",
        )
    # 400, like the type above: the request contradicts a fixed fact of the slot; no retry or
    # change of state would make it succeed, so it is not a conflict (409).
    for wanted, category, name in ((command.for_kitchen, Category.KITCHEN, "forKitchen"), (command.for_bedroom, Category.BEDROOM, "forBedroom")):
        if wanted and category not in slot.consultant.categories:
            words = category.value.lower()
            raise ValidationFailed(
                [FieldViolation(name, f"this slot's designer does not plan {words}s; choose a slot with a {words} designer")],
                f"This designer does not plan {words}s. Please choose a slot with a {words} designer.",
            )
    check_service_area(slot, command.type, command.contact.postcode)


def check_service_area(slot: Slot, requested_type: AppointmentType, postcode: str) -> None:
    """A home measurement only where the slot's consultant visits; `postcode` is normalised.

    422 like SLOT_IN_PAST: the request is well formed and the slot exists, but this slot can never
    serve this address; another slot (of a consultant who visits) can."""
    if requested_type is AppointmentType.HOME_MEASUREMENT and not slot.consultant.visits(outward_code(postcode)):
        raise OutsideServiceArea()

