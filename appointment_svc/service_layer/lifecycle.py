"""Storing what the Booking aggregate recorded, shared by the customer and the staff use cases."""
from __future__ import annotations

from datetime import datetime

from appointment_svc.domain import events
from appointment_svc.domain.model import Booking
from appointment_svc.service_layer.email_quota import publish_with_email


async def write_events(uow, booking: Booking) -> None:
    """In the caller's transaction: the history row of every recorded step, and for those the outside
    hears about, the outbox message and the customer email it causes."""
    recorded, booking.events = booking.events, []
    for event in recorded:
        await uow.record_status_change(booking.id, event.from_status, event.to_status, event.by, event.at, event.reason)
        if type(event) in events.CUSTOMER_EMAIL:
            await publish_with_email(uow, event, event.at)


async def save_status_change(uow, booking: Booking, now: datetime) -> events.BookingEvent:
    """Store the one step `booking` has just taken: its new status, the slot it gave back, its events."""
    (step,) = booking.events
    await uow.save_status(booking, now)
    if step.releases_slot:
        await uow.free_slot(booking.slot.id)
    await write_events(uow, booking)
    return step
