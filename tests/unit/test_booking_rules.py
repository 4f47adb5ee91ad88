"""The booking use cases over fakes: issue 9's limits refuse before anything is written; cancelling."""
from __future__ import annotations

import asyncio
import copy
import dataclasses
import uuid
from datetime import timedelta

import pytest

from appointment_svc.domain.errors import (
    BookingAlreadyCancelled,
    BookingLimitReached,
    Forbidden,
    RateLimitExceeded,
    SlotUnavailable,
    ValidationFailed,
)
from appointment_svc.domain.limits import BookingLimits
from appointment_svc.domain.model import Booking, BookingStatus
from appointment_svc.service_layer.booking import BookingService
from mesh_common.principal import Principal, Role
from tests.unit.fakes import NOW, FakeDatabase, FakeSlotLock, FakeUnitOfWork, a_booking_form, a_slot

MAILBOX = "janedoe@gmail.com"  # Jane.Doe+shop@GoogleMail.com, canonical


@pytest.fixture
def service(db) -> BookingService:
    limits = BookingLimits(max_active_bookings=3, max_emails_per_day=10, horizon_days=730)
    return BookingService(lambda: FakeUnitOfWork(db), FakeSlotLock(), clock=lambda: NOW, limits=limits)


def service_behind(db: FakeDatabase, lock: FakeSlotLock) -> BookingService:
    return BookingService(lambda: FakeUnitOfWork(db), lock, clock=lambda: NOW)


def upcoming_bookings(db: FakeDatabase, count: int, user: str | None = None, email: str = "Jane.Doe+shop@GoogleMail.com") -> None:
    """Active bookings already stored, each of its own slot (of another customer unless `user`)."""
    for i in range(count):
        form = a_booking_form(a_slot(db, NOW + timedelta(days=3, hours=i)), user=user or f"other-{i}", email=email)
        booking = Booking.create(form, db.tables.slots[form.slot_id], f"BK-20260302-{i + 100:04d}", NOW)
        db.tables.bookings[booking.id] = dataclasses.replace(booking, events=[])


def nothing_written(db: FakeDatabase, before) -> bool:
    return db.tables == before


async def test_a_booking_counts_one_confirmation_to_the_canonical_mailbox_under_both_locks(service, db):
    booking = await service.book(a_booking_form(a_slot(db)))
    assert [(who, kind) for who, _, kind, _ in db.tables.emails] == [(MAILBOX, "booking-confirmation")]
    assert db.tables.emails[0][1] == booking.id
    assert db.locks_taken == ["customer:u1", f"recipient:{MAILBOX}"]


async def test_a_customer_at_the_limit_is_refused_before_anything_is_written(service, db):
    upcoming_bookings(db, 3, user="u1", email="u1@example.com")
    slot, before = a_slot(db), copy.deepcopy(db.tables)
    with pytest.raises(BookingLimitReached):
        await service.book(a_booking_form(slot))
    assert nothing_written(db, before)


async def test_a_mailbox_at_the_limit_is_refused_before_anything_is_written(service, db):
    # Nine sent: no room for a confirmation and its own cancellation notice.
    sent = [NOW - timedelta(hours=23, minutes=30)] + [NOW - timedelta(minutes=5)] * 8
    db.tables.emails = [(MAILBOX, uuid.uuid4(), "booking-confirmation", at) for at in sent]
    slot, before = a_slot(db), copy.deepcopy(db.tables)
    with pytest.raises(RateLimitExceeded) as refused:
        await service.book(a_booking_form(slot, user="someone-else", email="jane.doe@gmail.com"))
    assert refused.value.retry_after_seconds == 30 * 60
    assert nothing_written(db, before)


async def test_a_slot_beyond_the_horizon_is_refused_on_slot_id(service, db):
    slot = a_slot(db, NOW + timedelta(days=800))
    before = copy.deepcopy(db.tables)
    with pytest.raises(ValidationFailed) as refused:
        await service.book(a_booking_form(slot))
    assert [v.field for v in refused.value.violations] == ["slotId"] and nothing_written(db, before)


async def test_a_mailbox_keeps_room_for_the_cancellation_notices_of_its_upcoming_bookings(service, db):
    db.tables.emails = [(MAILBOX, uuid.uuid4(), "booking-confirmation", NOW - timedelta(minutes=5))] * 4
    upcoming_bookings(db, 5)  # each may still be cancelled: five notices promised
    slot, before = a_slot(db), copy.deepcopy(db.tables)
    with pytest.raises(RateLimitExceeded) as refused:
        await service.book(a_booking_form(slot))
    assert refused.value.retry_after_seconds == 24 * 3600 - 5 * 60 and nothing_written(db, before)
    cancelled = next(iter(db.tables.bookings.values()))
    db.tables.bookings[cancelled.id] = dataclasses.replace(cancelled, status=BookingStatus.CANCELLED)
    # 4 sent + 4 promised + 2 for this one: exactly the limit.
    assert (await service.book(a_booking_form(slot))).status is BookingStatus.PENDING


async def test_a_lock_that_outlived_its_holder_yields_to_a_free_unlocked_row_and_is_removed(db):
    lock, slot = FakeSlotLock(), a_slot(db)
    lock.leases[slot.id] = b"foreign-token"
    booking = await service_behind(db, lock).book(a_booking_form(slot))
    assert booking.slot.id == slot.id and db.tables.slots[slot.id].is_booked
    assert lock.attempts == 3 and slot.id not in lock.leases


async def test_a_held_lock_on_a_row_locked_by_a_transaction_is_409_after_three_attempts(db):
    lock, slot = FakeSlotLock(), a_slot(db)
    lock.leases[slot.id] = b"foreign-token"
    db.locked_rows.add(slot.id)
    before = copy.deepcopy(db.tables)
    with pytest.raises(SlotUnavailable):
        await service_behind(db, lock).book(a_booking_form(slot))
    assert lock.attempts == 3 and lock.leases[slot.id] == b"foreign-token" and nothing_written(db, before)


async def test_the_10000th_booking_of_a_day_is_refused_before_its_number_is_committed(service, db):
    db.tables.reference_numbers[NOW.date()] = 9999
    slot, before = a_slot(db), copy.deepcopy(db.tables)
    with pytest.raises(RateLimitExceeded) as refused:
        await service.book(a_booking_form(slot))
    assert refused.value.retry_after_seconds == 12 * 3600  # NOW is noon in London (GMT)
    assert nothing_written(db, before) and db.tables.reference_numbers[NOW.date()] == 9999


async def test_cancelling_gives_the_slot_back_and_counts_the_promised_notice(service, db):
    slot = a_slot(db)
    booking = await service.book(a_booking_form(slot))
    cancelled = await service.cancel(booking.id, Principal("u1", Role.CUSTOMER), "changed my mind")
    assert cancelled.status is BookingStatus.CANCELLED and cancelled.cancelled_at == NOW
    stored = db.booking(booking.id)
    assert (stored.status, stored.cancelled_at, stored.cancel_reason) == (BookingStatus.CANCELLED, NOW, "changed my mind")
    assert not db.tables.slots[slot.id].is_booked
    assert [(c.from_status, c.to_status, c.changed_by, c.reason) for c in db.history_of(booking.id)] == [
        (None, BookingStatus.PENDING, "u1", ""),
        (BookingStatus.PENDING, BookingStatus.CANCELLED, "u1", "changed my mind"),
    ]
    assert db.outbox_kinds() == ["BookingCreated", "BookingCancelled"]
    assert [(who, kind) for who, _, kind, _ in db.tables.emails] == [
        (MAILBOX, "booking-confirmation"),
        (MAILBOX, "booking-cancellation"),
    ]
    assert cancelled.events == []


@pytest.mark.parametrize(("who", "times", "refusal"), [("u2", 1, Forbidden), ("u1", 2, BookingAlreadyCancelled)])
async def test_a_refused_cancel_writes_nothing(service, db, who, times, refusal):
    booking = await service.book(a_booking_form(a_slot(db)))
    for _ in range(times - 1):
        await service.cancel(booking.id, Principal("u1", Role.CUSTOMER), "")
    before = copy.deepcopy(db.tables)
    with pytest.raises(refusal):
        await service.cancel(booking.id, Principal(who, Role.CUSTOMER), "")
    assert nothing_written(db, before)


class CountingUnitOfWork(FakeUnitOfWork):
    facts_read = 0

    async def booking_facts(self, **kwargs):
        CountingUnitOfWork.facts_read += 1
        return await super().booking_facts(**kwargs)


async def test_a_racer_who_finds_the_lock_held_and_the_slot_just_booked_is_answered_without_the_database(db):
    lock, slot = FakeSlotLock(), a_slot(db)
    lock.leases[slot.id] = b"the-winners-token"
    lock.booked.add(slot.id)  # the winner committed and is releasing
    CountingUnitOfWork.facts_read = 0
    service = BookingService(lambda: CountingUnitOfWork(db), lock, clock=lambda: NOW)
    before = copy.deepcopy(db.tables)
    with pytest.raises(SlotUnavailable):
        await service.book(a_booking_form(slot))
    # One unlocked look before the lock, none after it: the mark answered.
    assert CountingUnitOfWork.facts_read == 1 and lock.attempts == 1 and nothing_written(db, before)


async def test_a_racer_who_takes_the_lock_after_waiting_looks_at_the_slot_again_and_lets_go(db):
    lock, slot = FakeSlotLock(), a_slot(db)
    lock.leases[slot.id] = b"the-winners-token"
    service = service_behind(db, lock)

    async def winner_fails_and_someone_else_books() -> None:
        await asyncio.sleep(0.01)
        db.tables.slots[slot.id] = dataclasses.replace(db.tables.slots[slot.id], is_booked=True)  # booked without Redis
        del lock.leases[slot.id]

    with pytest.raises(SlotUnavailable):
        await asyncio.gather(service.book(a_booking_form(slot)), winner_fails_and_someone_else_books())
    assert slot.id not in lock.leases  # the lock it took to look again is released
