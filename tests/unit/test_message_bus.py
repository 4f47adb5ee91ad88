"""The unit of work writes recorded events at commit; the bus's handlers react only to committed ones."""
from __future__ import annotations

from datetime import date

import pytest

from appointment_svc.bootstrap import event_handlers
from appointment_svc.domain import events
from appointment_svc.domain.errors import SlotUnavailable
from appointment_svc.domain.model import Booking, BookingStatus
from appointment_svc.service_layer.booking import BookingService
from appointment_svc.service_layer.messagebus import MessageBus
from mesh_common.principal import Principal, Role
from tests.unit.fakes import NOW, FakeCache, FakeDatabase, FakeSlotLock, FakeUnitOfWork, a_booking_form, a_slot

SLOT_DAY = date(2026, 3, 4)


def new_booking(db: FakeDatabase) -> Booking:
    slot = a_slot(db)
    return Booking.create(a_booking_form(slot), slot, "BK-20260302-0001", NOW)


async def test_commit_writes_the_history_and_outbox_rows_of_what_the_aggregates_recorded(db):
    booking = new_booking(db)
    async with FakeUnitOfWork(db) as uow:
        await uow.bookings.add(booking, None)
        await uow.commit()
    assert [(c.from_status, c.to_status) for c in db.history_of(booking.id)] == [(None, BookingStatus.PENDING)]
    assert db.outbox_kinds() == ["BookingCreated"]
    assert [kind for _, _, kind, _ in db.tables.emails] == ["booking-confirmation"]
    assert booking.events == []


async def test_events_of_a_transaction_left_without_commit_are_neither_written_nor_handled(db, cache):
    booking = new_booking(db)
    async with FakeUnitOfWork(db, MessageBus(event_handlers(cache, FakeSlotLock()))) as uow:
        await uow.bookings.add(booking, None)
    assert db.tables.bookings == {} and db.tables.outbox == [] and db.tables.history == []
    assert cache.invalidated == []


async def test_a_failed_transaction_causes_no_reaction(db, cache):
    booking = new_booking(db)
    with pytest.raises(RuntimeError):
        async with FakeUnitOfWork(db, MessageBus(event_handlers(cache, FakeSlotLock()))) as uow:
            await uow.bookings.add(booking, None)
            raise RuntimeError("refused before commit")
    assert cache.invalidated == [] and db.commits == 0


async def test_handlers_run_once_the_change_is_committed(db):
    booking = new_booking(db)
    seen_by_handler = []

    async def look(event):
        seen_by_handler.append(db.booking(event.booking.id).status)

    async with FakeUnitOfWork(db, MessageBus({events.BookingCreated: [look]})) as uow:
        await uow.bookings.add(booking, None)
        await uow.commit()
    assert seen_by_handler == [BookingStatus.PENDING]


async def test_a_failing_handler_neither_undoes_the_change_nor_stops_the_others(db):
    booking, reached = new_booking(db), []

    async def broken(event):
        raise ConnectionError("cache down")

    async def next_one(event):
        reached.append(type(event))

    async with FakeUnitOfWork(db, MessageBus({events.BookingCreated: [broken, next_one]})) as uow:
        await uow.bookings.add(booking, None)
        await uow.commit()
    assert db.booking(booking.id).status is BookingStatus.PENDING and reached == [events.BookingCreated]


async def test_booking_and_cancelling_forget_the_cached_availability_of_the_slots_day(db, cache):
    service = BookingService(lambda: FakeUnitOfWork(db, MessageBus(event_handlers(cache, FakeSlotLock()))), FakeSlotLock(), clock=lambda: NOW)
    booking = await service.book(a_booking_form(a_slot(db)))
    assert cache.invalidated == [SLOT_DAY]
    await service.cancel(booking.id, Principal(booking.user_id, Role.CUSTOMER), "")
    assert cache.invalidated == [SLOT_DAY, SLOT_DAY]


async def test_a_refused_booking_forgets_nothing(db, cache):
    service = BookingService(lambda: FakeUnitOfWork(db, MessageBus(event_handlers(cache, FakeSlotLock()))), FakeSlotLock(), clock=lambda: NOW)
    slot = a_slot(db, is_blocked=True)
    with pytest.raises(SlotUnavailable):
        await service.book(a_booking_form(slot))
    assert cache.invalidated == []


def test_only_changes_of_what_is_bookable_are_wired_to_the_cache():
    cache = FakeCache()
    wired = {kind for kind, handlers in event_handlers(cache, FakeSlotLock()).items() if any(cache in getattr(h, "args", ()) for h in handlers)}
    assert wired == {
        events.BookingCreated,
        events.BookingCancelled,
        events.BookingRescheduled,
        events.SlotsAdded,
        events.SlotBlocked,
        events.SlotUnblocked,
        events.ConsultantAreasChanged,  # who a home-visit grid offers
        events.SlotHeld,
        events.SlotHoldReleased,
    }


def test_every_committed_booking_change_is_counted_for_the_metrics():
    from appointment_svc.adapters.metrics import count_booking_event

    counted = {kind for kind, handlers in event_handlers(FakeCache(), FakeSlotLock()).items() if count_booking_event in handlers}
    assert counted == {kind for kind in vars(events).values() if isinstance(kind, type) and issubclass(kind, events.BookingEvent) and kind is not events.BookingEvent}


async def test_a_booking_tells_racers_it_was_booked_and_its_cancellation_takes_that_back(db, cache):
    lock = FakeSlotLock()
    service = BookingService(lambda: FakeUnitOfWork(db, MessageBus(event_handlers(cache, lock))), lock, clock=lambda: NOW)
    slot = a_slot(db)
    booking = await service.book(a_booking_form(slot))
    assert await lock.just_booked(slot.id) and slot.id not in lock.leases
    await service.cancel(booking.id, Principal(booking.user_id, Role.CUSTOMER), "")
    assert not await lock.just_booked(slot.id)
    # Free again, so bookable again at once: nothing remembers the first booking.
    assert (await service.book(a_booking_form(slot, user="someone-else", email="someone@example.com"))).slot.id == slot.id


async def test_a_refused_booking_marks_nothing(db, cache):
    lock = FakeSlotLock()
    service = BookingService(lambda: FakeUnitOfWork(db, MessageBus(event_handlers(cache, lock))), lock, clock=lambda: NOW)
    slot = a_slot(db, is_blocked=True)
    with pytest.raises(SlotUnavailable):
        await service.book(a_booking_form(slot))
    assert not await lock.just_booked(slot.id)
