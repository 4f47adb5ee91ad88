"""PersonalDataService over the fake unit of work: erasure cancels through the normal path first
(even inside the notice window), then anonymises; staff erase an address on the customer's behalf."""
from __future__ import annotations

from datetime import timedelta

import pytest

from appointment_svc.domain.errors import ValidationFailed
from appointment_svc.domain.model import ACTIVE_STATUSES, BookingStatus
from appointment_svc.domain.personal_data import ERASURE_REASON, ErasureSummary, Whose
from appointment_svc.service_layer.booking import BookingService
from appointment_svc.service_layer.personal_data import PersonalDataService, PersonalDataStore
from tests.unit.fakes import ALICE, NOW, STAFF, FakeDatabase, FakeUnitOfWork, a_booking_form, a_slot


class RecordingStore(PersonalDataStore):
    """Finds the upcoming bookings in the fake database; records what it was asked to anonymise."""

    def __init__(self, db: FakeDatabase):
        self.db = db
        self.calls: list[tuple[str, Whose]] = []

    async def export(self, user_id, now):
        raise NotImplementedError

    async def upcoming_active_bookings(self, whose, now):
        self.calls.append(("find", whose))
        return [
            b.id for b in self.db.tables.bookings.values()
            if whose in (Whose.customer(b.user_id), Whose.address(b.contact.email))
            and b.status in ACTIVE_STATUSES and b.slot.starts_at > now
        ]  # fmt: skip

    async def anonymise(self, whose, now):
        # By now every upcoming booking of the person is cancelled, its event in the outbox.
        assert not await self.upcoming_active_bookings(whose, now)
        self.calls.append(("anonymise", whose))
        return ErasureSummary(bookings_anonymised=2)

    async def anonymise_expired(self, **kwargs):
        self.calls.append(("retention", kwargs))
        return 0


@pytest.fixture
def store(db) -> RecordingStore:
    return RecordingStore(db)


@pytest.fixture
def service(db, store) -> PersonalDataService:
    return PersonalDataService(lambda: FakeUnitOfWork(db), store, clock=lambda: NOW, retention_days=730, brochure_retention_days=30)


async def test_erasure_cancels_upcoming_bookings_even_inside_the_notice_window_then_anonymises(service, db, store, lock):
    bookings = BookingService(lambda: FakeUnitOfWork(db), lock, clock=lambda: NOW)
    soon = await bookings.book(a_booking_form(a_slot(db, NOW + timedelta(hours=2))))
    later = await bookings.book(a_booking_form(a_slot(db, NOW + timedelta(days=3))))

    summary = await service.erase_mine(ALICE)

    assert summary == ErasureSummary(bookings_cancelled=2, bookings_anonymised=2)
    assert [db.booking(b.id).status for b in (soon, later)] == [BookingStatus.CANCELLED] * 2
    assert db.outbox_kinds() == ["BookingCreated", "BookingCreated", "BookingCancelled", "BookingCancelled"]
    last = db.history_of(later.id)[-1]
    assert (last.changed_by, last.reason) == (ALICE.user_id, ERASURE_REASON)
    assert [call[0] for call in store.calls] == ["find", "find", "anonymise"]


async def test_staff_erasure_cancels_on_the_customers_behalf_and_needs_an_address(service, db, lock):
    booking = await BookingService(lambda: FakeUnitOfWork(db), lock, clock=lambda: NOW).book(a_booking_form(a_slot(db)))
    with pytest.raises(ValidationFailed):
        await service.erase_address(STAFF, "not an address")
    summary = await service.erase_address(STAFF, "JANEDOE@gmail.com")  # the mailbox of Jane.Doe+shop@GoogleMail.com
    assert summary.bookings_cancelled == 1 and db.booking(booking.id).status is BookingStatus.CANCELLED
    assert db.history_of(booking.id)[-1].changed_by == STAFF.user_id


async def test_retention_asks_for_records_past_their_time(service, store):
    await service.apply_retention()
    (name, asked), = store.calls
    assert asked["bookings_ended_before"] == NOW - timedelta(days=730)
    assert asked["brochures_before"] == NOW - timedelta(days=30)
