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
