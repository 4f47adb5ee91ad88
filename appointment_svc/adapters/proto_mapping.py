"""Domain objects → protobuf messages, shared by the gRPC responses and the outbox events."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from appointment_svc.domain.model import Booking, Slot
from booking.v1 import resources_pb2 as res


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def slot_message(slot: Slot) -> res.Slot:
    return res.Slot(
        slot_id=str(slot.id),
        starts_at=timestamp(slot.starts_at),
        ends_at=timestamp(slot.ends_at),
        consultant=res.ConsultantSummary(name=slot.consultant.name, avatar_url=slot.consultant.avatar_url),
    )


def appointment_message(booking: Booking) -> res.Appointment:
    message = res.Appointment(
        booking_id=str(booking.id),
        reference_code=booking.reference_code,
        status=res.BookingStatus.Value(booking.status.value),
        type=res.AppointmentType.Value(booking.type.value),
        for_kitchen=booking.for_kitchen,
        for_bedroom=booking.for_bedroom,
        **asdict(booking.contact),
        slot=slot_message(booking.slot),
        created_at=timestamp(booking.created_at),
        user_id=booking.user_id,
        reschedule_count=booking.reschedule_count,
    )
    if booking.cancelled_at is not None:  # the reason, even an empty one, belongs to a cancellation only
        message.cancelled_at.CopyFrom(timestamp(booking.cancelled_at))
        message.cancel_reason = booking.cancel_reason
    return message
