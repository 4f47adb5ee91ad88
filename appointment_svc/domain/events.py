"""What happened to a booking: recorded by the Booking aggregate, stored and published by the service layer."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    # Only for annotations: the aggregate in model.py creates these events, so model imports this module.
    from appointment_svc.domain.model import Booking, BookingStatus


@dataclass(frozen=True)
class BookingEvent:
    """One step of a booking's lifecycle, carrying exactly the history row it leaves."""

    booking: Booking
    from_status: BookingStatus | None  # None when the booking was created
    to_status: BookingStatus
    by: str
    at: datetime
    reason: str = ""

    # A booking that no longer holds its slot gives it back (and the availability of its day changes).
    releases_slot: ClassVar[bool] = False


class BookingCreated(BookingEvent):
    pass


class BookingConfirmed(BookingEvent):
    pass


class BookingCancelled(BookingEvent):
    releases_slot = True

    @property
    def cancelled_by(self) -> str:
        return self.by


# A completed or missed appointment's time is spent: its slot stays taken.
class BookingCompleted(BookingEvent):
    pass


class BookingMarkedNoShow(BookingEvent):
    pass


# The email to the customer each event causes (notification_svc.emails plans the same ones; a
# unit test keeps the two in step). Every one counts against the recipient's daily limit. Only
# these events leave the service through the outbox: nothing outside it listens for the others.
CUSTOMER_EMAIL = {
    BookingCreated: "booking-confirmation",
    BookingCancelled: "booking-cancellation",
    BookingConfirmed: "booking-confirmed",
}
