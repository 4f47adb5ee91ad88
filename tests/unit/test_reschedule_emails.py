"""The emails of a move (issue 14): one to the customer with the updated invitation, one alert per
team, and the notice window stated wherever a customer is told how to change a booking."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from booking.v1 import events_pb2
from booking.v1 import resources_pb2 as res
from notification_svc.emails import RESCHEDULED, TEAM_RESCHEDULE_ALERT, EmailComposer
from notification_svc.ics import sequence_of
from tests.unit.test_email_rendering import (
    BOOKING_ID,
    appointment,
    calendar_of,
    cancelled,
    composer,
    created,
    render_all,
    text_of,
)

UTC = timezone.utc
MOVED_TO = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def sequence(calendar: str) -> int:
    return int(re.search(r"SEQUENCE:(\d+)", calendar).group(1))


def rescheduled(count: int = 1, status=res.PENDING, **overrides) -> events_pb2.BookingRescheduled:
    event = events_pb2.BookingRescheduled(
        event_id="4e0b8f5c-6c0a-4d0f-9f3e-2b1b7c5d9e10",
        appointment=appointment(starts_at=MOVED_TO, status=status, reschedule_count=count, **overrides),
        previous_slot=appointment().slot,
        rescheduled_by="user-1",
    )
    event.occurred_at.FromDatetime(datetime(2026, 2, 3, 9, 0, tzinfo=UTC))
    return event


def test_a_move_emails_the_customer_once_and_each_team_once():
    plan = composer().plan("booking.rescheduled", rescheduled(for_bedroom=True))
    assert sorted((d.kind, d.recipient) for d in plan) == [
        (RESCHEDULED, "jane@example.com"),
        (TEAM_RESCHEDULE_ALERT, "bedroom-team@example.co.uk"),
        (TEAM_RESCHEDULE_ALERT, "kitchen-team@example.co.uk"),
    ]


def test_the_customer_email_says_rescheduled_and_carries_the_moved_invitation():
    customer, team = render_all("booking.rescheduled", rescheduled())
    assert "rescheduled" in customer["Subject"] and "BK-20260303-0042" in customer["Subject"]
    body = text_of(customer, "plain")
    assert "Tuesday 3 March 2026, 10:00" in body and "Tuesday 10 March 2026, 14:00" in body
    moved = calendar_of(customer)
    assert "METHOD:REQUEST" in moved and f"UID:{BOOKING_ID}@booking-mesh" in moved
    assert "DTSTART:20260310T140000Z" in moved
    assert team["To"] == "kitchen-team@example.co.uk" and "Rescheduled" in team["Subject"]
    assert "Tuesday 3 March 2026, 10:00" in text_of(team, "plain")


@pytest.mark.parametrize("status", [res.PENDING, res.CONFIRMED])
def test_the_moved_invitation_outranks_every_earlier_one_and_is_outranked_by_what_follows(status):
    invite = sequence(calendar_of(render_all("booking.created", created())[0]))
    confirmed = events_pb2.BookingConfirmed(event_id="e", appointment=appointment(status=res.CONFIRMED))
    before = max(invite, sequence(calendar_of(render_all("booking.confirmed", confirmed)[0])))
    first_move = sequence(calendar_of(render_all("booking.rescheduled", rescheduled(1, status))[0]))
    second_move = sequence(calendar_of(render_all("booking.rescheduled", rescheduled(2, status))[0]))
    cancel_after = sequence(calendar_of(render_all("booking.cancelled", cancelled(reschedule_count=2))[0]))
    assert before < first_move < second_move < cancel_after


def test_sequences_of_one_round_stay_below_the_next_round():
    assert max(sequence_of(step, 0) for step in ("REQUEST", "CONFIRMED", "CANCEL")) < sequence_of("REQUEST", 1)


@pytest.mark.parametrize("subject", ["booking.created", "booking.confirmed", "booking.rescheduled"])
def test_the_customer_is_told_the_notice_window(subject):
    event = {"booking.created": created(), "booking.rescheduled": rescheduled()}.get(subject) or events_pb2.BookingConfirmed(
        event_id="e", appointment=appointment(status=res.CONFIRMED)
    )
    message = render_all(subject, event)[0]
    sentence = "until 24 hours before it starts. After that, please call the showroom."
    assert sentence in text_of(message, "plain") and sentence in text_of(message, "html")


def test_with_the_window_off_the_email_says_so():
    off = EmailComposer(mail_from="B <b@example.co.uk>", brand_name="B", team_address=lambda t: t, change_notice_hours=0)
    event = created()
    message = off.render("booking.created", event, off.plan("booking.created", event)[0])
    assert "online until it starts" in text_of(message, "plain") and "hours before" not in text_of(message, "plain")
