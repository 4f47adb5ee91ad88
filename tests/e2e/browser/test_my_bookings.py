"""Issue 10 section 4 in real Chromium: a customer's bookings, paging, and cancelling with a reason.

Bookings are made over REST (faster than the journey, which has its own tests), each on a slot of
this test's own consultant on a day no other test of the session uses, by a fresh customer with
a fresh mailbox.
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import date, datetime, timedelta, timezone

import httpx
import psycopg
import pytest
from playwright.sync_api import Page, expect

from mesh_common.auth import Role
from tests.e2e.browser.conftest import PHONE, assert_accessible, screenshot, sign_in
from tests.e2e.helpers import a_customer, a_future_day, an_email, london
from tests.integration.booking_fixtures import add_consultant, add_slot, appointment_has_started, booking_form
from tests.polling import wait_for


def long_day(day: date) -> str:
    return f"{day:%A}, {day.day} {day:%B %Y}"


class Customer:
    """One customer (a token `sub`) who books over REST on their own consultant's slots."""

    def __init__(self, mesh, http: httpx.Client, consultant_name: str | None = None):
        self.mesh, self.http, self.sub = mesh, http, a_customer()
        self.consultant_name = consultant_name or f"Priya Shah {uuid.uuid4().hex[:4]}"
        self.consultant = add_consultant(mesh.database_url, self.consultant_name)

    def book(self, day: date | None = None, hour: int = 10, **overrides) -> dict:
        """Books a new slot (at `hour` London time on `day`, or at a free random hour); returns the
        booking with its slot id, day and email."""
        kind = overrides.get("type", "SHOWROOM_VISIT")
        starts = london(day, hour) if day else None
        slot = add_slot(self.mesh.database_url, self.consultant, starts, kind=kind)
        email = overrides.pop("email", an_email())
        response = self.http.post("/v1/appointments", json=booking_form(slot, email=email, **overrides), headers=self.mesh.auth(self.sub))
        assert response.status_code == 201, response.text
        return {**response.json(), "slotId": slot, "day": day, "email": email}

    def cancel(self, booking: dict, reason: str = "Changed my mind") -> None:
        response = self.http.patch(f"/v1/appointments/{booking['bookingId']}/cancel", json={"reason": reason}, headers=self.mesh.auth(self.sub))
        assert response.status_code == 200, response.text

    def appointment(self, booking: dict) -> dict:
        response = self.http.get(f"/v1/appointments/{booking['bookingId']}", headers=self.mesh.auth(self.sub))
        assert response.status_code == 200, response.text
        return response.json()["appointment"]


def move_slot(mesh, slot_id, starts: datetime) -> None:
    """Let time pass: the slot (one of this test's consultant's) now starts at `starts`, an hour long."""
    with psycopg.connect(mesh.database_url) as connection:
        connection.execute("UPDATE time_slots SET starts_at = %s, ends_at = %s WHERE id = %s", (starts, starts + timedelta(hours=1), slot_id))


def staff_moves(mesh, http, booking: dict, *actions: str) -> None:
    staff = mesh.auth(f"staff-{uuid.uuid4().hex[:6]}", Role.ADMIN)
    for action in actions:
        response = http.post(f"/v1/admin/appointments/{booking['bookingId']}/{action}", json={}, headers=staff)
        assert response.status_code == 200, response.text


def card(page: Page, booking: dict):
    """The list item of one booking, found by its reference code."""
    return page.locator("main").get_by_role("listitem").filter(has_text=booking["referenceCode"])


def cancel_button(page: Page, booking: dict):
    return page.get_by_role("button", name=f"Cancel booking {booking['referenceCode']}")


def dialog(page: Page):
    return page.get_by_role("dialog", name="Cancel this booking?")


def assert_plain_words(page: Page) -> None:
    text = page.locator("main").inner_text()
    for leak in ("undefined", "null", "NaN", "{", "[object"):
        assert leak not in text, f"the page shows {leak!r}: {text}"


def cancellations(mesh, email: str) -> list:
    return [m for m in mesh.mail_to(email) if str(m["Subject"]).strip().startswith("Cancelled")]


@pytest.fixture
def customer(mesh, http) -> Customer:
    return Customer(mesh, http)


def test_my_bookings_lists_each_booking_with_status_time_services_consultant_and_reference(page, mesh, http, customer):
    day = a_future_day()
    home = customer.book(day, 10, type="HOME_MEASUREMENT", forKitchen=True, forBedroom=True)
    video = customer.book(day, 14, type="VIDEO_CONSULTATION", forKitchen=False, forBedroom=True)
    staff_moves(mesh, http, video, "confirm")
    done = customer.book(day, 16, type="SHOWROOM_VISIT", forKitchen=True, forBedroom=False)
    staff_moves(mesh, http, done, "confirm")
    an_hour_ago = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    move_slot(mesh, done["slotId"], an_hour_ago - timedelta(days=1))
    staff_moves(mesh, http, done, "complete")
    started = customer.book(day, 18, type="VIDEO_CONSULTATION")
    move_slot(mesh, started["slotId"], an_hour_ago)

    sign_in(page, customer.sub, then="#/bookings")
    expect(page.get_by_role("heading", level=1)).to_have_text("My bookings")
    expect(page.get_by_text("You have 4 bookings.")).to_be_visible()
    # Newest first, as the API gives them.
    expect(page.locator("main .bookings").get_by_role("heading", level=2)).to_have_text(["Video consultation", "Showroom visit", "Video consultation", "Home measurement"])

    first = card(page, home)
    expect(first.get_by_role("heading")).to_have_text("Home measurement")
    expect(first).to_contain_text("Pending")
    expect(first).to_contain_text(f"{long_day(day)}, 10:00–11:00 London time")
    expect(first).to_contain_text("Kitchen and bedroom")
    expect(first).to_contain_text(customer.consultant_name)
    expect(first).to_contain_text(home["referenceCode"])
    expect(cancel_button(page, home)).to_be_visible()

    second = card(page, video)
    expect(second).to_contain_text("Confirmed")
    expect(second).to_contain_text(f"{long_day(day)}, 14:00–15:00 London time")
    expect(second).to_contain_text("Bedroom")
    expect(cancel_button(page, video)).to_be_visible()

    # A completed appointment (it has taken place) lists without a Cancel button.
    third = card(page, done)
    expect(third).to_contain_text("Completed")
    expect(third).to_contain_text("Kitchen")
    expect(cancel_button(page, done)).to_have_count(0)
    # Still pending, but its time has come: too late to cancel here.
    expect(card(page, started)).to_contain_text("Pending")
    expect(cancel_button(page, started)).to_have_count(0)
    expect(card(page, started)).to_contain_text("This appointment has started, so it can no longer be cancelled here.")
    expect(page.get_by_role("navigation", name="Pages of bookings")).to_be_hidden()
    assert_plain_words(page)
    assert_accessible(page, "my bookings")
    screenshot(page, "my-bookings")


def test_a_customer_without_bookings_is_told_so_and_offered_the_journey(page):
    sign_in(page, a_customer(), then="#/bookings")
    expect(page.get_by_text("You have no bookings yet.")).to_be_visible()
    book = page.locator("main").get_by_role("link", name="Book an appointment")
    expect(book).to_have_attribute("href", "#/book")
    assert_accessible(page, "my bookings, empty")
    book.click()
    expect(page).to_have_url(re.compile(r"#/book$"))


def test_when_the_list_cannot_be_loaded_a_sentence_and_try_again_are_shown(page, customer):
    booking = customer.book(a_future_day(), 8)
    answers = []

    def unavailable_once(route):
        if answers:
            return route.continue_()
        answers.append(503)
        # The contract's answer when a backing service is down (stopping PostgreSQL here would
        # disturb every other test of the session).
        return route.fulfill(status=503, content_type="application/json", body=json.dumps({"code": "UNAVAILABLE", "message": "The service is unavailable."}))

    page.route("**/v1/appointments?*", unavailable_once)
    sign_in(page, customer.sub, then="#/bookings")
    expect(page.locator("main").get_by_role("alert")).to_have_text("The booking service is busy or down for a moment. Please try again shortly.")
    assert_accessible(page, "my bookings when the list cannot be loaded")
    page.get_by_role("button", name="Try again").click()
    expect(card(page, booking)).to_contain_text("Pending")
    expect(page.locator("main").get_by_role("alert")).to_have_count(0)


def test_cancelling_with_a_reason_through_the_dialog_cancels_the_booking_and_emails_the_customer(page, mesh, customer):
    booking = customer.book(a_future_day(), 11)
    sign_in(page, customer.sub, then="#/bookings")
    cancel_button(page, booking).click()
    expect(dialog(page)).to_be_visible()
    expect(dialog(page)).to_contain_text(booking["referenceCode"])
    expect(page.get_by_label("Reason for cancelling")).to_be_focused()
    page.get_by_label("Reason for cancelling").fill("We are moving house")
    assert_accessible(page, "the cancel dialog")
    screenshot(page, "cancel-dialog")
    dialog(page).get_by_role("button", name="Cancel booking").click()

    expect(dialog(page)).to_be_hidden()
    row = card(page, booking)
    expect(row).to_contain_text("Cancelled")
    expect(row).to_contain_text("We are moving house")
    expect(row).to_contain_text(f"We have emailed a confirmation to {booking['email']}")
    expect(cancel_button(page, booking)).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text=f"Booking {booking['referenceCode']} is cancelled.")).to_have_count(1)
    assert_accessible(page, "my bookings after a cancellation")

    cancelled = customer.appointment(booking)
    assert cancelled["status"] == "CANCELLED" and cancelled["cancelReason"] == "We are moving house"
    email = wait_for(lambda: cancellations(mesh, booking["email"]), timeout=60, what="the cancellation email")[0]
    assert booking["referenceCode"] in str(email["Subject"])


def test_dismissing_the_dialog_cancels_nothing(page, customer):
    booking = customer.book(a_future_day(), 12)
    patches = []
    page.on("request", lambda request: patches.append(request.url) if request.method == "PATCH" else None)
    sign_in(page, customer.sub, then="#/bookings")
    for dismiss in ("Keep booking", "Escape"):
        cancel_button(page, booking).click()
        page.get_by_label("Reason for cancelling").fill("Not sure")
        if dismiss == "Escape":
            page.keyboard.press("Escape")
        else:
            dialog(page).get_by_role("button", name=dismiss).click()
        expect(dialog(page)).to_be_hidden()
        expect(cancel_button(page, booking)).to_be_focused()
    expect(card(page, booking)).to_contain_text("Pending")
    assert patches == []
    assert customer.appointment(booking)["status"] == "PENDING"


def test_a_reason_the_server_would_refuse_is_explained_in_the_dialog_and_nothing_is_sent(page, customer):
    booking = customer.book(a_future_day(), 13)
    patches = []
    page.on("request", lambda request: patches.append(request.url) if request.method == "PATCH" else None)
    sign_in(page, customer.sub, then="#/bookings")
    cancel_button(page, booking).click()
    page.get_by_label("Reason for cancelling").fill("x" * 501)
    dialog(page).get_by_role("button", name="Cancel booking").click()
    expect(dialog(page)).to_be_visible()
    expect(page.get_by_label("Reason for cancelling")).to_have_accessible_description("Reason must be at most 500 characters")
    expect(page.get_by_label("Reason for cancelling")).to_be_focused()
    assert_accessible(page, "the cancel dialog with an error")
    page.get_by_label("Reason for cancelling").fill("x" * 500)
    dialog(page).get_by_role("button", name="Cancel booking").click()
    expect(card(page, booking)).to_contain_text("Cancelled")
    assert len(patches) == 1


def test_a_booking_cancelled_elsewhere_meanwhile_gets_the_409_sentence_next_to_it(page, customer):
    booking = customer.book(a_future_day(), 15)
    other = customer.book(a_future_day(), 15)
    sign_in(page, customer.sub, then="#/bookings")
    expect(cancel_button(page, booking)).to_be_visible()
    customer.cancel(booking, "Cancelled on the phone")

    cancel_button(page, booking).click()
    dialog(page).get_by_role("button", name="Cancel booking").click()
    row = card(page, booking)
    expect(row.get_by_role("alert")).to_have_text("This booking was already cancelled.")
    expect(row).to_contain_text("Cancelled")
    expect(row).to_contain_text("Cancelled on the phone")
    expect(cancel_button(page, booking)).to_have_count(0)
    expect(card(page, other).get_by_role("alert")).to_have_count(0)
    assert_plain_words(page)
    assert_accessible(page, "my bookings with a cancel error")


def test_a_booking_completed_by_staff_meanwhile_gets_the_invalid_transition_sentence(page, mesh, http, customer):
    booking = customer.book(a_future_day(), 9)
    sign_in(page, customer.sub, then="#/bookings")
    expect(cancel_button(page, booking)).to_be_visible()
    staff_moves(mesh, http, booking, "confirm")
    appointment_has_started(mesh.database_url, booking["slotId"])
    staff_moves(mesh, http, booking, "complete")

    cancel_button(page, booking).click()
    dialog(page).get_by_role("button", name="Cancel booking").click()
    row = card(page, booking)
    expect(row.get_by_role("alert")).to_have_text("This booking can no longer be cancelled.")
    expect(row).to_contain_text("Completed")
    assert_plain_words(page)
    assert customer.appointment(booking)["status"] == "COMPLETED"


def test_more_than_a_page_of_bookings_pages_with_the_total(page, customer):
    # Ten to a page; at most three upcoming at once, so all but the newest two are cancelled.
    bookings = []
    for i in range(11):
        bookings.append(customer.book())
        if i < 9:
            customer.cancel(bookings[-1])
    newest_first = [b["referenceCode"] for b in reversed(bookings)]

    sign_in(page, customer.sub, then="#/bookings")
    pages = page.get_by_role("navigation", name="Pages of bookings")
    expect(pages).to_contain_text("Page 1 of 2 (11 bookings)")
    expect(page.get_by_text("You have 11 bookings.")).to_be_visible()
    items = page.locator("main").get_by_role("listitem")
    expect(items).to_have_count(10)
    for reference in newest_first[:10]:
        expect(items.filter(has_text=reference)).to_have_count(1)
    expect(pages.get_by_role("button", name="Previous page")).to_be_disabled()

    pages.get_by_role("button", name="Next page").click()
    expect(pages).to_contain_text("Page 2 of 2 (11 bookings)")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text(newest_first[10])
    expect(pages.get_by_role("button", name="Next page")).to_be_disabled()
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    assert "page=2" in page.url
    assert_accessible(page, "my bookings, page 2")

    page.reload()
    expect(pages).to_contain_text("Page 2 of 2 (11 bookings)")
    pages.get_by_role("button", name="Previous page").click()
    expect(pages).to_contain_text("Page 1 of 2 (11 bookings)")
    expect(items).to_have_count(10)


def test_cancelling_by_keyboard_alone(page, customer):
    booking = customer.book(a_future_day(), 17)
    sign_in(page, customer.sub, then="#/bookings")
    button = cancel_button(page, booking)
    expect(button).to_be_visible()
    for _ in range(40):
        page.keyboard.press("Tab")
        if button.evaluate("el => el === document.activeElement"):
            break
    expect(button).to_be_focused()

    page.keyboard.press("Enter")
    reason = page.get_by_label("Reason for cancelling")
    expect(reason).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog(page)).to_be_hidden()
    expect(button).to_be_focused()

    page.keyboard.press("Enter")
    expect(reason).to_be_focused()
    page.keyboard.type("Found another date")
    page.keyboard.press("Tab")
    expect(dialog(page).get_by_role("button", name="Cancel booking")).to_be_focused()
    page.keyboard.press("Enter")
    row = card(page, booking)
    expect(row).to_contain_text("Cancelled")
    expect(row.get_by_role("heading")).to_be_focused()
    assert customer.appointment(booking)["cancelReason"] == "Found another date"


def test_my_bookings_and_the_dialog_fit_a_360_pixel_screen(open_page, customer):
    booking = customer.book(a_future_day(), 10, type="HOME_MEASUREMENT", forKitchen=True, forBedroom=True, email=f"a.very.long.mailbox.name.{uuid.uuid4().hex}@example.co.uk")
    phone = open_page(viewport=PHONE)
    sign_in(phone, customer.sub, then="#/bookings")
    expect(card(phone, booking)).to_contain_text("Pending")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(phone, "my bookings at 360 px")
    cancel_button(phone, booking).click()
    expect(dialog(phone)).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(phone, "the cancel dialog at 360 px")
    dialog(phone).get_by_role("button", name="Cancel booking").click()
    expect(card(phone, booking)).to_contain_text("Cancelled")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
