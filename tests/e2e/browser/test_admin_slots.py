"""Staff pages in Chromium: consultants (list, add) and the slot calendar (generate, block, unblock).

The e2e database is shared by the whole session: each test makes its own consultant (a unique
name) and works on days no other test takes (helpers.free_days), so what it sees is its own.
"""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import PHONE, assert_accessible, screenshot, sign_in
from tests.e2e.helpers import LONDON, a_customer, free_days, london
from tests.integration.booking_fixtures import booking_form


def a_name(first: str = "Priya") -> str:
    return f"{first} {uuid.uuid4().hex[:8]}"


def a_consultant(http, staff, name: str | None = None) -> tuple[str, str]:
    name = name or a_name()
    body = {"name": name, "avatarUrl": "https://avatars.example/x.png", "categories": ["KITCHEN"]}
    response = http.post("/v1/admin/consultants", json=body, headers=staff)
    assert response.status_code == 201, response.text
    return response.json()["consultantId"], name


def a_slot(http, staff, consultant_id: str, day: date, hour: int) -> str:
    starts = london(day, hour)
    body = {
        "consultantId": consultant_id, "type": "SHOWROOM_VISIT",
        "startsAt": starts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endsAt": (starts + timedelta(hours=1)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }  # fmt: skip
    response = http.post("/v1/admin/slots", json=body, headers=staff)
    assert response.status_code == 201, response.text
    return response.json()["slotId"]


def public_times(http, day: date, consultant: str) -> list[str]:
    """The London start times customers are offered on `day` with this consultant."""
    response = http.get("/v1/appointments/availability", params={"type": "SHOWROOM_VISIT", "date": day.isoformat()})
    assert response.status_code == 200, response.text
    starts = [datetime.fromisoformat(s["startsAt"].replace("Z", "+00:00")) for s in response.json()["slots"] if s["consultant"]["name"] == consultant]
    return [london_time(s) for s in starts]


def london_time(instant: datetime) -> str:
    return instant.astimezone(LONDON).strftime("%H:%M")


def open_calendar(page: Page, staff_sub: str, day: date, consultant_id: str = "") -> None:
    then = f"#/admin/slots?date={day.isoformat()}" + (f"&consultant={consultant_id}" if consultant_id else "")
    sign_in(page, staff_sub, admin=True, then=then)
    expect(page.get_by_role("heading", level=1)).to_have_text("Slot calendar")
    expect(page.get_by_role("heading", name=re.compile(f"{day.day} .* {day.year} \\(London time\\)"))).to_be_visible()


def slot_row(page: Page, time: str):
    return page.get_by_role("listitem").filter(has_text=time)


def assert_no_junk(page: Page) -> None:
    """The page never shows a programming value where words belong."""
    shown = page.get_by_role("main").inner_text()
    assert not re.search(r"\b(null|undefined|NaN|\[object Object\])\b", shown), shown


def no_horizontal_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


# -- consultants


def test_staff_add_a_consultant_who_appears_in_the_list_and_through_the_api(page, http, staff, staff_sub):
    existing, _ = a_consultant(http, staff, a_name("Aaron"))
    sign_in(page, staff_sub, admin=True, then="#/admin/consultants")
    expect(page.get_by_role("heading", level=1)).to_have_text("Consultants")
    expect(page.get_by_role("link", name="Consultants")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("listitem").filter(has_text="Kitchen").first).to_be_visible()
    assert_accessible(page, "the consultant list")

    name = a_name("Sam")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Picture URL").fill("https://avatars.example/sam.png")
    page.get_by_label("Kitchen").check()
    page.get_by_label("Bedroom").check()
    page.get_by_role("button", name="Add consultant").click()

    expect(page.get_by_role("main").get_by_text(f"{name} was added as a consultant.")).to_be_visible()
    expect(page.locator("#announcer")).to_have_text(f"{name} was added as a consultant.")
    added = page.get_by_role("listitem").filter(has_text=name)
    expect(added).to_contain_text("Kitchen and Bedroom")
    expect(added.locator(".avatar")).to_have_text("S" + name.split()[1][0].upper())
    expect(page.get_by_label("Name")).to_have_value("")
    assert_accessible(page, "the consultant list after adding one")
    assert_no_junk(page)
    screenshot(page, "admin-consultants")

    listed = http.get("/v1/admin/consultants", headers=staff).json()["consultants"]
    [made] = [c for c in listed if c["name"] == name]
    assert made["avatarUrl"] == "https://avatars.example/sam.png" and made["categories"] == ["KITCHEN", "BEDROOM"]
    assert existing in {c["consultantId"] for c in listed}


def test_the_server_refusals_of_a_new_consultant_are_shown_next_to_each_field(page, http, staff, staff_sub):
    sign_in(page, staff_sub, admin=True, then="#/admin/consultants")
    page.get_by_role("button", name="Add consultant").click()
    expect(page.get_by_text("Name: is required")).to_be_visible()
    expect(page.get_by_text("Picture URL: is required")).to_be_visible()
    expect(page.get_by_text("Service lines: choose at least one of KITCHEN, BEDROOM")).to_be_visible()
    expect(page.get_by_label("Name")).to_be_focused()
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, "the add-consultant form with errors")

    name = a_name("Nadia")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Picture URL").fill("ftp://avatars.example/n.png")
    page.get_by_label("Bedroom").check()
    page.get_by_role("button", name="Add consultant").click()
    expect(page.get_by_text("Picture URL: must be an absolute http(s) URL")).to_be_visible()
    expect(page.get_by_text("Name: is required")).to_be_hidden()
    expect(page.get_by_label("Picture URL")).to_be_focused()
    assert name not in {c["name"] for c in http.get("/v1/admin/consultants", headers=staff).json()["consultants"]}


def test_a_consultant_is_added_with_the_keyboard_alone(page, http, staff, staff_sub):
    sign_in(page, staff_sub, admin=True, then="#/admin/consultants")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    name = a_name("Kofi")
    page.get_by_label("Name").focus()
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type("https://avatars.example/kofi.png")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Kitchen")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Add consultant")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("listitem").filter(has_text=name)).to_contain_text("Kitchen")
    listed = {c["name"]: c["categories"] for c in http.get("/v1/admin/consultants", headers=staff).json()["consultants"]}
    assert listed[name] == ["KITCHEN"]


# -- the slot calendar


def test_staff_generate_a_weekly_pattern_and_see_it_in_the_calendar_and_the_public_grid(page, http, staff, staff_sub):
    consultant_id, name = a_consultant(http, staff)
    monday = free_days(7, weekday=1)
    wednesday = monday + timedelta(days=2)
    open_calendar(page, staff_sub, monday)
    assert_accessible(page, "the slot calendar")

    form = page.get_by_role("form", name="Generate slots")
    form.get_by_label("Consultant (required)").select_option(label=name)
    form.get_by_label("Appointment type").select_option(label="Showroom visit")
    form.get_by_label("From").fill(monday.isoformat())
    form.get_by_label("To (required)").fill((monday + timedelta(days=6)).isoformat())
    for day in ("Tuesday", "Thursday", "Friday"):
        form.get_by_label(day).uncheck()
    form.get_by_label("Day starts").fill("09:00")
    form.get_by_label("Day ends").fill("12:30")
    form.get_by_label("Slot length in minutes").fill("45")
    form.get_by_label("Gap between slots in minutes").fill("15")
    assert_accessible(page, "the filled generate form")
    form.get_by_role("button", name="Generate slots").click()

    # 09:00, 10:00 and 11:00 (11:45 would end after 12:30) on the Monday and the Wednesday.
    expect(form.get_by_text("Created 6 slots, skipped 0.")).to_be_visible()
    expect(page.locator("#announcer")).to_have_text("Created 6 slots, skipped 0.")
    assert_accessible(page, "the generation result")
    page.get_by_label("Consultant", exact=True).select_option(label=name)
    for time in ("09:00–09:45", "10:00–10:45", "11:00–11:45"):
        expect(slot_row(page, time)).to_contain_text("Free")
    expect(page.get_by_text("3 slots on this day.")).to_be_visible()
    assert_no_junk(page)
    screenshot(page, "admin-slots")
    assert public_times(http, monday, name) == ["09:00", "10:00", "11:00"]
    assert public_times(http, wednesday, name) == ["09:00", "10:00", "11:00"]
    assert public_times(http, monday + timedelta(days=1), name) == []

    page.get_by_role("button", name="Next day").click()
    expect(page.get_by_text("No slots on this day.")).to_be_visible()
    page.get_by_role("button", name="Next day").click()
    expect(page.get_by_text("3 slots on this day.")).to_be_visible()
    assert f"date={wednesday.isoformat()}" in page.url and f"consultant={consultant_id}" in page.url

    form.get_by_role("button", name="Generate slots").click()
    expect(form.get_by_text("Created 0 slots, skipped 6.")).to_be_visible()


def test_the_result_offers_the_first_generated_day(page, http, staff, staff_sub):
    _, name = a_consultant(http, staff)
    monday = free_days(1, weekday=1)
    open_calendar(page, staff_sub, monday - timedelta(days=3))
    form = page.get_by_role("form", name="Generate slots")
    form.get_by_label("Consultant (required)").select_option(label=name)
    form.get_by_label("Appointment type").select_option(label="Showroom visit")
    form.get_by_label("From").fill(monday.isoformat())
    form.get_by_label("To (required)").fill(monday.isoformat())
    form.get_by_label("Day ends").fill("11:00")
    form.get_by_role("button", name="Generate slots").click()
    expect(form.get_by_text("Created 2 slots, skipped 0.")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Show Monday")).click()
    expect(page.get_by_role("heading", name=re.compile(r"^Monday.* \(London time\)"))).to_be_focused()
    expect(slot_row(page, "09:00–10:00").filter(has_text=name)).to_contain_text("Free")
    expect(page.get_by_label("Day", exact=True)).to_have_value(monday.isoformat())


def test_bad_patterns_are_refused_next_to_their_fields(page, http, staff, staff_sub):
    _, name = a_consultant(http, staff)
    monday = free_days(1, weekday=1)
    open_calendar(page, staff_sub, monday)
    form = page.get_by_role("form", name="Generate slots")
    form.get_by_role("button", name="Generate slots").click()
    expect(form.get_by_text("Consultant: is required")).to_be_visible()
    expect(form.get_by_text("Appointment type: must be one of")).to_be_visible()
    expect(form.get_by_text("From: is required (YYYY-MM-DD)")).to_be_visible()
    expect(form.get_by_text("Please correct the fields marked above.")).to_be_visible()
    expect(form.get_by_label("Consultant (required)")).to_be_focused()
    assert_accessible(page, "the generate form with errors")

    form.get_by_label("Consultant (required)").select_option(label=name)
    form.get_by_label("Appointment type").select_option(label="Video consultation")
    form.get_by_label("From").fill(monday.isoformat())
    form.get_by_label("To (required)").fill((monday - timedelta(days=1)).isoformat())
    form.get_by_label("Day starts").fill("17:00")
    form.get_by_label("Day ends").fill("09:00")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        form.get_by_label(day).uncheck()
    form.get_by_label("Days off").fill("next Friday")
    form.get_by_role("button", name="Generate slots").click()
    expect(form.get_by_text("To: must not be before fromDate")).to_be_visible()
    expect(form.get_by_text("Day ends: must be after dayStart")).to_be_visible()
    expect(form.get_by_text(re.compile("^Days worked: choose at least one day"))).to_be_visible()
    expect(form.get_by_text("Days off: must be a calendar date in the form YYYY-MM-DD")).to_be_visible()
    expect(form.get_by_text("Consultant: is required")).to_be_hidden()
    assert_accessible(page, "the generate form with range errors")


def test_staff_block_a_free_slot_and_unblock_it_and_customers_see_each_change(page, http, staff, staff_sub):
    consultant_id, name = a_consultant(http, staff)
    day = free_days(1)
    a_slot(http, staff, consultant_id, day, 9)
    a_slot(http, staff, consultant_id, day, 10)
    open_calendar(page, staff_sub, day, consultant_id)
    row = slot_row(page, "10:00–11:00")
    expect(row).to_contain_text("Free")
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("Showroom visit")
    assert public_times(http, day, name) == ["09:00", "10:00"]

    row.get_by_role("button", name=f"Block 10:00–11:00 with {name}").click()
    expect(row).to_contain_text("Blocked")
    expect(page.locator("#announcer")).to_have_text(f"The 10:00 slot with {name} is blocked.")
    expect(row.get_by_role("button", name=f"Unblock 10:00–11:00 with {name}")).to_be_focused()
    assert public_times(http, day, name) == ["09:00"]
    assert_accessible(page, "the calendar with a blocked slot")
    assert_no_junk(page)

    page.reload()
    expect(slot_row(page, "10:00–11:00")).to_contain_text("Blocked")  # the server's state, not the page's
    slot_row(page, "10:00–11:00").get_by_role("button", name=re.compile("^Unblock")).click()
    expect(slot_row(page, "10:00–11:00")).to_contain_text("Free")
    expect(page.locator("#announcer")).to_have_text(f"The 10:00 slot with {name} is free again.")
    assert public_times(http, day, name) == ["09:00", "10:00"]


def test_a_booked_slot_shows_its_reference_and_cannot_be_blocked(page, mesh, http, staff, staff_sub):
    consultant_id, name = a_consultant(http, staff)
    day = free_days(1)
    booked = a_slot(http, staff, consultant_id, day, 9)
    later = a_slot(http, staff, consultant_id, day, 11)
    made = http.post("/v1/appointments", json=booking_form(booked), headers=mesh.auth(a_customer()))
    assert made.status_code == 201, made.text
    open_calendar(page, staff_sub, day, consultant_id)
    row = slot_row(page, "09:00–10:00")
    expect(row).to_contain_text(f"Booked ({made.json()['referenceCode']})")
    expect(row.get_by_role("button")).to_have_count(0)

    # A row shown as free that a customer books meanwhile: the block is refused with a sentence.
    stale = slot_row(page, "11:00–12:00")
    expect(stale).to_contain_text("Free")
    late = http.post("/v1/appointments", json=booking_form(later), headers=mesh.auth(a_customer()))
    assert late.status_code == 201, late.text
    stale.get_by_role("button", name=re.compile("^Block")).click()
    expect(stale.get_by_role("alert")).to_have_text("This slot has a booking, so it cannot be changed. Cancel the booking first.")
    expect(stale).to_contain_text(f"Booked ({late.json()['referenceCode']})")
    expect(stale.get_by_role("button")).to_have_count(0)
    assert_accessible(page, "the calendar with a refused block")
    assert_no_junk(page)
    states = http.get("/v1/admin/slots", params={"date": day.isoformat(), "consultantId": consultant_id}, headers=staff).json()
    assert {s["slotId"]: s["state"] for s in states["slots"]}[later] == "BOOKED"


def test_a_slot_is_blocked_and_unblocked_with_the_keyboard_alone(page, http, staff, staff_sub):
    consultant_id, name = a_consultant(http, staff)
    day = free_days(1)
    a_slot(http, staff, consultant_id, day, 14)
    open_calendar(page, staff_sub, day, consultant_id)
    expect(slot_row(page, "14:00–15:00")).to_contain_text("Free")
    block = page.get_by_role("button", name=f"Block 14:00–15:00 with {name}")
    for _ in range(30):
        if block.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(block).to_be_focused()
    page.keyboard.press("Enter")
    unblock = page.get_by_role("button", name=f"Unblock 14:00–15:00 with {name}")
    expect(unblock).to_be_focused()
    assert public_times(http, day, name) == []
    page.keyboard.press("Space")
    expect(block).to_be_focused()
    expect(slot_row(page, "14:00–15:00")).to_contain_text("Free")
    assert public_times(http, day, name) == ["14:00"]


def test_the_day_picker_moves_by_day_and_by_date(page, http, staff, staff_sub):
    consultant_id, name = a_consultant(http, staff)
    day = free_days(3)
    a_slot(http, staff, consultant_id, day + timedelta(days=2), 16)
    open_calendar(page, staff_sub, day + timedelta(days=1), consultant_id)
    expect(page.get_by_text("No slots on this day.")).to_be_visible()
    page.get_by_label("Day", exact=True).fill((day + timedelta(days=2)).isoformat())
    expect(slot_row(page, "16:00–17:00")).to_contain_text(name)
    page.get_by_role("button", name="Previous day").click()
    page.get_by_role("button", name="Previous day").click()
    expect(page.get_by_label("Day", exact=True)).to_have_value(day.isoformat())
    expect(page.get_by_text("No slots on this day.")).to_be_visible()
    page.get_by_label("Consultant", exact=True).select_option(label="All consultants")
    assert "consultant=" not in page.url


def test_staff_narrow_a_consultants_home_visits_to_postcode_areas(page, http, staff, staff_sub):
    consultant_id, name = a_consultant(http, staff, a_name("Ines"))
    sign_in(page, staff_sub, admin=True, then="#/admin/consultants")
    row = page.get_by_role("listitem").filter(has_text=name)
    expect(row).to_contain_text("Home visits everywhere")
    row.get_by_text("Change home visit areas").click()
    areas = page.get_by_label(f"Home visit areas of {name}")

    areas.fill("m, sw1, ME1 1AA")
    row.get_by_role("button", name="Save areas").click()
    expect(row.get_by_role("alert")).to_contain_text("ME1 1AA is not a UK postcode area")
    expect(areas).to_be_focused()
    assert_accessible(page, "a consultant's areas refused")

    areas.fill("m, sw1")
    row.get_by_role("button", name="Save areas").click()
    expect(page.get_by_role("main").get_by_text(f"{name} now makes home visits in M, SW1.")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text=name)).to_contain_text("Home visits in M, SW1")
    assert_accessible(page, "the consultant list after changing areas")
    listed = {c["consultantId"]: c for c in http.get("/v1/admin/consultants", headers=staff).json()["consultants"]}
    assert listed[consultant_id]["postcodeAreas"] == ["M", "SW1"]


@pytest.mark.parametrize("screen", ["consultants", "slots"])
def test_the_staff_pages_fit_a_360_px_phone(open_page, http, staff, staff_sub, screen):
    consultant_id, name = a_consultant(http, staff, a_name("Bartholomew-Fitzwilliam"))
    day = free_days(1)
    a_slot(http, staff, consultant_id, day, 9)
    phone = open_page(PHONE)
    if screen == "slots":
        open_calendar(phone, staff_sub, day, consultant_id)
        expect(slot_row(phone, "09:00–10:00")).to_contain_text("Free")
        phone.get_by_role("button", name="Generate slots").click()
        expect(phone.get_by_text("Consultant: is required")).to_be_visible()
    else:
        sign_in(phone, staff_sub, admin=True, then="#/admin/consultants")
        expect(phone.get_by_role("listitem").filter(has_text=name)).to_be_visible()
        phone.get_by_role("button", name="Add consultant").click()
        expect(phone.get_by_text("Name: is required")).to_be_visible()
    no_horizontal_scroll(phone)
    assert_accessible(phone, f"the {screen} page at 360 px")


def test_a_customer_sees_not_allowed_and_no_slots(page):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    sign_in(page, a_customer(), then="#/admin/slots")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    assert not [url for url in requests if "/v1/admin" in url]
