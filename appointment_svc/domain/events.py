"""Facts the rest of the system hears about through the outbox."""
from __future__ import annotations

from dataclasses import dataclass

from appointment_svc.domain.model import Booking


@dataclass(frozen=True)
class BookingCreated:
    booking: Booking


@dataclass(frozen=True)
class BookingCancelled:
    booking: Booking
    cancelled_by: str


@dataclass(frozen=True)
class BookingConfirmed:
    booking: Booking


# The email to the customer each event causes (notification_svc.emails plans the same ones; a
# unit test keeps the two in step). Every one counts against the recipient's daily limit.
CUSTOMER_EMAIL = {
    BookingCreated: "booking-confirmation",
    BookingCancelled: "booking-cancellation",
    BookingConfirmed: "booking-confirmed",
}
