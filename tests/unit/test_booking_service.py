"""BookingService, the core use case, over the fake unit of work: what it stores and answers."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from appointment_svc.domain.errors import (
    BookingNotFound,
    Forbidden,
    RequestIdConflict,
    SlotInPast,
    SlotNotFound,
    SlotUnavailable,
    ValidationFailed,
)
from appointment_svc.domain.model import AppointmentType, Booking, BookingStatus
from appointment_svc.service_layer.booking import BookingService
from tests.unit.fakes import ALICE, BOB, NOW, STAFF, FakeUnitOfWork, a_booking_form, a_slot


@pytest.fixture
def service(db, lock) -> BookingService:
    return BookingService(lambda: FakeUnitOfWork(db), lock, clock=lambda: NOW)


async def test_booking_a_free_slot_stores_a_pending_booking_its_history_and_its_event(service, db, lock):
    slot = a_slot(db)
    booking = await service.book(a_booking_form(slot))
    assert booking.status is BookingStatus.PENDING and booking.reference_code == "BK-20260302-0001"
    assert db.booking(booking.id) == booking and db.tables.slots[slot.id].is_booked
    assert [(c.from_status, c.to_status) for c in db.history_of(booking.id)] == [(None, BookingStatus.PENDING)]
    assert db.outbox_kinds() == ["BookingCreated"]
    assert lock.leases == {} and booking.events == []


async def test_reference_numbers_run_on_within_the_day(service, db):
    codes = [(await service.book(a_booking_form(a_slot(db, NOW + timedelta(days=2, hours=i))))).reference_code for i in range(2)]
    assert codes == ["BK-20260302-0001", "BK-20260302-0002"]


async def test_a_booked_slot_is_unavailable_to_the_next_customer(service, db):
    slot = a_slot(db)
    await service.book(a_booking_form(slot))
    with pytest.raises(SlotUnavailable):
        await service.book(a_booking_form(slot, user="u2"))
    assert len(db.active_bookings_of(slot.id)) == 1 and db.outbox_kinds() == ["BookingCreated"]


async def test_an_active_booking_storage_already_holds_makes_the_slot_unavailable(service, db):
    # The slot row says free, but the one-active-booking-per-slot index disagrees: storage wins.
    slot = a_slot(db)
    rival = Booking.create(a_booking_form(slot, user="u9"), slot, "BK-20260302-0042", NOW)
    rival.events.clear()
    db.tables.bookings[rival.id] = rival
    with pytest.raises(SlotUnavailable):
        await service.book(a_booking_form(slot))
    assert db.active_bookings_of(slot.id) == [rival] and db.tables.outbox == []


async def test_retrying_a_request_returns_the_booking_it_made(service, db):
    slot = a_slot(db)
    first = await service.book(a_booking_form(slot, request_id="req-1"))
    again = await service.book(a_booking_form(slot, request_id="req-1"))
    assert (again.id, again.reference_code) == (first.id, first.reference_code)
    assert len(db.tables.bookings) == 1 and db.outbox_kinds() == ["BookingCreated"]


async def test_a_request_id_reused_for_a_different_form_is_a_conflict(service, db):
    slot = a_slot(db)
    await service.book(a_booking_form(slot, request_id="req-2"))
    with pytest.raises(RequestIdConflict):
        await service.book(a_booking_form(slot, request_id="req-2", first_name="Someone"))
    with pytest.raises(RequestIdConflict):
        await service.book(a_booking_form(a_slot(db, NOW + timedelta(days=3)), request_id="req-2"))
    assert len(db.tables.bookings) == 1


async def test_the_same_request_id_of_another_customer_is_another_request(service, db):
    first = await service.book(a_booking_form(a_slot(db), request_id="shared"))
    second = await service.book(a_booking_form(a_slot(db, NOW + timedelta(days=3)), user="u2", request_id="shared"))
    assert first.id != second.id and len(db.tables.bookings) == 2


@pytest.mark.parametrize(
    ("setup", "refusal"),
    [
        (lambda db: uuid.uuid4(), SlotNotFound),
        (lambda db: a_slot(db, NOW - timedelta(hours=1)).id, SlotInPast),
        (lambda db: a_slot(db, is_blocked=True).id, SlotUnavailable),
        (lambda db: a_slot(db, type=AppointmentType.HOME_MEASUREMENT).id, ValidationFailed),
    ],
)
async def test_a_slot_that_cannot_be_booked_is_refused_and_nothing_is_stored(service, db, setup, refusal):
    form = replace(a_booking_form(a_slot(db)), slot_id=setup(db))
    with pytest.raises(refusal):
        await service.book(form)
    assert db.tables.bookings == {} and db.tables.outbox == [] and db.commits == 0


async def test_with_the_lock_service_down_the_booking_is_guarded_by_storage_alone(service, db, lock):
    lock.down = True
    slot = a_slot(db)
    booking = await service.book(a_booking_form(slot))
    assert db.booking(booking.id).status is BookingStatus.PENDING and db.tables.slots[slot.id].is_booked
    with pytest.raises(SlotUnavailable):
        await service.book(a_booking_form(slot, user="u2"))
    assert len(db.active_bookings_of(slot.id)) == 1


async def test_a_stale_lock_on_a_free_row_is_overruled_and_removed(service, db, lock):
    slot = a_slot(db)
    lock.leases[slot.id] = "token-of-a-sigkilled-replica"
    booking = await service.book(a_booking_form(slot))
    assert db.booking(booking.id).slot.id == slot.id and lock.leases == {}


async def test_the_owner_cancels_and_the_slot_is_free_for_anyone(service, db):
    slot = a_slot(db)
    booking = await service.book(a_booking_form(slot))
    await service.cancel(booking.id, ALICE, " changed my mind ")
    assert db.booking(booking.id).status is BookingStatus.CANCELLED and db.booking(booking.id).cancel_reason == "changed my mind"
    rebooked = await service.book(a_booking_form(slot, user="u2"))
    assert db.active_bookings_of(slot.id) == [db.booking(rebooked.id)]
    assert db.outbox_kinds() == ["BookingCreated", "BookingCancelled", "BookingCreated"]


@pytest.mark.parametrize("someone_else", [BOB, STAFF])
async def test_nobody_else_cancels_through_the_customer_path(service, db, someone_else):
    booking = await service.book(a_booking_form(a_slot(db)))
    with pytest.raises(Forbidden):
        await service.cancel(booking.id, someone_else, "")
    assert db.booking(booking.id).status is BookingStatus.PENDING and db.outbox_kinds() == ["BookingCreated"]


async def test_cancelling_an_unknown_booking_is_not_found(service):
    with pytest.raises(BookingNotFound):
        await service.cancel(uuid.uuid4(), ALICE, "")


async def test_a_booking_is_shown_to_its_owner_and_to_staff_only(service, db):
    booking = await service.book(a_booking_form(a_slot(db)))
    assert (await service.get(booking.id, ALICE)).id == booking.id
    assert (await service.get(booking.id, STAFF)).id == booking.id
    with pytest.raises(Forbidden):
        await service.get(booking.id, BOB)
    with pytest.raises(BookingNotFound):
        await service.get(uuid.uuid4(), ALICE)


async def test_my_bookings_are_mine_only_newest_first_and_paged(db, lock):
    clock = [NOW]
    service = BookingService(lambda: FakeUnitOfWork(db), lock, clock=lambda: clock[0])
    made = []
    for i in range(3):
        clock[0] = NOW + timedelta(minutes=i)
        made.append(await service.book(a_booking_form(a_slot(db, NOW + timedelta(days=2 + i)))))
    await service.book(a_booking_form(a_slot(db, NOW + timedelta(days=9)), user="u2"))
    page, total = await service.list_mine(ALICE, 1, 2)
    assert total == 3 and [b.id for b in page] == [made[2].id, made[1].id]
    assert [b.id for b in (await service.list_mine(ALICE, 2, 2))[0]] == [made[0].id]
