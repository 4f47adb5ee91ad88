"""Domain events → (NATS subject, protobuf payload) for the outbox."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from appointment_svc.adapters.proto_mapping import appointment_message, slot_message, timestamp
from appointment_svc.domain import events
from booking.v1 import events_pb2
from mesh_common.events import BOOKING_REMINDER_DUE, BOOKING_RESCHEDULED, BROCHURE_REQUESTED


def encode_event(event) -> tuple[str, object]:
    if isinstance(event, events.BrochureRequested):
        return BROCHURE_REQUESTED, brochure_requested(event)
    subject, message = _booking_event(event)
    # Every booking event message has the field (a unit test checks): a new one without it fails here.
    message.sequence = event.sequence
    return subject, message


def _booking_event(event: events.BookingEvent) -> tuple[str, object]:
    common = {"event_id": str(uuid.uuid4()), "occurred_at": timestamp(datetime.now(timezone.utc))}
    if isinstance(event, events.BookingCreated):
        return "booking.created", events_pb2.BookingCreated(appointment=appointment_message(event.booking), **common)
    if isinstance(event, events.BookingCancelled):
        return "booking.cancelled", events_pb2.BookingCancelled(
            appointment=appointment_message(event.booking), cancelled_by=event.cancelled_by, **common
        )
    if isinstance(event, events.BookingConfirmed):
        return "booking.confirmed", events_pb2.BookingConfirmed(appointment=appointment_message(event.booking), **common)
    if isinstance(event, events.BookingRescheduled):
        return BOOKING_RESCHEDULED, events_pb2.BookingRescheduled(
            appointment=appointment_message(event.booking),
            previous_slot=slot_message(event.previous_slot),
            rescheduled_by=event.by,
            **common,
        )
    if isinstance(event, events.ReminderDue):
        return BOOKING_REMINDER_DUE, events_pb2.BookingReminderDue(appointment=appointment_message(event.booking), **common)
    raise TypeError(f"no encoding for {type(event).__name__}")


def brochure_requested(event: events.BrochureRequested) -> events_pb2.BrochureRequested:
    contact = event.request.contact
    return events_pb2.BrochureRequested(
        event_id=str(event.event_id),
        request_id=str(event.request.id),
        first_name=contact.first_name,
        last_name=contact.last_name,
        email=contact.email,
        phone=contact.phone,
        postcode=contact.postcode,
        address=contact.address,
        occurred_at=timestamp(event.at),
    )
