"""Issue 15 in real Chromium: "Download my data" and "Erase my data" (with its confirmation step)
on the customer's "My bookings" page, by keyboard and accessible."""
from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import assert_accessible, screenshot, sign_in
from tests.e2e.browser.test_my_bookings import Customer, card
from tests.e2e.helpers import a_future_day


def erase_dialog(page: Page):
    return page.get_by_role("dialog", name="Erase your personal data?")


def test_a_customer_downloads_their_data_as_a_json_file(page, mesh, http):
    customer = Customer(mesh, http)
    booking = customer.book(a_future_day(), 12)
    sign_in(page, customer.sub, then="#/bookings")
    expect(card(page, booking)).to_contain_text("Pending")
    section = page.get_by_role("region", name="Your personal data")
    with page.expect_download() as download:
        section.get_by_role("button", name="Download my data").click()
    data = json.loads(open(download.value.path()).read())
    assert data["userId"] == customer.sub
    assert [b["appointment"]["referenceCode"] for b in data["bookings"]] == [booking["referenceCode"]]
    assert data["bookings"][0]["appointment"]["email"] == booking["email"]
    expect(section.get_by_text("Your data is downloaded as my-booking-data.json.")).to_be_visible()
    assert_accessible(page, "my bookings with the personal data section")


def test_erasing_asks_first_then_cancels_the_upcoming_booking_and_blanks_the_details(page, mesh, http):
    customer = Customer(mesh, http)
    booking = customer.book(a_future_day(), 13)
    sign_in(page, customer.sub, then="#/bookings")
    expect(card(page, booking)).to_contain_text("Pending")
    erase = page.get_by_role("button", name="Erase my data")

    # Changing one's mind erases nothing, and gives the focus back.
    erase.focus()
    page.keyboard.press("Enter")
    expect(erase_dialog(page)).to_be_visible()
    expect(erase_dialog(page)).to_contain_text("cannot be undone")
    assert_accessible(page, "the erase dialog")
    screenshot(page, "erase-dialog")
    erase_dialog(page).get_by_role("button", name="Keep my data").click()
    expect(erase_dialog(page)).to_be_hidden()
    expect(erase).to_be_focused()
    assert customer.appointment(booking)["email"] == booking["email"]

    erase.click()
    erase_dialog(page).get_by_role("button", name="Erase my data").click()

    section = page.get_by_role("region", name="Your personal data")
    expect(section).to_contain_text("Your personal data is erased: ")
    expect(section).to_contain_text("1 booking and 0 brochure requests; 1 upcoming booking was cancelled first.")
    expect(card(page, booking)).to_contain_text("Cancelled")
    appointment = customer.appointment(booking)
    assert (appointment["status"], appointment["email"], appointment["firstName"]) == ("CANCELLED", "", "")
    assert_accessible(page, "my bookings after erasing")
