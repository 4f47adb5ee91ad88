"""The per-recipient limit on booking emails, shared by the customer and the staff use cases.

Customers are refused (429) past the limit, before anything is written. Staff never are: they act
for the customer (confirming, cancelling because a designer is ill) and refusing them would stall
the business; their emails still count, so they use up what customers may cause that day.
"""
from __future__ import annotations

from datetime import datetime

from appointment_svc.domain import events
from appointment_svc.domain.limits import EMAIL_WINDOW, BookingLimits
from appointment_svc.domain.validation import canonical_email


async def serialise_booking_emails(uow, email: str) -> None:
    """Hold the recipient's lock until the transaction ends: requests for one mailbox count one
    after the other. Read the clock after this, so the times a mailbox records only ever rise."""
    await uow.serialise_recipient(canonical_email(email))


async def check_booking_emails(uow, limits: BookingLimits, email: str, now: datetime) -> None:
    """Refuse a customer's request whose email would pass the recipient's limit (exact only
    under serialise_booking_emails; without it, a quick pre-check)."""
    recipient = canonical_email(email)
    limits.check_email_quota(await uow.booking_emails_since(recipient, now - EMAIL_WINDOW), now)


async def publish_with_email(uow, event, now: datetime) -> None:
    """Write the event and count the customer email it causes, in the same transaction."""
    await uow.publish(event)
    booking = event.booking
    await uow.record_booking_email(
        canonical_email(booking.contact.email), booking.id, events.CUSTOMER_EMAIL[type(event)], now,
        forget_before=now - EMAIL_WINDOW,
    )  # fmt: skip
