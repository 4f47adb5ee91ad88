"""Personal data (issue 15): what an export holds, whose data an erasure reaches, what it changed.

Erasing keeps the records a business needs (reference codes, times, statuses, who changed what
when) and blanks everything that identifies the person: on a booking its names, email, phone,
postcode, address and cancel reason, the reason of its cancellations in the history, and the
recipient of the emails sent about it; on a brochure request every contact field.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from appointment_svc.domain.model import Booking
from appointment_svc.domain.staff import StatusChange
from appointment_svc.domain.validation import Contact, canonical_email

# Why the erasure cancelled a booking: the cancellation email and the history say it; no one's words.
ERASURE_REASON = "Cancelled because the customer asked for their personal data to be erased."


@dataclass(frozen=True)
class Whose:
    """Whose data: a customer's (token `sub`: their bookings, and the brochure requests of their
    bookings' addresses) or a mailbox's (every booking and brochure request made with it)."""

    user_id: str | None = None
    mailbox: str | None = None

    @classmethod
    def customer(cls, user_id: str) -> Whose:
        return cls(user_id=user_id)

    @classmethod
    def address(cls, email: str) -> Whose:
        return cls(mailbox=canonical_email(email))


@dataclass(frozen=True)
class ErasureSummary:
    bookings_cancelled: int = 0
    bookings_anonymised: int = 0
    history_reasons_erased: int = 0
    emails_anonymised: int = 0
    brochure_requests_anonymised: int = 0

    def plus(self, **more: int) -> ErasureSummary:
        values = {name: getattr(self, name) + more.get(name, 0) for name in self.__dataclass_fields__}
        return ErasureSummary(**values)


@dataclass(frozen=True)
class BookingRecord:
    booking: Booking
    history: list[StatusChange]
    anonymised_at: datetime | None


@dataclass(frozen=True)
class EmailRecord:
    booking_id: UUID
    reference_code: str
    kind: str
    sent_at: datetime


@dataclass(frozen=True)
class BrochureRecord:
    id: UUID
    contact: Contact
    requested_at: datetime


@dataclass(frozen=True)
class PersonalDataExport:
    user_id: str
    exported_at: datetime
    bookings: list[BookingRecord] = field(default_factory=list)
    emails: list[EmailRecord] = field(default_factory=list)
    brochure_requests: list[BrochureRecord] = field(default_factory=list)

