"""Storing what the aggregates recorded, shared by the customer and the staff use cases."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING

from appointment_svc.domain import events
from appointment_svc.domain.model import Booking
from appointment_svc.service_layer.email_quota import publish_with_email

if TYPE_CHECKING:
    from appointment_svc.service_layer.unit_of_work import UnitOfWork


async def write_event(uow: UnitOfWork, event: object) -> None:
    """In the committing transaction: a booking step's history row, and for what the outside hears
    about, the outbox message (and for a customer email, its count against the mailbox's limit).

    This is the one place a booking's events are numbered: every published one takes the booking's
    next event sequence, whatever its type, so consumers can put a booking's events back in order
    (notification_svc.ordering). Steps nobody outside hears about take no number: no gaps."""
    if isinstance(event, events.BookingEvent):
        await uow.bookings.add_history(event)
        if type(event) in events.PUBLISHED:
            event = dataclasses.replace(event, sequence=await uow.bookings.next_event_sequence(event.booking))
    if type(event) in events.CUSTOMER_EMAIL:
        await publish_with_email(uow, event, event.at)
    elif type(event) in events.PUBLISHED:
        await uow.outbox.add(event)


async def save_status_change(uow: UnitOfWork, booking: Booking, now: datetime) -> events.BookingEvent:
    """Store the one step `booking` has just taken: its new status and the slot it gave back (its
    events are written at commit)."""
    (step,) = booking.events
    await uow.bookings.save(booking, now)
    if step.releases_slot:
        await uow.slots.free(booking.slot.id)
    return step
