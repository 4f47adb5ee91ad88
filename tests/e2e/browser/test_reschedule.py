"""Issue 14 in real Chromium: moving one of "my bookings" to another time, and the notice window.

Bookings are made over REST on this test's own consultant's slots, on days no other test uses.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import assert_accessible, screenshot, sign_in
from tests.e2e.browser.journey_steps import alert
from tests.e2e.browser.test_my_bookings import Customer, cancel_button, card, long_day, move_slot
from tests.e2e.helpers import a_customer, a_future_day, an_email, london
from tests.integration.booking_fixtures import add_slot, booking_form
from tests.polling import wait_for


@pytest.fixture
def customer(mesh, http) -> Customer:
    return Customer(mesh, http)


def move_link(page: Page, booking: dict):
    return page.get_by_role("link", name=f"Move to another time {booking['referenceCode']}")


def time_button(page: Page, start: str):
    return page.get_by_role("button", name=re.compile(f"^{start}–"))


def dialog(page: Page):
    return page.get_by_role("dialog", name="Move this booking?")


def test_a_customer_moves_a_booking_to_another_free_time_of_the_day(page, mesh, customer):
    day = a_future_day()
    booking = customer.book(day, 10)
    add_slot(mesh.database_url, customer.consultant, london(day, 14))
    sign_in(page, customer.sub, then="#/bookings")
    expect(page.get_by_text("You can cancel or move a booking here until 24 hours before it starts.")).to_be_visible()
    move_link(page, booking).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("When would you like to move it to?")
    expect(page.get_by_label("Day", exact=True)).to_have_value(day.isoformat())
    expect(page.get_by_role("status").filter(has_text="1 free time")).to_be_visible()
    expect(time_button(page, "10:00")).to_have_count(0)  # its own time is not offered
    time_button(page, "14:00").click()
    expect(time_button(page, "14:00")).to_have_attribute("aria-pressed", "true")
    assert_accessible(page, "choosing a new time")
    screenshot(page, "reschedule")
    page.get_by_role("button", name="Check and move").click()

    expect(dialog(page)).to_be_visible()
    expect(dialog(page)).to_contain_text(f"from {long_day(day)}, 10:00–11:00 London time to {long_day(day)}, 14:00–15:00 London time")
    assert_accessible(page, "the move dialog")
    dialog(page).get_by_role("button", name="Move booking").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your booking is moved")
    expect(page.get_by_role("main").get_by_role("status")).to_contain_text(f"Booking {booking['referenceCode']} is moved to {long_day(day)}, 14:00–15:00")
    assert_accessible(page, "the booking is moved")
    moved = customer.appointment(booking)
    assert moved["referenceCode"] == booking["referenceCode"] and moved["rescheduleCount"] == 1
    assert moved["slot"]["startsAt"] == london(day, 14).strftime("%Y-%m-%dT%H:%M:%SZ")

    page.get_by_role("link", name="Back to my bookings").click()
    expect(card(page, booking)).to_contain_text(f"{long_day(day)}, 14:00–15:00 London time")
    wait_for(lambda: [m for m in mesh.mail_to(booking["email"]) if "rescheduled" in str(m["Subject"])], timeout=60, what="the email")


def test_a_time_taken_while_choosing_is_refused_and_the_grid_drops_it(page, mesh, http, customer):
    day = a_future_day()
    booking = customer.book(day, 9)
    taken = add_slot(mesh.database_url, customer.consultant, london(day, 11))
    add_slot(mesh.database_url, customer.consultant, london(day, 15))
    sign_in(page, customer.sub, then=f"#/bookings/{booking['bookingId']}/reschedule")
    time_button(page, "11:00").click()
    rival = http.post("/v1/appointments", json=booking_form(taken, email=an_email()), headers=mesh.auth(a_customer()))
    assert rival.status_code == 201, rival.text
    page.get_by_role("button", name="Check and move").click()
    dialog(page).get_by_role("button", name="Move booking").click()

    expect(alert(page)).to_have_text("That time was just taken. Please choose another.")
    expect(time_button(page, "11:00")).to_have_count(0)
    expect(time_button(page, "15:00")).to_be_visible()
    assert customer.appointment(booking)["rescheduleCount"] == 0
    assert_accessible(page, "a move refused")


def test_inside_the_notice_window_the_page_offers_no_changes_and_says_to_call(page, mesh, customer):
    soon = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(hours=5)
    near = customer.book()
    later = customer.book(a_future_day(), 10)
    move_slot(mesh, near["slotId"], soon)
    sign_in(page, customer.sub, then="#/bookings")
    expect(card(page, near)).to_contain_text("This appointment starts within 24 hours, so it can no longer be changed here. Please call the showroom.")
    expect(move_link(page, near)).to_have_count(0)
    expect(cancel_button(page, near)).to_have_count(0)
    expect(move_link(page, later)).to_be_visible()
    # The address of the move screen, typed in: the page says the same, and the server would refuse.
    page.goto(f"/#/bookings/{near['bookingId']}/reschedule")
    expect(alert(page)).to_contain_text("please call the showroom")
    assert_accessible(page, "a move inside the notice window")
