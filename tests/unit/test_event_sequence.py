"""Every published booking event carries its booking's next number, given where it becomes an outbox row."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from appointment_svc.adapters.event_codec import encode_event
from appointment_svc.domain import events
from appointment_svc.domain.model import AppointmentType, Booking, BookSlot
from booking.v1 import events_pb2
from mesh_common.events import EVENT_TYPES
from tests.unit.fakes import FakeDatabase, FakeUnitOfWork
from tests.unit.test_booking_lifecycle import AFTER_IT_STARTED, JANE, NOW, a_slot


async def book(db: FakeDatabase) -> Booking:
    slot = db.add_slot(a_slot())
    async with FakeUnitOfWork(db) as uow:
        command = BookSlot("alice", AppointmentType.SHOWROOM_VISIT, True, False, JANE, slot.id)
        booking = Booking.create(command, slot, "BK-20260302-0001", NOW)
        await uow.bookings.add(booking, None)
        await uow.commit()
    return booking


async def step(db: FakeDatabase, booking_id, change) -> None:
    async with FakeUnitOfWork(db) as uow:
        booking = await uow.bookings.get(booking_id, lock=True)
        change(booking)
        await uow.bookings.save(booking, NOW)
        await uow.commit()


def sequences(db: FakeDatabase) -> list[tuple[str, int]]:
    return [(type(e).__name__, e.sequence) for e in db.tables.outbox]


async def test_a_bookings_published_events_are_numbered_one_by_one_from_its_creation(db):
    booking = await book(db)
    await step(db, booking.id, lambda b: b.confirm("staff-7", NOW))
    await step(db, booking.id, lambda b: b.cancel("staff-7", "consultant ill", NOW, on_behalf=True))
    assert sequences(db) == [("BookingCreated", 1), ("BookingConfirmed", 2), ("BookingCancelled", 3)]
    assert db.booking(booking.id).event_sequence == 3


async def test_steps_nobody_outside_hears_about_take_no_number_so_there_are_no_gaps(db):
    booking = await book(db)
    await step(db, booking.id, lambda b: b.confirm("staff-7", NOW))
    await step(db, booking.id, lambda b: b.complete("staff-7", AFTER_IT_STARTED))
    assert events.BookingCompleted not in events.PUBLISHED and events.BookingMarkedNoShow not in events.PUBLISHED
    assert sequences(db) == [("BookingCreated", 1), ("BookingConfirmed", 2)]
    assert db.booking(booking.id).event_sequence == 2


async def test_a_rolled_back_change_takes_no_number(db):
    booking = await book(db)
    with pytest.raises(RuntimeError):
        async with FakeUnitOfWork(db) as uow:
            loaded = await uow.bookings.get(booking.id, lock=True)
            loaded.confirm("staff-7", NOW)
            await uow.bookings.save(loaded, NOW)
            raise RuntimeError("the transaction fails before its commit")
    await step(db, booking.id, lambda b: b.confirm("staff-7", NOW + timedelta(minutes=1)))
    assert sequences(db)[-1] == ("BookingConfirmed", 2)


@pytest.mark.parametrize("subject", sorted(s for s, t in EVENT_TYPES.items() if "appointment" in t.DESCRIPTOR.fields_by_name))
def test_every_booking_event_message_has_a_sequence_field(subject):
    # notification_svc.ordering reads it from every message that carries an appointment.
    field = EVENT_TYPES[subject].DESCRIPTOR.fields_by_name.get("sequence")
    assert field is not None and field.type == field.TYPE_UINT64


def test_the_outbox_payload_carries_the_events_number():
    booking = Booking.create(
        BookSlot("alice", AppointmentType.SHOWROOM_VISIT, True, False, JANE, uuid.uuid4()), a_slot(), "BK-20260302-0001", NOW
    )
    (created,) = booking.events
    subject, message = encode_event(events.BookingCreated(booking, None, created.to_status, "alice", NOW, sequence=7))
    assert subject == "booking.created"
    assert events_pb2.BookingCreated.FromString(message.SerializeToString()).sequence == 7
