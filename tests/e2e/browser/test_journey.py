"""The 4-step booking journey in real Chromium against the real mesh: each type, the steps and their
back buttons, the grid, the calendar file, the keyboard alone, a phone.

Every test books slots of consultants it made itself (journey_steps.own_slot) on days no other
test of the session uses, so what the grid offers is deterministic.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from icalendar import Calendar
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import PHONE, assert_accessible, screenshot, sign_in
from tests.e2e.browser.journey_steps import (
    Details,
    alert,
    choose_type_and_service,
    confirmed_reference,
    fill_details,
    my_bookings,
    own_slot,
    pick_and_book,
    show_day,
    slot_button,
)
from tests.e2e.helpers import LONDON, a_customer, free_days, london


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
