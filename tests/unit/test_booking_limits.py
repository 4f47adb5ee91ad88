"""Issue 9's limits as plain rules: active bookings per customer, emails per address, the horizon."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from appointment_svc.domain import events
from appointment_svc.domain.errors import BookingLimitReached, RateLimitExceeded, ValidationFailed
from appointment_svc.domain.limits import BookingLimits
from appointment_svc.domain.model import AppointmentType, BookSlot, Category, Consultant, Slot, check_bookable
from appointment_svc.domain.validation import Contact
from booking.v1 import events_pb2
from booking.v1 import resources_pb2 as res
from mesh_common.events import BOOKING_CANCELLED, BOOKING_CONFIRMED, BOOKING_CREATED, BOOKING_REMINDER_DUE, BOOKING_RESCHEDULED
from notification_svc.emails import EmailComposer

UTC = timezone.utc
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LIMITS = BookingLimits(max_active_bookings=3, max_emails_per_day=10, horizon_days=730)
JANE = Contact("Jane", "Doe", "jane@example.com", "07700900123", "SW1A 1AA", "1 High St")
KITCHEN_ONLY = Consultant(uuid.uuid4(), "Amelia Hart", "https://a.example/a.png", (Category.KITCHEN,))


def test_a_customer_may_hold_up_to_the_limit_of_upcoming_bookings():
    LIMITS.check_active_bookings(2)
    with pytest.raises(BookingLimitReached, match="3 upcoming appointments"):
        LIMITS.check_active_bookings(3)


def test_an_address_may_be_sent_ten_booking_emails_in_24_hours():
    LIMITS.check_email_quota([NOW - timedelta(hours=h) for h in range(9)], NOW)
    with pytest.raises(RateLimitExceeded):
        LIMITS.check_email_quota([NOW - timedelta(hours=h) for h in range(10)], NOW)


def test_retry_after_is_when_the_oldest_counted_email_leaves_the_window():
    sends = [NOW - timedelta(hours=20)] + [NOW - timedelta(minutes=m) for m in range(1, 10)]
    with pytest.raises(RateLimitExceeded) as raised:
        LIMITS.check_email_quota(sends, NOW)
    assert raised.value.retry_after_seconds == 4 * 3600
    assert "4 hours" in raised.value.message


def test_a_request_needing_two_emails_fits_only_with_room_for_both_and_the_promised_ones():
    sends = [NOW - timedelta(hours=h) for h in range(6)]
    LIMITS.check_email_quota(sends, NOW, promised=2, needs=2)
    with pytest.raises(RateLimitExceeded) as raised:
        LIMITS.check_email_quota(sends, NOW, promised=3, needs=2)
    assert raised.value.retry_after_seconds == 19 * 3600  # when the oldest (5 hours ago) leaves
    with pytest.raises(RateLimitExceeded) as raised:
        LIMITS.check_email_quota([], NOW, promised=9, needs=2)
    assert raised.value.retry_after_seconds == 24 * 3600  # upcoming bookings alone fill it


def test_emails_older_than_24_hours_no_longer_count():
    LIMITS.check_email_quota([NOW - timedelta(hours=24)] * 50 + [NOW] * 9, NOW)


def test_the_horizon_is_counted_in_london_calendar_days_from_today():
    late_evening_in_bst = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)  # already 1 July in London
    assert LIMITS.last_bookable_day(late_evening_in_bst) == date(2026, 7, 1) + timedelta(days=730)
    LIMITS.check_day(date(2028, 3, 1), NOW, "date")
    with pytest.raises(ValidationFailed) as raised:
        LIMITS.check_day(date(2028, 3, 2), NOW, "date")
    assert raised.value.violations[0].field == "date" and "2028-03-01" in raised.value.violations[0].description


def a_command(**overrides) -> BookSlot:
    values = dict(user_id="u", type=AppointmentType.SHOWROOM_VISIT, for_kitchen=True, for_bedroom=False, contact=JANE,
                  slot_id=uuid.uuid4())  # fmt: skip
    values.update(overrides)
    return BookSlot(**values)


def a_slot(consultant=KITCHEN_ONLY) -> Slot:
    return Slot(uuid.uuid4(), consultant, AppointmentType.SHOWROOM_VISIT, NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1))


def test_a_kitchen_only_designer_cannot_be_booked_for_a_bedroom():
    with pytest.raises(ValidationFailed) as raised:
        check_bookable(a_slot(), a_command(for_bedroom=True), NOW)
    (violation,) = raised.value.violations
    assert violation.field == "forBedroom" and "does not plan bedrooms" in violation.description


def test_a_bedroom_only_designer_cannot_be_booked_for_a_kitchen():
    bedroom_only = Consultant(uuid.uuid4(), "B", "https://a.example/b.png", (Category.BEDROOM,))
    with pytest.raises(ValidationFailed) as raised:
        check_bookable(a_slot(bedroom_only), a_command(), NOW)
    assert raised.value.violations[0].field == "forKitchen"
    check_bookable(a_slot(bedroom_only), a_command(for_kitchen=False, for_bedroom=True), NOW)


def test_every_booking_event_counts_exactly_the_customer_email_the_notification_service_sends():
    composer = EmailComposer(mail_from="B <b@example.co.uk>", brand_name="B", team_address=lambda t: f"{t}@team.example")
    appointment = res.Appointment(booking_id="b", email="jane@example.com", for_kitchen=True, for_bedroom=True)
    appointment.slot.starts_at.FromDatetime(NOW)
    planned = {
        events.BookingCreated: composer.plan(BOOKING_CREATED, events_pb2.BookingCreated(appointment=appointment)),
        events.BookingCancelled: composer.plan(BOOKING_CANCELLED, events_pb2.BookingCancelled(appointment=appointment)),
        events.BookingConfirmed: composer.plan(BOOKING_CONFIRMED, events_pb2.BookingConfirmed(appointment=appointment)),
        events.BookingRescheduled: composer.plan(BOOKING_RESCHEDULED, events_pb2.BookingRescheduled(appointment=appointment)),
        events.ReminderDue: composer.plan(BOOKING_REMINDER_DUE, events_pb2.BookingReminderDue(appointment=appointment)),
    }
    to_customer = {event: [d.kind for d in deliveries if d.recipient == "jane@example.com"] for event, deliveries in planned.items()}
    assert to_customer == {event: [kind] for event, kind in events.CUSTOMER_EMAIL.items()}


def test_retry_after_never_exceeds_the_window_even_if_another_clock_ran_ahead():
    with pytest.raises(RateLimitExceeded) as raised:
        LIMITS.check_email_quota([NOW + timedelta(seconds=2)] * 10, NOW)
    assert raised.value.retry_after_seconds == 24 * 3600
