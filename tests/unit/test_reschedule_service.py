"""BookingService.reschedule over the fake unit of work: what one move stores, and that a refused
move stores nothing."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from appointment_svc.bootstrap import event_handlers
from appointment_svc.domain import events
from appointment_svc.domain.errors import (
    BookingNotFound,
    ChangeWindowClosed,
    Forbidden,
    InvalidStatusTransition,
    RateLimitExceeded,
    SlotInPast,
    SlotNotFound,
    SlotUnavailable,
    ValidationFailed,
)
from appointment_svc.domain.limits import BookingLimits
from appointment_svc.domain.model import AppointmentType, BookingStatus, Category, Consultant, london_date
from appointment_svc.domain.notice import NO_NOTICE
from appointment_svc.service_layer.booking import BookingService
from appointment_svc.service_layer.messagebus import MessageBus
from tests.unit.fakes import ALICE, BOB, NOW, STAFF, FakeUnitOfWork, a_booking_form, a_slot


@pytest.fixture
def service(db, lock, cache) -> BookingService:
    return BookingService(lambda: FakeUnitOfWork(db, MessageBus(event_handlers(cache, lock))), lock, clock=lambda: NOW)


async def booked(service, db, starts=NOW + timedelta(days=2), user="u1"):
    booking = await service.book(a_booking_form(a_slot(db, starts), user=user))
    db.tables.outbox.clear()
    return booking


async def test_a_move_takes_the_new_slot_frees_the_old_and_records_one_event(service, db, lock, cache):
    booking = await booked(service, db)
    old = booking.slot
    new = a_slot(db, NOW + timedelta(days=5))
    cache.invalidated.clear()
    moved, previous = await service.reschedule(booking.id, ALICE, new.id)
    assert (moved.id, moved.reference_code, moved.status, moved.slot.id, previous.id) == (
        booking.id, booking.reference_code, BookingStatus.PENDING, new.id, old.id,
    )
    stored = db.booking(booking.id)
    assert stored.slot.id == new.id and stored.reschedule_count == 1
    assert db.tables.slots[new.id].is_booked and not db.tables.slots[old.id].is_booked
    assert db.outbox_kinds() == ["BookingRescheduled"] and db.tables.outbox[0].previous_slot.id == old.id
    last = db.history_of(booking.id)[-1]
    assert (last.from_status, last.to_status, last.changed_by) == (BookingStatus.PENDING, BookingStatus.PENDING, "u1")
    assert [e[2] for e in db.tables.emails] == ["booking-confirmation", "booking-rescheduled"]
    assert sorted(cache.invalidated) == [london_date(old.starts_at), london_date(new.starts_at)]
    assert lock.leases == {}


async def test_staff_move_any_booking_at_any_time(service, db):
    booking = await booked(service, db, NOW + timedelta(hours=2))
    new = a_slot(db, NOW + timedelta(hours=3))
    moved, _ = await service.reschedule(booking.id, STAFF, new.id)
    assert moved.slot.id == new.id and db.history_of(booking.id)[-1].changed_by == "staff-1"


async def assert_untouched(db, booking, *slots):
    stored = db.booking(booking.id)
    assert stored.slot.id == booking.slot.id and stored.reschedule_count == 0 and stored.status == booking.status
    assert db.tables.slots[booking.slot.id].is_booked
    assert db.tables.outbox == []


async def test_a_taken_slot_is_unavailable_and_the_booking_is_untouched(service, db):
    booking = await booked(service, db)
    other = await booked(service, db, NOW + timedelta(days=3), user="u2")
    with pytest.raises(SlotUnavailable):
        await service.reschedule(booking.id, ALICE, other.slot.id)
    await assert_untouched(db, booking)
    assert db.booking(other.id).slot.id == other.slot.id


async def test_a_slot_taken_after_the_unlocked_look_is_refused_under_the_lock(service, db):
    # The unique index as last word: the slot row says free, storage holds an active booking of it.
    booking = await booked(service, db)
    target = a_slot(db, NOW + timedelta(days=4))
    rival = await booked(service, db, NOW + timedelta(days=6), user="u2")
    stored_rival = db.booking(rival.id)
    db.tables.bookings[rival.id] = type(stored_rival)(**{**vars(stored_rival), "slot": target, "events": []})
    with pytest.raises(SlotUnavailable):
        await service.reschedule(booking.id, ALICE, target.id)
    await assert_untouched(db, booking)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"is_blocked": True}, SlotUnavailable),
        ({"type": AppointmentType.VIDEO_CONSULTATION}, ValidationFailed),
        ({"consultant": Consultant(uuid.uuid4(), "B", "https://a.example/b.png", (Category.BEDROOM,))}, ValidationFailed),
    ],
    ids=["blocked", "other-type", "no-kitchen-designer"],
)
async def test_the_new_slot_gets_every_check_a_new_booking_gets(service, db, overrides, error):
    booking = await booked(service, db)
    target = a_slot(db, NOW + timedelta(days=4), **overrides)
    with pytest.raises(error):
        await service.reschedule(booking.id, ALICE, target.id)
    await assert_untouched(db, booking)
    assert not db.tables.slots[target.id].is_booked


async def test_a_slot_in_the_past_or_unknown_is_refused(service, db):
    booking = await booked(service, db)
    with pytest.raises(SlotInPast):
        await service.reschedule(booking.id, ALICE, a_slot(db, NOW - timedelta(hours=1)).id)
    with pytest.raises(SlotNotFound):
        await service.reschedule(booking.id, ALICE, uuid.uuid4())
    await assert_untouched(db, booking)


async def test_someone_elses_or_no_booking(service, db):
    booking = await booked(service, db)
    target = a_slot(db, NOW + timedelta(days=4))
    with pytest.raises(Forbidden):
        await service.reschedule(booking.id, BOB, target.id)
    with pytest.raises(BookingNotFound):
        await service.reschedule(uuid.uuid4(), ALICE, target.id)
    await assert_untouched(db, booking)


async def test_a_cancelled_booking_does_not_move(service, db):
    booking = await booked(service, db)
    await service.cancel(booking.id, ALICE, "")
    db.tables.outbox.clear()
    target = a_slot(db, NOW + timedelta(days=4))
    with pytest.raises(InvalidStatusTransition):
        await service.reschedule(booking.id, ALICE, target.id)
    assert not db.tables.slots[target.id].is_booked and db.tables.outbox == []


async def test_the_customer_is_held_to_the_notice_window_for_moves_and_cancels(service, db, cache, lock):
    booking = await booked(service, db, NOW + timedelta(hours=23))
    target = a_slot(db, NOW + timedelta(days=4))
    with pytest.raises(ChangeWindowClosed):
        await service.reschedule(booking.id, ALICE, target.id)
    with pytest.raises(ChangeWindowClosed):
        await service.cancel(booking.id, ALICE, "")
    await assert_untouched(db, booking)
    relaxed = BookingService(lambda: FakeUnitOfWork(db, MessageBus(event_handlers(cache, lock))), lock, clock=lambda: NOW, notice=NO_NOTICE)
    moved, _ = await relaxed.reschedule(booking.id, ALICE, target.id)
    assert moved.slot.id == target.id


async def test_a_customers_move_needs_room_for_its_email_but_staffs_does_not(db, lock, cache):
    limits = BookingLimits(max_emails_per_day=2)
    service = BookingService(lambda: FakeUnitOfWork(db, MessageBus(event_handlers(cache, lock))), lock, clock=lambda: NOW, limits=limits)
    booking = await booked(service, db)  # its confirmation, and its cancellation notice promised: 2 of 2
    target = a_slot(db, NOW + timedelta(days=4))
    with pytest.raises(RateLimitExceeded):
        await service.reschedule(booking.id, ALICE, target.id)
    await assert_untouched(db, booking)
    moved, _ = await service.reschedule(booking.id, STAFF, target.id)
    assert moved.slot.id == target.id


async def test_a_move_is_one_step_of_the_lifecycle_a_later_cancel_frees_the_new_slot(service, db):
    booking = await booked(service, db)
    target = a_slot(db, NOW + timedelta(days=4))
    await service.reschedule(booking.id, ALICE, target.id)
    await service.cancel(booking.id, ALICE, "")
    assert not db.tables.slots[target.id].is_booked and not db.tables.slots[booking.slot.id].is_booked
    assert db.outbox_kinds() == ["BookingRescheduled", "BookingCancelled"]
    assert isinstance(db.tables.outbox[1], events.BookingCancelled)
