"""The 4-step booking journey in real Chromium against the real mesh.

Every test books slots of consultants it made itself (journey_steps.own_slot) on days no other
test of the session uses, so what the grid offers is deterministic.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone

import httpx
import psycopg
import pytest
from icalendar import Calendar
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import PHONE, assert_accessible, screenshot, sign_in
from tests.e2e.browser.journey_steps import (
    Details,
    choose_type_and_service,
    confirmed_reference,
    fill_details,
    own_consultant,
    own_slot,
    pick_and_book,
    show_day,
    slot_button,
)
from tests.e2e.helpers import LONDON, a_customer, free_days, london

SLOT_TAKEN = "This slot was just booked. Please choose another."


def alert(page: Page):
    """The page's error message (not the shell's hidden announcer)."""
    return page.get_by_role("main").get_by_role("alert")


def my_bookings(mesh, sub: str) -> list[dict]:
    response = httpx.get(f"{mesh.url}/v1/appointments", params={"limit": 100}, headers=mesh.auth(sub), timeout=30)
    assert response.status_code == 200, response.text
    return response.json().get("data", [])


def booking_posts(page: Page) -> list[str]:
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/v1/appointments") else None)
    return posts


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize(
    ("type_", "kitchen", "bedroom"),
    [("HOME_MEASUREMENT", True, True), ("SHOWROOM_VISIT", True, False), ("VIDEO_CONSULTATION", False, True)],
)
def test_a_customer_books_each_type_of_appointment(page, mesh, type_, kitchen, bedroom):
    sub, details = a_customer(), Details()
    slot = own_slot(mesh, london(free_days(), 10), type_=type_)
    sign_in(page, sub, then="#/book")
    choose_type_and_service(page, type_, kitchen=kitchen, bedroom=bedroom)
    fill_details(page, details)
    pick_and_book(page, slot)
    reference = confirmed_reference(page)
    expect(page.get_by_text(details.email).first).to_be_visible()
    expect(page.locator("dl.summary")).to_contain_text(slot.label.split(" with ")[0])

    [booking] = my_bookings(mesh, sub)
    assert booking["referenceCode"] == reference
    assert (booking["type"], booking["slot"]["slotId"], booking["email"]) == (type_, slot.slot_id, details.email)
    assert (booking.get("forKitchen", False), booking.get("forBedroom", False)) == (kitchen, bedroom)


def test_every_step_has_an_indicator_back_buttons_and_keeps_what_was_typed(page, mesh):
    """Also saves the journey's screenshots (desktop) and runs axe on every step and error."""
    sub, details = a_customer(), Details(address="Flat 2\n10 Downing Street")
    slot = own_slot(mesh, london(free_days(), 14), type_="HOME_MEASUREMENT")
    sign_in(page, sub, then="#/book")

    steps = page.get_by_role("list", name="Booking steps")
    expect(steps.locator("[aria-current=step]")).to_have_text("Appointment type")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    for title in ("Home measurement", "Showroom visit", "Video consultation"):
        expect(page.get_by_role("radio", name=title)).to_be_visible()
    screenshot(page, "journey-1-type")
    assert_accessible(page, "step 1 (type)")
    page.get_by_role("button", name="Next").click()
    expect(alert(page)).to_have_text("Choose the kind of appointment you would like.")
    assert_accessible(page, "step 1 with its error")
    page.get_by_label("Home measurement").check()
    page.get_by_role("button", name="Next").click()

    expect(steps.locator("[aria-current=step]")).to_have_text("Service")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    page.get_by_role("button", name="Next").click()
    expect(alert(page)).to_have_text("Choose kitchen, bedroom or both.")
    assert_accessible(page, "step 2 with its error")
    page.get_by_label("Bedroom").check()
    screenshot(page, "journey-2-service")
    assert_accessible(page, "step 2 (service)")
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_label("Home measurement")).to_be_checked()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_label("Bedroom")).to_be_checked()
    page.get_by_role("button", name="Next").click()

    expect(steps.locator("[aria-current=step]")).to_have_text("Your details")
    page.get_by_label("Email").fill("not an email")
    page.get_by_label("UK phone").fill("12345")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Please correct the 6 details marked below.")).to_be_visible()
    for label, message in (
        ("First name", "First name is required"),
        ("Email", "Email must be a valid email address, e.g. jane@example.co.uk"),
        ("UK phone", "Phone must be a UK phone number, e.g. 07700 900123"),
        ("Address", "Address is required"),
    ):
        expect(page.get_by_label(label)).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label(label)).to_have_accessible_description(re.compile(re.escape(message)))
    assert_accessible(page, "step 3 with the page's own errors")
    for label, value in details.as_labels().items():
        page.get_by_label(label).fill(value)
        expect(page.get_by_label(label)).not_to_have_attribute("aria-invalid", "true")
    expect(alert(page)).to_have_count(0)
    screenshot(page, "journey-3-details")
    assert_accessible(page, "step 3 (details)")
    page.get_by_role("button", name="Next").click()

    expect(steps.locator("[aria-current=step]")).to_have_text("Day and time")
    show_day(page, slot.day)
    slot_button(page, slot).click()
    expect(slot_button(page, slot)).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_text(re.compile(r"^Chosen: .* London time with "))).to_be_visible()
    screenshot(page, "journey-4-slot")
    assert_accessible(page, "step 4 (day and time)")

    # The browser's Back keeps everything typed, as does the page's Back.
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your details")
    for label, value in details.as_labels().items():
        expect(page.get_by_label(label)).to_have_value(value)
    page.go_forward()
    expect(slot_button(page, slot)).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_label("Last name")).to_have_value(details.last_name)
    page.get_by_role("button", name="Next").click()

    expect(slot_button(page, slot)).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Book this appointment").click()
    reference = confirmed_reference(page)
    summary = page.locator("dl.summary")
    expect(summary).to_contain_text(reference)
    expect(summary).to_contain_text("Home measurement")
    expect(summary).to_contain_text("bedroom")
    expect(summary).to_contain_text(slot.consultant)
    expect(summary).to_contain_text("14:00–15:00 London time")
    expect(page.get_by_role("link", name="Add to calendar")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text(re.compile(r"undefined|null|NaN"))
    screenshot(page, "journey-5-confirmation")
    assert_accessible(page, "the confirmation")


def test_with_both_services_the_grid_offers_only_designers_who_plan_both(page, mesh):
    day = free_days()
    both = own_slot(mesh, london(day, 9), categories=("KITCHEN", "BEDROOM"))
    kitchen_only = own_slot(mesh, london(day, 11), categories=("KITCHEN",))
    sign_in(page, a_customer(), then="#/book")
    choose_type_and_service(page, "SHOWROOM_VISIT", kitchen=True, bedroom=True)
    fill_details(page, Details())
    show_day(page, day)
    expect(slot_button(page, both)).to_be_visible()
    expect(slot_button(page, kitchen_only)).to_have_count(0)

    page.get_by_role("button", name="Back").click()
    page.get_by_role("button", name="Back").click()
    page.get_by_label("Bedroom").uncheck()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    show_day(page, day)
    expect(slot_button(page, both)).to_be_visible()
    expect(slot_button(page, kitchen_only)).to_be_visible()


def test_an_empty_day_says_so_and_the_day_buttons_walk_the_calendar(page, mesh):
    day = free_days(3)
    slot = own_slot(mesh, london(day + timedelta(days=2), 16))
    sign_in(page, a_customer(), then="#/book")
    choose_type_and_service(page, "SHOWROOM_VISIT")
    fill_details(page, Details())
    expect(page.get_by_role("button", name="Previous day")).to_be_disabled()
    show_day(page, day)
    page.get_by_role("button", name="Next day").click()
    expect(page.get_by_role("heading", level=2)).to_contain_text((day + timedelta(days=1)).strftime("%-d %B %Y"))
    page.get_by_role("button", name="Next day").click()
    expect(slot_button(page, slot)).to_be_visible()
    page.get_by_role("button", name="Previous day").click()
    expect(page.get_by_label("Day", exact=True)).to_have_value((day + timedelta(days=1)).isoformat())
    expect(slot_button(page, slot)).to_have_count(0)

    # The last bookable day: no test makes slots that far ahead.
    last = datetime.now(LONDON).date() + timedelta(days=730)
    show_day(page, last)
    expect(page.get_by_text("No free slots on this day")).to_be_visible()
    expect(page.get_by_role("button", name="Next day")).to_be_disabled()
    assert_accessible(page, "a day without free slots")


def test_two_customers_race_for_one_slot_and_the_loser_keeps_their_details(open_page, mesh):
    slot = own_slot(mesh, london(free_days(), 15))
    winner, loser = open_page(), open_page()
    loser_details = Details(first_name="Loser", last_name="Second")
    for page, details in ((winner, Details()), (loser, loser_details)):
        sign_in(page, a_customer(), then="#/book")
        choose_type_and_service(page, "SHOWROOM_VISIT")
        fill_details(page, details)
        show_day(page, slot.day)
        slot_button(page, slot).click()
    winner.get_by_role("button", name="Book this appointment").click()
    confirmed_reference(winner)

    with loser.expect_response(lambda r: "/v1/appointments/availability" in r.url) as refreshed:
        loser.get_by_role("button", name="Book this appointment").click()
    expect(alert(loser)).to_have_text(SLOT_TAKEN)
    assert slot.slot_id not in {s["slotId"] for s in refreshed.value.json()["slots"]}
    expect(slot_button(loser, slot)).to_have_count(0)
    expect(loser.get_by_role("heading", level=1)).to_have_text("Choose a day and time")
    assert_accessible(loser, "the slot-taken error")
    loser.get_by_role("button", name="Back").click()
    for label, value in loser_details.as_labels().items():
        expect(loser.get_by_label(label)).to_have_value(value)


def test_a_double_click_on_book_makes_one_booking(page, mesh):
    sub = a_customer()
    slot = own_slot(mesh, london(free_days(), 11))
    sign_in(page, sub, then="#/book")
    posts = booking_posts(page)
    choose_type_and_service(page, "SHOWROOM_VISIT")
    fill_details(page, Details())
    show_day(page, slot.day)
    slot_button(page, slot).click()
    page.get_by_role("button", name="Book this appointment").dblclick()
    reference = confirmed_reference(page)
    assert [b["referenceCode"] for b in my_bookings(mesh, sub)] == [reference]
    assert len(posts) == 1


def test_a_retry_after_a_lost_answer_reuses_the_request_id_and_books_once(page, mesh, page_problems):
    sub = a_customer()
    slot = own_slot(mesh, london(free_days(), 12))
    sign_in(page, sub, then="#/book")
    choose_type_and_service(page, "SHOWROOM_VISIT")
    fill_details(page, Details())
    show_day(page, slot.day)
    slot_button(page, slot).click()
    sent: list[dict] = []

    def lose_the_answer(route):
        sent.append(json.loads(route.request.post_data))
        route.fetch()  # the booking reaches the real server...
        route.abort("connectionreset")  # ...but its answer never reaches the page

    page.route("**/v1/appointments", lose_the_answer, times=1)
    page.get_by_role("button", name="Book this appointment").click()
    expect(alert(page)).to_have_text("We could not reach the booking service. Check your connection and try again.")
    assert_accessible(page, "the network error")
    requests = []
    page.on("request", lambda r: requests.append(json.loads(r.post_data)) if r.method == "POST" and r.url.endswith("/v1/appointments") else None)
    page.get_by_role("button", name="Book this appointment").click()
    reference = confirmed_reference(page)
    assert requests[0]["requestId"] == sent[0]["requestId"]
    assert [b["referenceCode"] for b in my_bookings(mesh, sub)] == [reference]
    # Chromium logs the connection this test cut; that one is no fault of the page.
    page_problems[:] = [p for p in page_problems if "net::ERR_CONNECTION_RESET" not in p]


def test_a_slot_that_has_started_gives_its_own_sentence(page, mesh):
    slot = own_slot(mesh, london(free_days(), 13))
    sign_in(page, a_customer(), then="#/book")
    choose_type_and_service(page, "SHOWROOM_VISIT")
    fill_details(page, Details())
    show_day(page, slot.day)
    slot_button(page, slot).click()
    # The slot starts while the customer is deciding (moved into the past in the database).
    now = datetime.now(timezone.utc)
    with psycopg.connect(mesh.database_url) as connection:
        connection.execute(
            "UPDATE time_slots SET starts_at = %s, ends_at = %s WHERE id = %s",
            (now - timedelta(minutes=30), now + timedelta(minutes=30), slot.slot_id),
        )
    page.get_by_role("button", name="Book this appointment").click()
    expect(alert(page)).to_have_text("This slot has already started. Please choose a later one.")
    expect(slot_button(page, slot)).to_have_count(0)
    assert_accessible(page, "the slot-in-the-past error")


def test_a_busy_service_gives_its_own_sentence_and_the_retry_books_once(page, mesh):
    sub = a_customer()
    slot = own_slot(mesh, london(free_days(), 10))
    sign_in(page, sub, then="#/book")
    choose_type_and_service(page, "SHOWROOM_VISIT")
    fill_details(page, Details())
    show_day(page, slot.day)
    slot_button(page, slot).click()
    # The contract's 503 body, for this one request (nothing shared is stopped).
    page.route(
        "**/v1/appointments",
        lambda route: route.fulfill(status=503, content_type="application/json", body=json.dumps({"code": "UNAVAILABLE", "message": "The booking service is unavailable."})),
        times=1,
    )
    page.get_by_role("button", name="Book this appointment").click()
    expect(alert(page)).to_have_text("The booking service is busy or down for a moment. Please try again shortly.")
    expect(slot_button(page, slot)).to_have_attribute("aria-pressed", "true")
    assert_accessible(page, "the service-unavailable error")
    page.get_by_role("button", name="Book this appointment").click()
    reference = confirmed_reference(page)
    assert [b["referenceCode"] for b in my_bookings(mesh, sub)] == [reference]


def test_a_grid_that_cannot_load_says_so_and_loads_on_try_again(page, mesh):
    slot = own_slot(mesh, london(free_days(), 8))
    sign_in(page, a_customer(), then="#/book")
    choose_type_and_service(page, "SHOWROOM_VISIT")
    fill_details(page, Details())
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a day and time")
    page.route(
        "**/v1/appointments/availability?*",
        lambda route: route.fulfill(status=503, content_type="application/json", body=json.dumps({"code": "UNAVAILABLE", "message": "Availability is unavailable."})),
        times=1,
    )
    page.get_by_label("Day", exact=True).fill(slot.day.isoformat())
    expect(alert(page)).to_have_text("The booking service is busy or down for a moment. Please try again shortly.")
    assert_accessible(page, "the grid's load error")
    page.get_by_role("button", name="Try again").click()
    expect(slot_button(page, slot)).to_be_visible()
    expect(alert(page)).to_have_count(0)


def test_the_booking_limit_is_a_sentence(page, mesh):
    sub = a_customer()
    day = free_days()
    consultant = own_consultant(mesh)
    for hour in (9, 10, 11):
        taken = own_slot(mesh, london(day, hour), consultant=consultant)
        body = {"type": "SHOWROOM_VISIT", "forKitchen": True, "forBedroom": False, "slotId": taken.slot_id, **api_details(Details())}
        assert httpx.post(f"{mesh.url}/v1/appointments", json=body, headers=mesh.auth(sub), timeout=30).status_code == 201
    slot = own_slot(mesh, london(day, 12), consultant=consultant)
    sign_in(page, sub, then="#/book")
    choose_type_and_service(page, "SHOWROOM_VISIT")
    fill_details(page, Details())
    pick_and_book(page, slot)
    expect(alert(page)).to_have_text("You already have the most upcoming bookings we allow. Cancel one, or call the showroom.")
    assert_accessible(page, "the booking-limit error")


def api_details(details: Details) -> dict:
    return {
        "firstName": details.first_name,
        "lastName": details.last_name,
        "email": details.email,
        "phone": details.phone,
        "postcode": details.postcode,
        "address": details.address,
    }


def test_the_servers_field_errors_are_shown_next_to_their_fields(page, mesh):
    """The page checks details with the server's own rules (test_validation_parity.py proves the
    two agree on a table of inputs), so no real input passes the page and fails the server. The
    server's answer is therefore the real 400 body the API gives for these fields, captured just
    now, returned for the page's one request."""
    sub = a_customer()
    slot = own_slot(mesh, london(free_days(), 16))
    refused = {"type": "SHOWROOM_VISIT", "forKitchen": True, "forBedroom": False, "slotId": slot.slot_id, **api_details(Details(phone="12345", postcode="QQ1 1QQ"))}
    answer = httpx.post(f"{mesh.url}/v1/appointments", json=refused, headers=mesh.auth(sub), timeout=30)
    assert answer.status_code == 400 and {f["field"] for f in answer.json()["fields"]} == {"phone", "postcode"}, answer.text

    sign_in(page, sub, then="#/book")
    choose_type_and_service(page, "SHOWROOM_VISIT")
    details = Details()
    fill_details(page, details)
    show_day(page, slot.day)
    slot_button(page, slot).click()
    page.route("**/v1/appointments", lambda route: route.fulfill(status=400, content_type="application/json", body=answer.content), times=1)
    page.get_by_role("button", name="Book this appointment").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your details")
    for label, field in (("UK phone", "phone"), ("Postcode", "postcode")):
        [message] = [f["description"] for f in answer.json()["fields"] if f["field"] == field]
        expect(page.get_by_label(label)).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label(label)).to_have_accessible_description(re.compile(re.escape(message)))
    expect(page.get_by_label("UK phone")).to_be_focused()
    expect(page.get_by_label("First name")).to_have_value(details.first_name)
    assert_accessible(page, "the server's field errors")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Book this appointment").click()
    reference = confirmed_reference(page)
    assert [b["referenceCode"] for b in my_bookings(mesh, sub)] == [reference]


def test_add_to_calendar_downloads_the_booking_as_an_ics_event(page, mesh):
    sub = a_customer()
    slot = own_slot(mesh, london(free_days(), 9, 30), type_="HOME_MEASUREMENT")
    sign_in(page, sub, then="#/book")
    choose_type_and_service(page, "HOME_MEASUREMENT", kitchen=False, bedroom=True)
    fill_details(page, Details(address="Flat 2; Rose Court\n10 Downing Street, London \\ Westminster", postcode="sw1a1aa"))
    pick_and_book(page, slot)
    reference = confirmed_reference(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to calendar").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".ics")
    raw = open(download.path(), "rb").read()
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")

    [booking] = my_bookings(mesh, sub)
    [event] = Calendar.from_ical(raw).walk("VEVENT")
    assert str(event["UID"]) == f"{booking['bookingId']}@booking-mesh"
    assert reference in str(event["SUMMARY"]) and "home measurement" in str(event["SUMMARY"])
    # Commas, semicolons, backslashes and the line break are escaped (RFC 5545 3.3.11) and read back.
    assert str(event["LOCATION"]) == "Flat 2; Rose Court\n10 Downing Street, London \\ Westminster, SW1A 1AA"
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    assert event.decoded("DTSTART") == slot.starts_at
    assert event.decoded("DTEND") == slot.ends_at
    assert event.decoded("DTSTART").tzinfo is not None and raw.count(b"DTSTART:") == 1
    assert re.search(rb"DTSTART:\d{8}T\d{6}Z\r\n", raw)


def tab_to(page: Page, locator, limit: int = 250) -> None:
    """Presses Tab until `locator` has the focus."""
    for _ in range(limit):
        if locator.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {locator}")


def test_the_whole_journey_works_with_the_keyboard_alone(page, mesh):
    """Tab, Space, Enter and the arrow keys (and typing into the fields); no clicks."""
    today = datetime.now(LONDON).date()
    slot = own_slot(mesh, london(today + timedelta(days=2), 20, 45), minutes=45)
    sign_in(page, a_customer(), then="#/book")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("What kind of appointment would you like?")
    expect(heading).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Showroom visit")).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Next"))
    page.keyboard.press("Enter")

    expect(heading).to_have_text("What would you like to plan?")
    tab_to(page, page.get_by_label("Kitchen"))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("button", name="Next"))
    page.keyboard.press("Enter")

    expect(heading).to_have_text("Your details")
    for label, value in Details().as_labels().items():
        tab_to(page, page.get_by_label(label))
        page.keyboard.type(value)
    tab_to(page, page.get_by_role("button", name="Next"))
    page.keyboard.press("Enter")

    expect(heading).to_have_text("Choose a day and time")
    tab_to(page, page.get_by_role("button", name="Next day"))
    page.keyboard.press("Enter")
    expect(page.get_by_label("Day", exact=True)).to_have_value((today + timedelta(days=1)).isoformat())
    page.keyboard.press("Enter")
    expect(slot_button(page, slot)).to_be_visible()
    tab_to(page, slot_button(page, slot))
    page.keyboard.press("Space")
    expect(slot_button(page, slot)).to_have_attribute("aria-pressed", "true")
    tab_to(page, page.get_by_role("button", name="Book this appointment"))
    page.keyboard.press("Enter")
    confirmed_reference(page)


def no_horizontal_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_the_journey_fits_a_360_pixel_phone(open_page, mesh):
    page = open_page(viewport=PHONE)
    slot = own_slot(mesh, london(free_days(), 17), type_="HOME_MEASUREMENT")
    sign_in(page, a_customer(), then="#/book")
    no_horizontal_scroll(page)
    choose_type_and_service(page, "HOME_MEASUREMENT", kitchen=True, bedroom=True)
    no_horizontal_scroll(page)
    page.get_by_role("button", name="Next").click()
    no_horizontal_scroll(page)  # the details with their errors
    fill_details(page, Details(email=f"a.very.long.address.{date.today():%Y%m%d}@example.com"))
    show_day(page, slot.day)
    no_horizontal_scroll(page)
    slot_button(page, slot).click()
    page.get_by_role("button", name="Book this appointment").click()
    confirmed_reference(page)
    no_horizontal_scroll(page)
    assert_accessible(page, "the confirmation at 360 px")
