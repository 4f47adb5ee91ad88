"""The journey holds the picked time (issue 14) in real Chromium against the real mesh: the hold is
taken on the pick, its countdown shows, the booking is made under it, and a hold that runs out
sends the customer back to choosing a time with a clear sentence."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import httpx
import psycopg
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import assert_accessible
from tests.e2e.browser.journey_steps import alert, confirmed_reference, my_bookings, own_slot, signed_in_at_the_slot, slot_button
from tests.e2e.helpers import a_customer, free_days, london
from tests.polling import wait_for

COUNTDOWN = re.compile(r"^We are holding this time for you\. Time left: [45]:\d\d\.$")


def holds_of(mesh, slot_id: str) -> list[str]:
    with psycopg.connect(mesh.database_url) as connection:
        return [r[0] for r in connection.execute("SELECT user_id FROM slot_holds WHERE slot_id = %s AND expires_at > now()", (slot_id,))]


def offered_to_others(mesh, slot) -> bool:
    grid = httpx.get(f"{mesh.url}/v1/appointments/availability", params={"type": "SHOWROOM_VISIT", "date": slot.day.isoformat()}, timeout=30)
    return slot.slot_id in [s["slotId"] for s in grid.json()["slots"]]


def test_picking_a_time_holds_it_shows_the_time_left_and_the_booking_uses_the_hold(page: Page, mesh):
    sub = a_customer()
    slot = own_slot(mesh, london(free_days(), 10))
    bookings: list[dict] = []
    page.on("request", lambda r: bookings.append(json.loads(r.post_data)) if r.method == "POST" and r.url.endswith("/v1/appointments") else None)
    with page.expect_response(lambda r: r.url.endswith("/v1/appointments/holds") and r.request.method == "POST") as held:
        signed_in_at_the_slot(page, sub, slot)
    assert held.value.status == 201
    hold = held.value.json()
    expect(page.locator("#journey-hold")).to_have_text(COUNTDOWN)
    # Said once when the hold starts; the ticking text itself is no live region.
    expect(page.get_by_role("status").filter(has_text="We are holding this time for you for 5 minutes.")).to_have_count(1)
    expect(page.locator("#journey-hold")).not_to_have_attribute("role", re.compile("."))
    expect(page.locator("#journey-hold")).not_to_have_attribute("aria-live", re.compile("."))
    assert holds_of(mesh, slot.slot_id) == [sub] and not offered_to_others(mesh, slot)
    assert_accessible(page, "the held time")

    page.get_by_role("button", name="Book this appointment").click()
    reference = confirmed_reference(page)
    assert bookings[-1]["holdId"] == hold["holdId"]
    assert [b["referenceCode"] for b in my_bookings(mesh, sub)] == [reference]
    assert holds_of(mesh, slot.slot_id) == []


def test_going_back_and_forth_keeps_the_held_time_picked(page: Page, mesh):
    slot = own_slot(mesh, london(free_days(), 11))
    signed_in_at_the_slot(page, a_customer(), slot)
    expect(page.locator("#journey-hold")).to_have_text(COUNTDOWN)
    page.get_by_role("button", name="Back").click()
    page.get_by_role("button", name="Next").click()
    # The grid leaves out held times; the customer's own is still offered to them, still picked.
    expect(slot_button(page, slot)).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#journey-hold")).to_have_text(COUNTDOWN)


def test_a_hold_that_runs_out_says_so_and_goes_back_to_choosing_a_time(page: Page, mesh):
    slot = own_slot(mesh, london(free_days(), 12))

    def short_hold(route):
        # The real hold is taken; the page is told it ends in a few seconds, as if the customer waited.
        response = route.fetch()
        body = response.json()
        ends = datetime.now(timezone.utc) + timedelta(seconds=3)
        body["expiresAt"] = ends.strftime("%Y-%m-%dT%H:%M:%SZ")
        route.fulfill(response=response, json=body)

    page.route("**/v1/appointments/holds", short_hold)
    signed_in_at_the_slot(page, a_customer(), slot)
    expect(page.locator("#journey-hold")).to_have_text(re.compile(r"Time left: 0:0\d\."))
    expect(alert(page)).to_have_text("We could not hold this time for you any longer. Please choose a time again.")
    expect(page.locator("#journey-hold")).to_have_text("")
    expect(page.get_by_role("heading", level=2)).to_be_focused()
    expect(page.locator(".slot[aria-pressed=true]")).to_have_count(0)
    # Let go of, so the time is offered again (to this customer as to everyone).
    expect(slot_button(page, slot)).to_have_attribute("aria-pressed", "false")
    wait_for(lambda: holds_of(mesh, slot.slot_id) == [], timeout=15, what="the page to let the hold go")
    assert_accessible(page, "the hold that ran out")
