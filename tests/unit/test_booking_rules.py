"""The booking use cases over fakes: issue 9's limits refuse before anything is written; cancelling."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

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
from appointment_svc.domain.model import AppointmentType, BookingStatus, BookSlot, Category, Consultant, Slot
from appointment_svc.domain.validation import Contact
from appointment_svc.service_layer.booking import BookingService
from mesh_common.auth import Principal, Role

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
BOTH = Consultant(uuid.uuid4(), "Amelia Hart", "https://a.example/a.png", (Category.KITCHEN, Category.BEDROOM))


class World:
    def __init__(self):
        self.slots: dict[uuid.UUID, Slot] = {}
        self.bookings: dict = {}
        self.active: dict[str, int] = {}
        self.active_to: dict[str, int] = {}
        self.sends: dict[str, list[datetime]] = {}
        self.writes: list[tuple] = []
        self.locks: list[str] = []
        self.rows_locked: set[uuid.UUID] = set()
        self.last_reference = 0


class FakeUow:
    def __init__(self, world: World):
        self.w = world

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return None

    async def commit(self):
        self.w.writes.append(("commit",))

    async def peek_slot(self, slot_id):
        return self.w.slots.get(slot_id)

    lock_slot = peek_slot

    async def slot_free_and_unlocked(self, slot_id):
        slot = self.w.slots[slot_id]
        return not (slot.is_booked or slot.is_blocked or slot_id in self.w.rows_locked)

    async def serialise_customer(self, user_id):
        self.w.locks.append(f"customer:{user_id}")

    async def serialise_recipient(self, recipient):
        self.w.locks.append(f"recipient:{recipient}")

    async def upcoming_active_bookings(self, user_id, now):
        return self.w.active.get(user_id, 0)

    async def active_bookings_to(self, recipient):
        return self.w.active_to.get(recipient, 0)

    async def booking_emails_since(self, recipient, since):
        return [t for t in self.w.sends.get(recipient, []) if t > since]

    async def next_reference_number(self, day):
        self.w.writes.append(("reference",))
        self.w.last_reference += 1
        return self.w.last_reference

    async def mark_slot_booked(self, slot_id):
        self.w.writes.append(("booked", slot_id))
        return True

    async def add_booking(self, booking, fingerprint):
        self.w.writes.append(("booking", booking.user_id))
        self.w.bookings[booking.id] = booking

    async def get_booking(self, booking_id, *, lock=False):
        return self.w.bookings.get(booking_id)

    async def save_status(self, booking, now):
        self.w.writes.append(("status", booking.status, booking.cancel_reason))

    async def free_slot(self, slot_id):
        self.w.writes.append(("freed", slot_id))

    async def record_status_change(self, *args, **kwargs):
        self.w.writes.append(("history",))

    async def publish(self, event):
        self.w.writes.append(("publish", type(event).__name__))

    async def record_booking_email(self, recipient, booking_id, kind, at, *, forget_before):
        self.w.writes.append(("email", recipient, kind))


class NoLock:
    async def acquire(self, slot_id):
        return "token"

    async def release(self, slot_id, token):
        return None


class HeldLock:
    """A slot lock someone else holds, as Redis keeps it after its holder was SIGKILLed."""

    def __init__(self, token=b"foreign-token"):
        self.token = token
        self.attempts = 0
        self.released: list[tuple] = []

    async def acquire(self, slot_id):
        self.attempts += 1
        return None

    async def holder(self, slot_id):
        return self.token

    async def release(self, slot_id, token):
        self.released.append((slot_id, token))


class NoCache:
    async def invalidate_day(self, day):
        return None


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def service(world) -> BookingService:
    limits = BookingLimits(max_active_bookings=3, max_emails_per_day=10, horizon_days=730)
    return BookingService(lambda: FakeUow(world), NoLock(), NoCache(), clock=lambda: NOW, limits=limits)


def service_behind(world: World, lock) -> BookingService:
    return BookingService(lambda: FakeUow(world), lock, NoCache(), clock=lambda: NOW)


def a_slot(world: World, starts_at=NOW + timedelta(days=2)) -> uuid.UUID:
    slot = Slot(uuid.uuid4(), BOTH, AppointmentType.SHOWROOM_VISIT, starts_at, starts_at + timedelta(hours=1))
    world.slots[slot.id] = slot
    return slot.id


def command(slot_id, user="u1", email="Jane.Doe+shop@GoogleMail.com") -> BookSlot:
    contact = Contact("Jane", "Doe", email, "07700900123", "SW1A 1AA", "1 High St")
    return BookSlot(user, AppointmentType.SHOWROOM_VISIT, True, False, contact, slot_id)


async def test_a_booking_counts_one_confirmation_to_the_canonical_mailbox_under_both_locks(service, world):
    await service.book(command(a_slot(world)))
    assert ("email", "janedoe@gmail.com", "booking-confirmation") in world.writes
    assert world.locks == ["customer:u1", "recipient:janedoe@gmail.com"]


async def test_a_customer_at_the_limit_is_refused_before_anything_is_written(service, world):
    world.active["u1"] = 3
    with pytest.raises(BookingLimitReached):
        await service.book(command(a_slot(world)))
    assert world.writes == []


async def test_a_mailbox_at_the_limit_is_refused_before_anything_is_written(service, world):
    # Nine sent: no room for a confirmation and its own cancellation notice.
    world.sends["janedoe@gmail.com"] = [NOW - timedelta(hours=23, minutes=30)] + [NOW - timedelta(minutes=5)] * 8
    with pytest.raises(RateLimitExceeded) as refused:
        await service.book(command(a_slot(world), user="someone-else", email="jane.doe@gmail.com"))
    assert refused.value.retry_after_seconds == 30 * 60
    assert world.writes == []


async def test_a_slot_beyond_the_horizon_is_refused_on_slot_id(service, world):
    with pytest.raises(ValidationFailed) as refused:
        await service.book(command(a_slot(world, NOW + timedelta(days=800))))
    assert [v.field for v in refused.value.violations] == ["slotId"] and world.writes == []


async def test_a_mailbox_keeps_room_for_the_cancellation_notices_of_its_upcoming_bookings(service, world):
    world.sends["janedoe@gmail.com"] = [NOW - timedelta(minutes=5)] * 4
    world.active_to["janedoe@gmail.com"] = 5  # each may still be cancelled: five notices promised
    with pytest.raises(RateLimitExceeded) as refused:
        await service.book(command(a_slot(world)))
    assert refused.value.retry_after_seconds == 24 * 3600 - 5 * 60 and world.writes == []
    world.active_to["janedoe@gmail.com"] = 4  # 4 sent + 4 promised + 2 for this one: exactly the limit
    await service.book(command(a_slot(world)))


async def test_a_lock_that_outlived_its_holder_yields_to_a_free_unlocked_row_and_is_removed(world):
    lock, slot_id = HeldLock(), a_slot(world)
    booking = await service_behind(world, lock).book(command(slot_id))
    assert booking.slot.id == slot_id and ("booked", slot_id) in world.writes
    assert lock.attempts == 3 and lock.released == [(slot_id, b"foreign-token")]


async def test_a_held_lock_on_a_row_locked_by_a_transaction_is_409_after_three_attempts(world):
    lock, slot_id = HeldLock(), a_slot(world)
    world.rows_locked.add(slot_id)
    with pytest.raises(SlotUnavailable):
        await service_behind(world, lock).book(command(slot_id))
    assert lock.attempts == 3 and lock.released == [] and world.writes == []


async def test_the_10000th_booking_of_a_day_is_refused_before_its_number_is_committed(service, world):
    world.last_reference = 9999
    with pytest.raises(RateLimitExceeded) as refused:
        await service.book(command(a_slot(world)))
    assert refused.value.retry_after_seconds == 12 * 3600  # NOW is noon in London (GMT)
    assert world.writes == [("reference",)]


async def test_cancelling_gives_the_slot_back_and_counts_the_promised_notice(service, world):
    slot_id = a_slot(world)
    booking = await service.book(command(slot_id))
    del world.writes[:]
    cancelled = await service.cancel(booking.id, Principal("u1", Role.CUSTOMER), "changed my mind")
    assert cancelled.status is BookingStatus.CANCELLED and cancelled.cancelled_at == NOW
    assert world.writes == [
        ("status", BookingStatus.CANCELLED, "changed my mind"),
        ("freed", slot_id),
        ("history",),
        ("publish", "BookingCancelled"),
        ("email", "janedoe@gmail.com", "booking-cancellation"),
        ("commit",),
    ]
    assert cancelled.events == []


@pytest.mark.parametrize(("who", "times", "refusal"), [("u2", 1, Forbidden), ("u1", 2, BookingAlreadyCancelled)])
async def test_a_refused_cancel_writes_nothing(service, world, who, times, refusal):
    booking = await service.book(command(a_slot(world)))
    for _ in range(times - 1):
        await service.cancel(booking.id, Principal("u1", Role.CUSTOMER), "")
    del world.writes[:]
    with pytest.raises(refusal):
        await service.cancel(booking.id, Principal(who, Role.CUSTOMER), "")
    assert world.writes == []
