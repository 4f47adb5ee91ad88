"""Domain events → (NATS subject, protobuf payload) for the outbox."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from appointment_svc.adapters.proto_mapping import appointment_message, timestamp
from appointment_svc.domain import events
from booking.v1 import events_pb2


def encode_event(event) -> tuple[str, object]:
    common = {"event_id": str(uuid.uuid4()), "occurred_at": timestamp(datetime.now(timezone.utc))}
    if isinstance(event, events.BookingCreated):
        return "booking.created", events_pb2.BookingCreated(appointment=appointment_message(event.booking), **common)
    if isinstance(event, events.BookingCancelled):
        return "booking.cancelled", events_pb2.BookingCancelled(
            appointment=appointment_message(event.booking), cancelled_by=event.cancelled_by, **common
        )
    if isinstance(event, events.BookingConfirmed):
        return "booking.confirmed", events_pb2.BookingConfirmed(appointment=appointment_message(event.booking), **common)
    raise TypeError(f"no encoding for {type(event).__name__}")
