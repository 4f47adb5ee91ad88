"""Through the real mesh with two notification replicas on one durable consumer: a booking made,
moved and cancelled back to back gets its emails in that order, each once."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from tests.e2e.helpers import a_customer, an_email, free_days, london
from tests.e2e.test_reschedule import reschedule
from tests.integration.booking_fixtures import add_consultant, add_slot, booking_form
from tests.polling import wait_for

IN_ORDER = ["booking-confirmation", "booking-rescheduled", "booking-cancellation"]
BOOKINGS = 12


def kinds(messages) -> list[str]:
    """The kinds of the emails, from their deterministic Message-IDs, in the order they arrived."""
    return [m["Message-ID"].strip("<>").split(".")[1] for m in messages]


def test_a_booking_made_moved_and_cancelled_back_to_back_is_mailed_in_that_order_once(mesh, http):
    consultant, day = add_consultant(mesh.database_url), free_days(2)
    slots = [(add_slot(mesh.database_url, consultant, london(day, 8 + n)), add_slot(mesh.database_url, consultant, london(day + timedelta(days=1), 8 + n)))
             for n in range(BOOKINGS)]  # fmt: skip

    def lifecycle(pair) -> str:
        first, second = pair
        user, email = a_customer(), an_email()
        made = http.post("/v1/appointments", json=booking_form(first, email=email), headers=mesh.auth(user))
        assert made.status_code == 201, made.text
        booking = made.json()["bookingId"]
        assert reschedule(http, mesh, booking, second, user).status_code == 200
        gone = http.patch(f"/v1/appointments/{booking}/cancel", json={"reason": "Moving house"}, headers=mesh.auth(user))
        assert gone.status_code == 200, gone.text
        return email

    with ThreadPoolExecutor(4) as pool:
        emails = list(pool.map(lifecycle, slots))
    wait_for(lambda: all(len(mesh.mail_to(e)) >= 3 for e in emails), timeout=60, what="every customer's three emails")
    assert {e: kinds(mesh.mail_to(e)) for e in emails if kinds(mesh.mail_to(e)) != IN_ORDER} == {}
