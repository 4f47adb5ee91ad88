"""The per-recipient limit on booking emails, shared by the customer and the staff use cases.

A booking is refused (429) unless the mailbox has room for its confirmation and for the
cancellation notice of every upcoming booking it has, this one included, before anything is
written. Cancelling is never refused: its notice was promised when the booking was made, and a
customer must always be able to give a slot back. Staff are never refused either: they act for
the customer (confirming, cancelling because a designer is ill) and refusing them would stall the
business; their emails still count, so they use up what customers may cause that day.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from appointment_svc.domain import events
from appointment_svc.domain.limits import EMAIL_WINDOW, BookingLimits
from appointment_svc.domain.validation import canonical_email

if TYPE_CHECKING:
    from appointment_svc.service_layer.unit_of_work import BookingFacts, UnitOfWork


async def serialise_booking_emails(uow: UnitOfWork, email: str) -> None:
    """Hold the recipient's lock until the transaction ends: requests for one mailbox count one
    after the other. Read the clock after this, so the times a mailbox records only ever rise."""
    await uow.emails.serialise(canonical_email(email))


def check_room_for_a_booking(limits: BookingLimits, facts: BookingFacts, now: datetime) -> None:
    """Refuse a booking whose emails would not fit the recipient's limit (exact only when the facts
    were read under serialise_booking; without it, a quick pre-check)."""
    limits.check_email_quota(facts.emails_sent, now, promised=facts.emails_promised, needs=2)


async def publish_with_email(uow: UnitOfWork, event: events.BookingEvent, now: datetime) -> None:
    """Write the event and count the customer email it causes, in the same transaction."""
    await uow.outbox.add(event)
    booking = event.booking
    await uow.emails.record(
        canonical_email(booking.contact.email), booking.id, events.CUSTOMER_EMAIL[type(event)], now,
        forget_before=now - EMAIL_WINDOW,
    )  # fmt: skip
