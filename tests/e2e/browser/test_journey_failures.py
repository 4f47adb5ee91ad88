"""When booking goes wrong in real Chromium: a lost race, a double click, a lost answer, a started slot, a
busy service, a grid that cannot load, the booking limit, the server's field errors.

As in test_journey.py, each test books its own consultants' slots on days of its own.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import httpx
import psycopg
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import assert_accessible, sign_in
from tests.e2e.browser.journey_steps import (
    Details,
    alert,
    choose_type_and_service,
    confirmed_reference,
    fill_details,
    my_bookings,
    own_consultant,
    own_slot,
    pick_and_book,
    signed_in_at_the_day,
    signed_in_at_the_slot,
    slot_button,
)
from tests.e2e.helpers import a_customer, free_days, london

SLOT_TAKEN = "This slot was just booked. Please choose another."


def booking_posts(page: Page) -> list[str]:
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/v1/appointments") else None)
    return posts


def test_two_customers_race_for_one_slot_and_the_loser_keeps_their_details(open_page, mesh):
    """Both see the slot free; the winner picks and books it; the loser's pick (which holds the
    time, issue 14) is where the race is lost now, before anything is sent to be booked."""
    slot = own_slot(mesh, london(free_days(), 15))
    winner, loser = open_page(), open_page()
    loser_details = Details(first_name="Loser", last_name="Second")
    for page, details in ((winner, Details()), (loser, loser_details)):
        signed_in_at_the_day(page, a_customer(), slot, details)
    slot_button(winner, slot).click()
    winner.get_by_role("button", name="Book this appointment").click()
    confirmed_reference(winner)

    with loser.expect_response(lambda r: "/v1/appointments/availability" in r.url) as refreshed:
        slot_button(loser, slot).click()
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
    posts = booking_posts(page)
    signed_in_at_the_slot(page, sub, slot)
    page.get_by_role("button", name="Book this appointment").dblclick()
    reference = confirmed_reference(page)
    assert [b["referenceCode"] for b in my_bookings(mesh, sub)] == [reference]
    assert len(posts) == 1


def test_a_retry_after_a_lost_answer_reuses_the_request_id_and_books_once(page, mesh, page_problems):
    sub = a_customer()
    slot = own_slot(mesh, london(free_days(), 12))
    signed_in_at_the_slot(page, sub, slot)
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
    signed_in_at_the_slot(page, a_customer(), slot)
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
    signed_in_at_the_slot(page, sub, slot)
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

    details = Details()
    signed_in_at_the_slot(page, sub, slot, details)
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
