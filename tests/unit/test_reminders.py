"""Reminders (issue 15): when one is due, what queuing it records, and the email it becomes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from appointment_svc.bootstrap import event_handlers
from appointment_svc.domain import events
from appointment_svc.domain.errors import InvalidStatusTransition
from appointment_svc.domain.events import HistoryKind
from appointment_svc.domain.model import Booking, BookingStatus
from appointment_svc.domain.notice import NO_NOTICE
from appointment_svc.domain.reminders import ReminderLead
from appointment_svc.service_layer.booking import BookingService
from appointment_svc.service_layer.messagebus import MessageBus
from appointment_svc.service_layer.reminders import SCHEDULER, ReminderService
from booking.v1 import events_pb2
from booking.v1 import resources_pb2 as res
from notification_svc.emails import REMINDER
from notification_svc.ics import booking_uid
from tests.unit.fakes import ALICE, NOW, STAFF, FakeUnitOfWork, a_booking_form, a_slot
from tests.unit.test_email_rendering import BOOKING_ID, appointment, calendar_of, created, render_all, text_of

HOUR = timedelta(hours=1)
LEAD = ReminderLead(60)


# -- the rule


def test_the_reminder_is_due_the_lead_before_the_start():
    assert ReminderLead().due_at(NOW + timedelta(days=3), NOW) == NOW + timedelta(days=2)
    assert LEAD.due_at(NOW + 3 * HOUR, NOW) == NOW + 2 * HOUR


def test_a_start_inside_the_lead_gets_no_reminder():
    assert LEAD.due_at(NOW + 30 * timedelta(minutes=1), NOW) is None
    assert ReminderLead().due_at(NOW + timedelta(hours=23), NOW) is None


def test_a_start_exactly_the_lead_away_gets_none_but_a_moment_more_does():
    assert LEAD.due_at(NOW + HOUR, NOW) is None
    assert LEAD.due_at(NOW + HOUR + timedelta(seconds=1), NOW) == NOW + timedelta(seconds=1)


def test_the_default_lead_is_a_day():
    assert ReminderLead().minutes == 1440


# -- the use cases over the fakes


@pytest.fixture
def clock():
    return {"now": NOW}


@pytest.fixture
def bookings(db, lock, cache, clock) -> BookingService:
    def uow():
        return FakeUnitOfWork(db, MessageBus(event_handlers(cache, lock)))

    return BookingService(uow, lock, clock=lambda: clock["now"], notice=NO_NOTICE, reminder=LEAD)


@pytest.fixture
def reminders(db, lock, cache, clock) -> ReminderService:
    return ReminderService(lambda: FakeUnitOfWork(db, MessageBus(event_handlers(cache, lock))), clock=lambda: clock["now"])


async def booked(bookings, db, starts):
    booking = await bookings.book(a_booking_form(a_slot(db, starts)))
    db.tables.outbox.clear()
    return booking


async def test_a_booking_gets_its_reminder_once_when_it_is_due(bookings, reminders, db, clock):
    booking = await booked(bookings, db, NOW + 3 * HOUR)
    assert db.booking(booking.id).reminder_due_at == NOW + 2 * HOUR
    clock["now"] = NOW + 2 * HOUR - timedelta(seconds=1)
    assert await reminders.queue_due() == 0
    clock["now"] = NOW + 2 * HOUR
    assert await reminders.queue_due() == 1
    assert await reminders.queue_due() == 0
    assert db.outbox_kinds() == ["ReminderDue"]
    assert db.booking(booking.id).reminder_due_at is None
    last = db.history_of(booking.id)[-1]
    assert (last.kind, last.from_status, last.to_status, last.changed_by, last.changed_at) == (
        HistoryKind.REMINDER, BookingStatus.PENDING, BookingStatus.PENDING, SCHEDULER, NOW + 2 * HOUR,
    )  # fmt: skip
    assert last.reason.startswith("Reminder email sent for ")
    assert [e[2] for e in db.tables.emails] == ["booking-confirmation", "booking-reminder"]


async def test_a_booking_made_inside_the_lead_gets_no_reminder(bookings, reminders, db, clock):
    booking = await booked(bookings, db, NOW + 30 * timedelta(minutes=1))
    assert db.booking(booking.id).reminder_due_at is None
    clock["now"] = NOW + 29 * timedelta(minutes=1)
    assert await reminders.queue_due() == 0 and db.tables.outbox == []


async def test_a_cancelled_booking_gets_no_reminder(bookings, reminders, db, clock):
    booking = await booked(bookings, db, NOW + 3 * HOUR)
    await bookings.cancel(booking.id, ALICE, "")
    db.tables.outbox.clear()
    clock["now"] = NOW + 2 * HOUR
    assert await reminders.queue_due() == 0 and db.tables.outbox == []


async def test_a_moved_booking_is_reminded_of_its_new_time_only(bookings, reminders, db, clock):
    booking = await booked(bookings, db, NOW + 3 * HOUR)
    await bookings.reschedule(booking.id, ALICE, a_slot(db, NOW + 6 * HOUR).id)
    db.tables.outbox.clear()
    assert db.booking(booking.id).reminder_due_at == NOW + 5 * HOUR
    clock["now"] = NOW + 2 * HOUR
    assert await reminders.queue_due() == 0
    clock["now"] = NOW + 5 * HOUR
    assert await reminders.queue_due() == 1
    (event,) = db.tables.outbox
    assert event.booking.slot.starts_at == NOW + 6 * HOUR


async def test_a_move_after_the_reminder_gets_a_reminder_for_the_new_time(bookings, reminders, db, clock):
    booking = await booked(bookings, db, NOW + 3 * HOUR)
    clock["now"] = NOW + 2 * HOUR
    assert await reminders.queue_due() == 1
    await bookings.reschedule(booking.id, STAFF, a_slot(db, NOW + 8 * HOUR).id)
    clock["now"] = NOW + 7 * HOUR
    assert await reminders.queue_due() == 1
    kinds = [c.kind for c in db.history_of(booking.id)]
    assert kinds == [HistoryKind.STATUS, HistoryKind.REMINDER, HistoryKind.MOVE, HistoryKind.REMINDER]


async def test_a_move_inside_the_lead_gets_no_reminder(bookings, reminders, db, clock):
    booking = await booked(bookings, db, NOW + 3 * HOUR)
    await bookings.reschedule(booking.id, ALICE, a_slot(db, NOW + 30 * timedelta(minutes=1)).id)
    assert db.booking(booking.id).reminder_due_at is None
    clock["now"] = NOW + 2 * HOUR
    assert await reminders.queue_due() == 0


async def test_a_pass_queues_at_most_its_batch_earliest_first(bookings, db, lock, cache, clock):
    minutes = timedelta(minutes=1)
    for later in (20, 0, 10):
        await booked(bookings, db, NOW + 3 * HOUR + later * minutes)

    def uow():
        return FakeUnitOfWork(db, MessageBus(event_handlers(cache, lock)))

    small = ReminderService(uow, clock=lambda: clock["now"], batch_size=2)
    clock["now"] = NOW + 2 * HOUR + 30 * minutes
    assert await small.queue_due() == 2
    assert [e.booking.slot.starts_at for e in db.tables.outbox] == [NOW + 3 * HOUR, NOW + 3 * HOUR + 10 * minutes]
    assert await small.queue_due() == 1


async def test_a_reminder_that_fell_due_while_no_scheduler_ran_is_dropped_once_the_appointment_started(bookings, reminders, db, clock):
    booking = await booked(bookings, db, NOW + 3 * HOUR)
    clock["now"] = NOW + 3 * HOUR
    assert await reminders.queue_due() == 1  # claimed, and dropped
    assert db.tables.outbox == [] and db.booking(booking.id).reminder_due_at is None
    assert [c.kind for c in db.history_of(booking.id)] == [HistoryKind.STATUS]
    assert await reminders.queue_due() == 0


def test_the_aggregate_refuses_a_reminder_that_is_not_due(db):
    slot = a_slot(db, NOW + 3 * HOUR)
    booking = Booking.create(a_booking_form(slot), slot, "BK-20260302-0001", NOW, reminder=LEAD)
    with pytest.raises(InvalidStatusTransition):
        booking.remind(SCHEDULER, NOW + HOUR)
    assert booking.remind(SCHEDULER, NOW + 2 * HOUR) is True
    assert isinstance(booking.events[-1], events.ReminderDue)
    with pytest.raises(InvalidStatusTransition):
        booking.remind(SCHEDULER, NOW + 2 * HOUR)


# -- the email


def reminder_due(**overrides) -> events_pb2.BookingReminderDue:
    event = events_pb2.BookingReminderDue(event_id="9a7c1e2b-0d4f-4a61-8b35-6e2f1c0d9b44", appointment=appointment(**overrides))
    event.occurred_at.FromDatetime(datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc))
    return event


def test_the_reminder_goes_to_the_customer_alone_with_reminder_and_the_reference_in_the_subject():
    (message,) = render_all("booking.reminder_due", reminder_due())
    assert message["To"] == appointment().email
    assert "Reminder" in message["Subject"] and appointment().reference_code in message["Subject"]
    assert REMINDER in message["Message-ID"]


def test_the_reminder_says_when_and_where_and_how_to_change_it():
    (message,) = render_all("booking.reminder_due", reminder_due())
    for subtype in ("plain", "html"):
        body = text_of(message, subtype)
        assert "Tuesday 3 March 2026, 10:00" in body
        assert "24 hours before it starts" in body


def test_the_reminder_carries_the_bookings_invitation_again():
    (reminder,) = render_all("booking.reminder_due", reminder_due())
    confirmation = render_all("booking.created", created())[0]
    calendar = calendar_of(reminder)
    assert f"UID:{booking_uid(BOOKING_ID)}" in calendar and "METHOD:REQUEST" in calendar
    assert [line for line in calendar.splitlines() if line.startswith(("UID", "SEQUENCE", "DTSTART"))] == [
        line for line in calendar_of(confirmation).splitlines() if line.startswith(("UID", "SEQUENCE", "DTSTART"))
    ]


def test_a_confirmed_bookings_reminder_keeps_the_confirmed_invitation():
    (reminder,) = render_all("booking.reminder_due", reminder_due(status=res.CONFIRMED))
    assert "STATUS:CONFIRMED" in calendar_of(reminder)
