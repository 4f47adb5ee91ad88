"""What happened in the diary: recorded on the aggregates, written by the unit of work at commit, and
reacted to by the handlers wired in appointment_svc/bootstrap.py once the commit is durable."""
from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

if TYPE_CHECKING:
    # Only for annotations: the aggregates create these events, so their modules import this one.
    from appointment_svc.domain.brochures import BrochureRequest
    from appointment_svc.domain.model import Booking, BookingStatus, Slot


class HistoryKind(str, enum.Enum):
    """What a history row records: a change of status, a move to another slot (the status stays),
    or the reminder email being queued (the status stays)."""

    STATUS = "STATUS"
    MOVE = "MOVE"
    REMINDER = "REMINDER"


@dataclass(frozen=True)
class BookingEvent:
    """One step of a booking's lifecycle, carrying exactly the history row it leaves."""

    booking: Booking
    from_status: BookingStatus | None  # None when the booking was created
    to_status: BookingStatus
    by: str
    at: datetime
    reason: str = ""
    # Its place among the booking's published events (1 for its creation), given when it is written
    # to the outbox; 0 for a step nothing outside hears about.
    sequence: int = 0

    # A booking that no longer holds its slot gives it back (and the availability of its day changes).
    releases_slot: ClassVar[bool] = False
    history_kind: ClassVar[HistoryKind] = HistoryKind.STATUS


class BookingCreated(BookingEvent):
    pass


class BookingConfirmed(BookingEvent):
    pass


class BookingCancelled(BookingEvent):
    releases_slot = True

    @property
    def cancelled_by(self) -> str:
        return self.by


@dataclass(frozen=True)
class BookingRescheduled(BookingEvent):
    """The booking moved to another slot (now `booking.slot`), keeping its status; `previous_slot` is
    free again. Both days' availability changed."""

    previous_slot: Slot | None = None
    history_kind: ClassVar[HistoryKind] = HistoryKind.MOVE


class ReminderDue(BookingEvent):
    """The booking's reminder email is due (issue 15): written to the outbox by the scheduler that
    claimed it, once per reminder_due_at the booking was given. The status stays."""

    history_kind = HistoryKind.REMINDER


# A completed or missed appointment's time is spent: its slot stays taken.
class BookingCompleted(BookingEvent):
    pass


class BookingMarkedNoShow(BookingEvent):
    pass


@dataclass(frozen=True)
class SlotsAdded:
    """Staff opened slots (one, or the ones a pattern generated that overlapped nothing)."""

    starts: tuple[datetime, ...]


@dataclass(frozen=True)
class ConsultantAreasChanged:
    """Staff replaced a consultant's service areas; `starts` are its open home-measurement slots,
    whose days' postcode-filtered grids no longer hold."""

    consultant_id: UUID
    starts: tuple[datetime, ...]


@dataclass(frozen=True)
class SlotBlocked:
    slot_id: UUID
    starts_at: datetime


@dataclass(frozen=True)
class SlotUnblocked:
    slot_id: UUID
    starts_at: datetime


@dataclass(frozen=True)
class SlotHeld:
    """A customer took a hold on the slot: it leaves everyone's grid until the hold ends."""

    slot_id: UUID
    starts_at: datetime


@dataclass(frozen=True)
class SlotHoldReleased:
    """A hold was let go of (released, replaced or used by its booking) before it ran out."""

    slot_id: UUID
    starts_at: datetime


@dataclass(frozen=True)
class BrochureRequested:
    request: BrochureRequest
    at: datetime
    # Known before the write, so the use case can log the id the outbox row and consumers will carry.
    event_id: UUID = field(default_factory=uuid.uuid4)


# The email to the customer each event causes (notification_svc.emails plans the same ones; a
# unit test keeps the two in step). Every one counts against the recipient's daily limit.
CUSTOMER_EMAIL = {
    BookingCreated: "booking-confirmation",
    BookingCancelled: "booking-cancellation",
    BookingConfirmed: "booking-confirmed",
    BookingRescheduled: "booking-rescheduled",
    ReminderDue: "booking-reminder",
}

# Only these leave the service, through the outbox: nothing outside it listens for the others.
PUBLISHED = frozenset({*CUSTOMER_EMAIL, BrochureRequested})
