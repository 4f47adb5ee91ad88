"""Issue 14 without I/O: the notice window, who may move a booking, and what a move records."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from google.protobuf import json_format

from appointment_svc.adapters.event_codec import encode_event
from appointment_svc.domain import events
from appointment_svc.domain.errors import ChangeWindowClosed, Forbidden, InvalidStatusTransition, SlotUnavailable
from appointment_svc.domain.model import BookingStatus
from appointment_svc.domain.notice import NO_NOTICE, ChangeNotice
from appointment_svc.entrypoints.convert import appointment_message
from tests.unit.test_booking_lifecycle import NOW, STARTS, a_booking, a_slot

S = BookingStatus


@pytest.mark.parametrize(
    ("before_start", "hours", "closed"),
    [
        (timedelta(hours=24, seconds=1), 24, False),
        (timedelta(hours=24), 24, False),  # exactly the notice: still in time
        (timedelta(hours=24) - timedelta(microseconds=1), 24, True),
        (timedelta(minutes=5), 24, True),
        (-timedelta(hours=1), 24, True),  # already started
        (timedelta(hours=47), 48, True),
        (timedelta(hours=49), 48, False),
        (timedelta(minutes=1), 0, False),  # 0 turns the window off
        (-timedelta(hours=1), 0, False),
    ],
)
def test_the_notice_window_closes_a_given_number_of_hours_before_the_start(before_start, hours, closed):
    notice = ChangeNotice(hours)
    if closed:
        with pytest.raises(ChangeWindowClosed) as raised:
            notice.check(STARTS, STARTS - before_start)
        assert "call the showroom" in raised.value.message and f"{hours} hours" in raised.value.message
    else:
        notice.check(STARTS, STARTS - before_start)


def test_the_notice_window_defaults_to_24_hours_and_cannot_be_negative():
    assert ChangeNotice().hours == 24 and NO_NOTICE.hours == 0
    with pytest.raises(ValueError):
        ChangeNotice(-1)


def test_a_customer_cannot_cancel_inside_the_window_and_the_booking_is_untouched():
    booking = a_booking()
    with pytest.raises(ChangeWindowClosed):
        booking.cancel("alice", "", STARTS - timedelta(hours=3))
    assert booking.status is S.PENDING and booking.events == []


def test_a_customer_may_cancel_inside_the_window_when_it_is_turned_off():
    booking = a_booking()
    booking.cancel("alice", "", STARTS - timedelta(hours=3), notice=NO_NOTICE)
    assert booking.status is S.CANCELLED


def test_staff_cancel_inside_the_window():
    booking = a_booking(S.CONFIRMED)
    booking.cancel("staff-7", "consultant ill", STARTS - timedelta(hours=1), on_behalf=True)
    assert booking.status is S.CANCELLED


def test_the_window_is_checked_after_ownership_and_status():
    late = STARTS - timedelta(hours=1)
    with pytest.raises(Forbidden):
        a_booking().cancel("mallory", "", late)
    with pytest.raises(InvalidStatusTransition):
        a_booking(S.COMPLETED).cancel("alice", "", late)


def another_slot(hours_later: int = 24):
    slot = a_slot()
    return replace(slot, id=uuid.uuid4(), starts_at=STARTS + timedelta(hours=hours_later), ends_at=STARTS + timedelta(hours=hours_later + 1))


@pytest.mark.parametrize("status", [S.PENDING, S.CONFIRMED])
def test_a_move_keeps_id_reference_and_status_and_records_both_slots(status):
    booking = a_booking(status)
    old, new = booking.slot, another_slot()
    booking.reschedule(new, "alice", NOW)
    assert (booking.status, booking.reference_code, booking.slot, booking.reschedule_count) == (status, "BK-20260302-0001", new, 1)
    (event,) = booking.events
    assert isinstance(event, events.BookingRescheduled)
    assert (event.from_status, event.to_status, event.by, event.previous_slot) == (status, status, "alice", old)
    assert "Moved from 05 March 2026 10:00 to 06 March 2026 10:00 (UK time)" == event.reason


def test_each_move_counts():
    booking = a_booking()
    booking.reschedule(another_slot(24), "alice", NOW)
    booking.reschedule(another_slot(48), "alice", NOW)
    assert booking.reschedule_count == 2 and len(booking.events) == 2


@pytest.mark.parametrize("status", [S.CANCELLED, S.COMPLETED, S.NO_SHOW])
def test_only_an_active_booking_moves(status):
    booking = a_booking(status)
    for staff in (False, True):
        with pytest.raises(InvalidStatusTransition):
            booking.reschedule(another_slot(), "staff-7" if staff else "alice", NOW, staff=staff)
    assert booking.reschedule_count == 0 and booking.events == []


def test_only_the_owner_or_staff_move_a_booking():
    booking = a_booking()
    with pytest.raises(Forbidden):
        booking.reschedule(another_slot(), "mallory", NOW)
    booking.reschedule(another_slot(), "staff-7", NOW, staff=True)
    assert booking.events[0].by == "staff-7"


def test_a_customer_cannot_move_a_booking_inside_the_window_but_staff_can():
    late = STARTS - timedelta(hours=2)
    booking = a_booking()
    with pytest.raises(ChangeWindowClosed):
        booking.reschedule(another_slot(), "alice", late)
    assert booking.events == [] and booking.reschedule_count == 0
    booking.reschedule(another_slot(), "staff-7", late, staff=True)
    assert booking.reschedule_count == 1


def test_a_booking_cannot_move_onto_its_own_slot():
    booking = a_booking()
    with pytest.raises(SlotUnavailable):
        booking.reschedule(booking.slot, "alice", NOW)


def test_the_form_for_a_new_slot_is_the_booking_as_a_new_booking_of_it():
    booking = a_booking()
    slot_id = uuid.uuid4()
    form = booking.wanting(slot_id)
    assert (form.user_id, form.type, form.for_kitchen, form.for_bedroom, form.contact, form.slot_id, form.request_id) == (
        "alice", booking.type, True, False, booking.contact, slot_id, None,
    )


@pytest.mark.parametrize("status", [S.PENDING, S.CONFIRMED])
def test_an_active_booking_is_changeable_until_the_notice_before_its_start(status):
    assert a_booking(status).changeable_until(ChangeNotice(24)) == STARTS - timedelta(hours=24)
    assert a_booking(status).changeable_until(ChangeNotice(48)) == STARTS - timedelta(hours=48)
    assert a_booking(status).changeable_until(NO_NOTICE) == STARTS


@pytest.mark.parametrize("status", [S.CANCELLED, S.COMPLETED, S.NO_SHOW])
def test_a_closed_booking_is_changeable_until_no_time(status):
    assert a_booking(status).changeable_until(ChangeNotice(24)) is None


def test_the_window_closes_exactly_at_changeable_until():
    booking, notice = a_booking(), ChangeNotice(24)
    until = booking.changeable_until(notice)
    notice.check(STARTS, until)
    with pytest.raises(ChangeWindowClosed):
        notice.check(STARTS, until + timedelta(microseconds=1))


def test_api_answers_carry_changeable_until_and_event_payloads_do_not():
    booking = a_booking()
    answer = json_format.MessageToDict(appointment_message(booking, ChangeNotice(24)))
    assert answer["changeableUntil"] == "2026-03-04T10:00:00Z"
    booking.cancel("alice", "", NOW)
    assert "changeableUntil" not in json_format.MessageToDict(appointment_message(booking, ChangeNotice(24)))
    _, payload = encode_event(booking.events[-1])
    assert not payload.appointment.HasField("changeable_until")
