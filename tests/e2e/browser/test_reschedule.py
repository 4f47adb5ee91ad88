"""Issue 14 in real Chromium: moving one of "my bookings" to another time, and the notice window.

Bookings are made over REST on this test's own consultant's slots, on days no other test uses.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import Page, expect

from mesh_common.clock import LONDON
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


def test_the_page_offers_changes_while_the_servers_changeable_until_holds_not_a_window_of_its_own(page, mesh, customer):
    """The real answers with changeableUntil as a server set to CHANGE_NOTICE_HOURS=48 would give
    them (the session's mesh runs the default 24): the page follows the field."""
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    near, far = customer.book(), customer.book(a_future_day(), 10)
    move_slot(mesh, near["slotId"], now + timedelta(hours=30))
    move_slot(mesh, far["slotId"], now + timedelta(hours=60))

    def notice_of_48_hours(route):
        response = route.fetch()
        answer = response.json()
        for booking in answer["data"]:
            # The real field first: the server's own window, 24 hours before the start.
            starts = datetime.fromisoformat(booking["slot"]["startsAt"])
            assert datetime.fromisoformat(booking["changeableUntil"]) == starts - timedelta(hours=24)
            booking["changeableUntil"] = (starts - timedelta(hours=48)).strftime("%Y-%m-%dT%H:%M:%SZ")
        route.fulfill(response=response, json=answer)

    page.route(re.compile(r"/v1/appointments\?"), notice_of_48_hours)
    sign_in(page, customer.sub, then="#/bookings")
    expect(page.get_by_text("You can cancel or move a booking here until 48 hours before it starts.")).to_be_visible()
    expect(card(page, near)).to_contain_text("This appointment starts within 48 hours, so it can no longer be changed here. Please call the showroom.")
    expect(move_link(page, near)).to_have_count(0)
    expect(cancel_button(page, near)).to_have_count(0)
    expect(move_link(page, far)).to_be_visible()
    expect(cancel_button(page, far)).to_be_visible()
    until = (now + timedelta(hours=12)).astimezone(LONDON)
    expect(card(page, far)).to_contain_text(f"You can change this booking here until {long_day(until.date())}, {until:%H:%M} London time.")
    assert_accessible(page, "bookings under a 48-hour notice window")


def test_staff_move_a_booking_inside_the_customers_notice_window_and_its_history_shows_the_move(page, mesh, customer, staff_sub):
    day = a_future_day()
    booking = customer.book(day, 10)
    soon = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(hours=5)
    move_slot(mesh, booking["slotId"], soon)  # the customer could no longer move it; staff can
    add_slot(mesh.database_url, customer.consultant, london(day, 14))
    sign_in(page, staff_sub, admin=True, then=f"#/admin/bookings/{booking['bookingId']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Booking {booking['referenceCode']}")

    page.get_by_role("button", name="Move to another time").click()
    expect(page.get_by_role("heading", name="Move to another time")).to_be_focused()
    page.get_by_label("Day", exact=True).fill(day.isoformat())
    page.get_by_label("Day", exact=True).press("Enter")
    expect(page.get_by_role("heading", name=f"Free times on {long_day(day)} (London time)")).to_be_visible()
    time_button(page, "14:00").click()
    expect(page.get_by_text(re.compile(r"^Chosen: .*14:00–15:00 London time with "))).to_be_visible()
    assert_accessible(page, "staff choosing a new time")
    page.get_by_role("button", name="Check and move").click()
    dialog(page).get_by_role("button", name="Move booking").click()

    expect(page.get_by_role("main").get_by_role("status").filter(has_text="Booking moved to")).to_be_focused()
    expect(page.get_by_role("main").get_by_text(re.compile(r"14:00–15:00 London time$")).first).to_be_visible()
    history = page.get_by_role("region", name="Status history").get_by_role("row")
    expect(history).to_have_count(3)
    expect(history.nth(2)).to_contain_text(re.compile(r"Moved from .* to .*14:00 \(UK time\)"))
    expect(history.nth(2)).to_contain_text("(moved to another time)")
    expect(page.get_by_role("button", name="Move to another time")).to_be_visible()
    assert_accessible(page, "a booking staff moved")
    moved = customer.appointment(booking)
    assert moved["rescheduleCount"] == 1 and moved["referenceCode"] == booking["referenceCode"]
    assert datetime.fromisoformat(moved["slot"]["startsAt"]) == london(day, 14)
