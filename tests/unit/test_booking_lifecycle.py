"""The Booking aggregate's lifecycle without I/O: the one transition table, the rules around it, the events it records."""

from __future__ import annotations

import ast
import uuid
from datetime import datetime, timedelta, timezone
from itertools import product
from pathlib import Path

import pytest

from appointment_svc.domain import events
from appointment_svc.domain.errors import BookingAlreadyCancelled, Forbidden, InvalidStatusTransition, ValidationFailed
from appointment_svc.domain.model import (
    ALLOWED_TRANSITIONS,
    AppointmentType,
    Booking,
    BookingStatus,
    BookSlot,
    Category,
    Consultant,
    Slot,
    can_change,
)
from appointment_svc.domain.validation import Contact

UTC = timezone.utc
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
STARTS = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)  # 10:00 GMT in London
AFTER_IT_STARTED = STARTS + timedelta(hours=2)
S = BookingStatus
JANE = Contact("Jane", "Doe", "jane@example.com", "07700900123", "SW1A 1AA", "1 High St")

LEGAL = {
    (S.PENDING, S.CONFIRMED),
    (S.CONFIRMED, S.COMPLETED),
    (S.CONFIRMED, S.NO_SHOW),
    (S.PENDING, S.CANCELLED),
    (S.CONFIRMED, S.CANCELLED),
}

# Each staff action: the status it leads to and the event it records.
STAFF_ACTIONS = {
    S.CONFIRMED: (lambda b, at: b.confirm("staff-7", at), events.BookingConfirmed),
    S.COMPLETED: (lambda b, at: b.complete("staff-7", at), events.BookingCompleted),
    S.NO_SHOW: (lambda b, at: b.mark_no_show("staff-7", at), events.BookingMarkedNoShow),
    S.CANCELLED: (lambda b, at: b.cancel("staff-7", "consultant ill", at, on_behalf=True), events.BookingCancelled),
}


def a_slot() -> Slot:
    consultant = Consultant(uuid.uuid4(), "Amelia Hart", "https://a.example/a.png", (Category.KITCHEN,))
    return Slot(uuid.uuid4(), consultant, AppointmentType.SHOWROOM_VISIT, STARTS, STARTS + timedelta(hours=1), is_booked=True)


def a_booking(status: BookingStatus = S.PENDING) -> Booking:
    return Booking(
        id=uuid.uuid4(), reference_code="BK-20260302-0001", user_id="alice", type=AppointmentType.SHOWROOM_VISIT,
        for_kitchen=True, for_bedroom=False, contact=JANE, slot=a_slot(), status=status, created_at=NOW,
    )  # fmt: skip


def snapshot(booking: Booking) -> tuple:
    return booking.status, booking.cancelled_at, booking.cancel_reason, list(booking.events)


# -- the table


@pytest.mark.parametrize(("current", "target"), list(product(BookingStatus, BookingStatus)))
def test_only_the_five_transitions_are_legal(current, target):
    assert can_change(current, target) is ((current, target) in LEGAL)


def test_the_table_names_no_way_back_to_pending():
    assert S.PENDING not in ALLOWED_TRANSITIONS


# -- staff actions: every pair of the table, through the aggregate


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_a_legal_staff_action_moves_the_booking_and_records_its_event(current, target):
    booking = a_booking(current)
    act, event_type = STAFF_ACTIONS[target]
    act(booking, AFTER_IT_STARTED)
    assert booking.status is target
    (event,) = booking.events
    assert type(event) is event_type and event.booking is booking
    reason = "consultant ill" if target is S.CANCELLED else ""
    assert (event.from_status, event.to_status, event.by, event.at, event.reason) == (
        current, target, "staff-7", AFTER_IT_STARTED, reason,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("current", "target"), [pair for pair in product(BookingStatus, STAFF_ACTIONS) if pair not in LEGAL]
)
def test_a_refused_staff_action_names_both_statuses_and_changes_nothing(current, target):
    booking = a_booking(current)
    before = snapshot(booking)
    act, _ = STAFF_ACTIONS[target]
    with pytest.raises(InvalidStatusTransition) as raised:
        act(booking, AFTER_IT_STARTED)
    assert raised.value.code == "INVALID_STATUS_TRANSITION"
    assert raised.value.message == f"A {current.value} booking cannot become {target.value}."
    assert snapshot(booking) == before


@pytest.mark.parametrize("target", [S.COMPLETED, S.NO_SHOW])
def test_an_appointment_that_has_not_started_cannot_be_completed_or_missed(target):
    booking = a_booking(S.CONFIRMED)
    act, _ = STAFF_ACTIONS[target]
    with pytest.raises(InvalidStatusTransition) as raised:
        act(booking, STARTS - timedelta(seconds=1))
    assert raised.value.message == (
        f"A booking can become {target.value} only once its appointment has started; "
        "this one starts on 05 March 2026 at 10:00 (UK time)."
    )
    assert booking.status is S.CONFIRMED and booking.events == []


@pytest.mark.parametrize("target", [S.COMPLETED, S.NO_SHOW])
def test_an_appointment_can_be_completed_or_missed_from_the_minute_it_starts(target):
    booking = a_booking(S.CONFIRMED)
    STAFF_ACTIONS[target][0](booking, STARTS)
    assert booking.status is target


def test_the_lifecycle_refusal_comes_before_the_started_rule():
    with pytest.raises(InvalidStatusTransition, match="PENDING booking cannot become COMPLETED"):
        a_booking(S.PENDING).complete("staff-7", NOW)


def test_confirming_an_appointment_still_to_come_is_fine():
    booking = a_booking(S.PENDING)
    booking.confirm("staff-7", NOW)
    assert booking.status is S.CONFIRMED


# -- cancelling: by the customer, or by staff on their behalf


@pytest.mark.parametrize("current", [S.PENDING, S.CONFIRMED])
def test_the_customer_cancelling_records_when_and_why_and_gives_the_slot_back(current):
    booking = a_booking(current)
    booking.cancel("alice", "changed my mind", NOW)
    assert (booking.status, booking.cancelled_at, booking.cancel_reason) == (S.CANCELLED, NOW, "changed my mind")
    (event,) = booking.events
    assert isinstance(event, events.BookingCancelled) and event.releases_slot
    assert (event.from_status, event.to_status, event.cancelled_by, event.at, event.reason) == (
        current, S.CANCELLED, "alice", NOW, "changed my mind",
    )  # fmt: skip


def test_the_customer_may_cancel_without_a_reason():
    booking = a_booking()
    booking.cancel("alice", "", NOW)
    assert booking.status is S.CANCELLED and booking.cancel_reason == "" and booking.events[0].reason == ""


def test_only_the_owner_can_cancel():
    booking = a_booking()
    with pytest.raises(Forbidden, match="belongs to someone else") as raised:
        booking.cancel("mallory", "", NOW)
    assert raised.value.code == "FORBIDDEN"
    assert booking.status is S.PENDING and booking.events == []


def test_a_stranger_is_refused_even_a_cancelled_booking_before_being_told_its_status():
    with pytest.raises(Forbidden):
        a_booking(S.CANCELLED).cancel("mallory", "", NOW)


def test_the_customer_cancelling_twice_is_told_it_is_already_cancelled():
    booking = a_booking()
    booking.cancel("alice", "", NOW)
    with pytest.raises(BookingAlreadyCancelled) as raised:
        booking.cancel("alice", "", NOW + timedelta(minutes=1))
    assert raised.value.code == "BOOKING_ALREADY_CANCELLED"
    assert booking.cancelled_at == NOW and len(booking.events) == 1


@pytest.mark.parametrize("current", [S.COMPLETED, S.NO_SHOW])
def test_the_customer_cannot_cancel_a_finished_appointment(current):
    booking = a_booking(current)
    with pytest.raises(InvalidStatusTransition) as raised:
        booking.cancel("alice", "", NOW)
    assert raised.value.message == f"A {current.value} booking cannot be cancelled."
    assert snapshot(booking) == (current, None, "", [])


def test_staff_cancelling_keeps_the_reason_without_its_surrounding_space():
    booking = a_booking(S.CONFIRMED)
    booking.cancel("staff-7", "  consultant ill  ", NOW, on_behalf=True)
    assert (booking.status, booking.cancelled_at, booking.cancel_reason) == (S.CANCELLED, NOW, "consultant ill")
    assert booking.events[0].reason == "consultant ill" and booking.events[0].cancelled_by == "staff-7"


def test_staff_cannot_cancel_without_a_reason():
    booking = a_booking()
    with pytest.raises(ValidationFailed) as raised:
        booking.cancel("staff-7", "   ", NOW, on_behalf=True)
    assert [(v.field, v.description) for v in raised.value.violations] == [("reason", "is required when staff cancel a booking")]
    assert snapshot(booking) == (S.PENDING, None, "", [])


def test_staff_cancelling_a_cancelled_booking_gets_the_lifecycle_refusal_not_already_cancelled():
    with pytest.raises(InvalidStatusTransition, match=r"^A CANCELLED booking cannot become CANCELLED\.$"):
        a_booking(S.CANCELLED).cancel("staff-7", "again", NOW, on_behalf=True)


def test_staff_act_for_the_customer_so_they_need_not_own_the_booking():
    booking = a_booking()
    booking.cancel("staff-7", "duplicate booking", NOW, on_behalf=True)
    assert booking.status is S.CANCELLED


@pytest.mark.parametrize("target", [S.CONFIRMED, S.COMPLETED, S.NO_SHOW])
def test_only_a_cancellation_gives_the_slot_back(target):
    booking = a_booking(S.PENDING if target is S.CONFIRMED else S.CONFIRMED)
    STAFF_ACTIONS[target][0](booking, AFTER_IT_STARTED)
    assert not booking.events[0].releases_slot
    assert booking.cancelled_at is None and booking.cancel_reason == ""


# -- creation and the events list


def a_command(request_id: str | None = None) -> BookSlot:
    return BookSlot("alice", AppointmentType.SHOWROOM_VISIT, True, False, JANE, uuid.uuid4(), request_id)


def test_a_new_booking_is_pending_and_records_its_creation_by_the_customer():
    slot = a_slot()
    booking = Booking.create(a_command("tap-1"), slot, "BK-20260302-0007", NOW)
    assert (booking.status, booking.reference_code, booking.slot, booking.created_at, booking.request_id) == (
        S.PENDING, "BK-20260302-0007", slot, NOW, "tap-1",
    )  # fmt: skip
    assert (booking.user_id, booking.contact, booking.for_kitchen, booking.for_bedroom) == ("alice", JANE, True, False)
    (event,) = booking.events
    assert isinstance(event, events.BookingCreated)
    assert (event.from_status, event.to_status, event.by, event.at, event.reason) == (None, S.PENDING, "alice", NOW, "")


def test_an_empty_request_id_is_no_request_id():
    assert Booking.create(a_command(""), a_slot(), "BK-20260302-0007", NOW).request_id is None


def test_steps_accumulate_in_order_and_do_not_affect_equality():
    booking = a_booking()
    booking.confirm("staff-7", NOW)
    booking.cancel("alice", "", NOW)
    assert [type(e) for e in booking.events] == [events.BookingConfirmed, events.BookingCancelled]
    assert [e.from_status for e in booking.events] == [S.PENDING, S.CONFIRMED]
    untouched = a_booking()
    twin = Booking(**{**vars(untouched), "events": [object()]})
    assert twin == untouched


def test_only_the_events_with_a_customer_email_leave_the_service():
    assert set(events.CUSTOMER_EMAIL) == {
        events.BookingCreated, events.BookingConfirmed, events.BookingCancelled, events.BookingRescheduled,
        events.ReminderDue,
    }


# -- the domain is plain Python

INFRASTRUCTURE = {"sqlalchemy", "psycopg", "redis", "nats", "grpc", "booking", "google", "boto3", "aiosmtplib"}


@pytest.mark.parametrize("module", sorted((Path(__file__).parents[2] / "appointment_svc" / "domain").glob("*.py")), ids=lambda p: p.name)
def test_the_domain_imports_no_infrastructure(module):
    tree = ast.parse(module.read_text())
    roots = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    roots |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not roots & INFRASTRUCTURE
