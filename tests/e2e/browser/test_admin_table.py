"""Staff run the appointment table and a booking's lifecycle in a real browser.

The e2e database is shared by the whole session, so the table's data here is our own: our own
consultant with slots generated on two days no other test uses, a dozen bookings made through
the REST API by fresh customers, and every check starts from a filter only our rows match (those
two days, a fresh email or a reference).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import httpx
import psycopg
import pytest
from playwright.sync_api import Page, expect

from mesh_common.auth import Role
from tests.e2e.admin.api import a_far_monday, new_consultant, new_slot
from tests.e2e.browser.conftest import PHONE, assert_accessible, screenshot, sign_in
from tests.e2e.helpers import LONDON, a_customer, an_email, free_days, london
from tests.integration.booking_fixtures import appointment_has_started, booking_form

STAFF = "staff-admin-table"
FIRST_NAMES = ["Ada", "Ben", "Cleo", "Dev", "Eve", "Finn", "Gita", "Hal", "Ivy", "Jon", "Kai", "Lea"]
# (day index, slot index on that day) in the order the bookings are made: neither the days nor
# the times are in creation order, so each sort gives a different visible order.
MADE = [(0, 3), (1, 2), (0, 0), (0, 5), (1, 0), (0, 1), (1, 4), (0, 6), (1, 1), (0, 2), (1, 3), (0, 4)]


@dataclass
class Row:
    reference: str
    booking_id: str
    starts_at: datetime
    email: str
    name: str
    day: date


@pytest.fixture(scope="module")
def staff(mesh) -> dict[str, str]:
    return mesh.auth(STAFF, Role.ADMIN)


@pytest.fixture(scope="module")
def api(mesh):
    with httpx.Client(base_url=mesh.url, timeout=30) as client:
        yield client


def make_booking(api, mesh, slot_id: str, first_name: str = "Jane") -> dict:
    email = an_email()
    response = api.post("/v1/appointments", json=booking_form(slot_id, email=email, firstName=first_name, lastName="Tester"), headers=mesh.auth(a_customer()))
    assert response.status_code == 201, response.text
    return {**response.json(), "email": email}


@pytest.fixture(scope="module")
def diary(mesh, api, staff) -> dict:
    """Twelve bookings on our consultant's slots over two days: 7 on the first, 5 on the second;
    on the first day two are confirmed and one is cancelled."""
    consultant_id, consultant = new_consultant(api, staff, ("KITCHEN",))
    first = free_days(2)
    days = [first, first + timedelta(days=1)]
    pattern = {
        "consultantId": consultant_id, "type": "SHOWROOM_VISIT", "fromDate": days[0].isoformat(), "toDate": days[1].isoformat(),
        "weekdays": [1, 2, 3, 4, 5, 6, 7], "dayStart": "09:00", "dayEnd": "13:00", "slotMinutes": 30, "bufferMinutes": 0,
    }  # fmt: skip
    generated = api.post("/v1/admin/slots:generate", json=pattern, headers=staff)
    assert generated.status_code == 200 and generated.json()["created"] == 16, generated.text
    slots = []
    for day in days:
        grid = api.get("/v1/appointments/availability", params={"type": "SHOWROOM_VISIT", "date": day.isoformat()}).json()["slots"]
        slots.append([s for s in grid if s["consultant"]["name"] == consultant])
    rows = []
    for number, (day_index, slot_index) in enumerate(MADE):
        slot = slots[day_index][slot_index]
        made = make_booking(api, mesh, slot["slotId"], FIRST_NAMES[number])
        starts = datetime.fromisoformat(slot["startsAt"].replace("Z", "+00:00"))
        rows.append(Row(made["referenceCode"], made["bookingId"], starts, made["email"], f"{FIRST_NAMES[number]} Tester", days[day_index]))
    on_first = [r for r in rows if r.day == days[0]]
    for row in on_first[:2]:
        assert api.post(f"/v1/admin/appointments/{row.booking_id}/confirm", json={}, headers=staff).status_code == 200
    cancelled = api.post(f"/v1/admin/appointments/{on_first[2].booking_id}/cancel", json={"reason": "Customer phoned"}, headers=staff)
    assert cancelled.status_code == 200, cancelled.text
    return {"rows": rows, "days": days, "consultant": consultant, "confirmed": on_first[:2], "cancelled": on_first[2]}


@pytest.fixture
def booking(mesh, api, staff) -> dict:
    """A fresh PENDING booking on its own consultant's slot; `slotId` lets a test start it."""
    consultant_id, _ = new_consultant(api, staff, ("KITCHEN",))
    slot = new_slot(api, staff, consultant_id, london(a_far_monday(), 10))
    assert slot.status_code == 201, slot.text
    return {**make_booking(api, mesh, slot.json()["slotId"]), "slotId": slot.json()["slotId"]}


def references(page: Page):
    return page.get_by_role("table", name="Appointments, one row per booking").get_by_role("rowheader")


def open_table(page: Page, query: str = "") -> None:
    sign_in(page, STAFF, admin=True, then=f"#/admin{query}")
    expect(page.get_by_role("heading", level=1, name="Appointments")).to_be_visible()


def filter_days(page: Page, first: date, last: date) -> None:
    page.get_by_label("From date").fill(first.isoformat())
    page.get_by_label("To date").fill(last.isoformat())
    page.get_by_role("button", name="Apply filters").click()


def in_order(rows, key, reverse=False) -> list[str]:
    return [r.reference for r in sorted(rows, key=key, reverse=reverse)]


def expect_change(row, old: str, new: str, by=STAFF, reason: str = "None given") -> None:
    """One status history row: from, to, who, when (London time), reason."""
    expect(row.get_by_role("cell")).to_have_text([old, new, by, re.compile(r"^\w+day, \d{1,2} \w+ \d{4}, \d\d:\d\d$"), reason])


def tab_to(page: Page, target) -> None:
    """Presses Tab (only) until `target` has the keyboard focus."""
    for _ in range(80):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError("the control cannot be reached with the Tab key")


# -- the table


def test_the_table_filters_by_date_range_status_email_and_reference(page, diary):
    rows, days = diary["rows"], diary["days"]
    first_day = [r for r in rows if r.day == days[0]]
    open_table(page)
    expect(page.get_by_role("columnheader", name="Appointment (London time)")).to_be_visible()

    filter_days(page, days[0], days[0])
    expect(page.get_by_role("main").get_by_text("7 appointments", exact=True)).to_be_visible()
    expect(references(page)).to_have_text(in_order(first_day, lambda r: rows.index(r), reverse=True))
    filter_days(page, days[0], days[1])
    expect(page.get_by_role("main").get_by_text("12 appointments", exact=True)).to_be_visible()

    page.get_by_label("Status").select_option(label="Confirmed")
    page.get_by_label("To date").fill(days[0].isoformat())
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("main").get_by_text("2 appointments", exact=True)).to_be_visible()
    expect(references(page)).to_have_text(in_order(diary["confirmed"], lambda r: rows.index(r), reverse=True))
    table = page.get_by_role("table", name="Appointments, one row per booking")
    expect(table.get_by_role("cell", name="Confirmed", exact=True)).to_have_count(2)
    assert_accessible(page, "the appointment table with filters applied")

    # The filters live in the address: a reload keeps them.
    assert "status=CONFIRMED" in page.url and f"from={days[0].isoformat()}" in page.url
    page.reload()
    expect(page.get_by_role("main").get_by_text("2 appointments", exact=True)).to_be_visible()
    expect(page.get_by_label("Status")).to_have_value("CONFIRMED")
    expect(page.get_by_label("From date")).to_have_value(days[0].isoformat())
    # ... and so does the browser's Back button after opening a booking.
    page.get_by_role("link", name=diary["confirmed"][0].reference).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Booking {diary['confirmed'][0].reference}")
    page.go_back()
    expect(references(page)).to_have_text(in_order(diary["confirmed"], lambda r: rows.index(r), reverse=True))
    expect(page.get_by_label("Status")).to_have_value("CONFIRMED")

    page.get_by_label("Status").select_option(label="Cancelled")
    page.get_by_role("button", name="Apply filters").click()
    expect(references(page)).to_have_text([diary["cancelled"].reference])
    expect(table.get_by_role("cell", name="Cancelled", exact=True)).to_have_count(1)

    page.get_by_role("button", name="Clear filters").click()
    wanted = first_day[4]
    page.get_by_label("Customer email").fill(wanted.email.upper())
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("main").get_by_text("1 appointment", exact=True)).to_be_visible()
    expect(references(page)).to_have_text([wanted.reference])
    expect(table.get_by_role("cell", name=wanted.name)).to_be_visible()
    expect(table.get_by_role("cell", name=wanted.email)).to_be_visible()
    expect(table.get_by_role("cell", name=diary["consultant"])).to_be_visible()
    expect(table.get_by_role("cell", name="Showroom visit")).to_be_visible()
    expect(table.get_by_role("cell", name="Kitchen", exact=True)).to_be_visible()
    start = wanted.starts_at.astimezone(LONDON)
    end = start + timedelta(minutes=30)
    # "Sept" in newer ICU where Python says "Sep".
    expect(table.get_by_role("cell", name=re.compile(rf"^{start:%a, %-d %b}t? {start:%Y} {start:%H:%M}–{end:%H:%M}$"))).to_be_visible()

    page.get_by_role("button", name="Clear filters").click()
    other = rows[7]
    page.get_by_label("Reference").fill(other.reference.lower())
    page.get_by_role("button", name="Apply filters").click()
    expect(references(page)).to_have_text([other.reference])
    expect(page.get_by_role("main").get_by_text("1 appointment", exact=True)).to_be_visible()


def test_a_filter_nothing_matches_shows_an_empty_state_and_a_bad_reference_is_explained(page, diary):
    open_table(page)
    page.get_by_label("Customer email").fill(an_email())
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("main").get_by_text("No appointments match these filters.")).to_be_visible()
    expect(page.get_by_role("main").get_by_text("0 appointments", exact=True)).to_be_visible()
    expect(page.get_by_role("table")).to_be_hidden()
    assert_accessible(page, "the appointment table with no matching rows")

    page.get_by_label("Customer email").fill("")
    page.get_by_label("Reference").fill("not-a-reference")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("main").get_by_text("must look like BK-YYYYMMDD-NNNN")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="Please correct the filters.")).to_be_visible()
    expect(page.get_by_label("Reference")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, "the appointment table with a filter error")


@pytest.mark.parametrize(
    ("header", "key"),
    [("Appointment (London time)", lambda r: r.starts_at), ("Booked (London time)", None)],
    ids=["by appointment time", "by booking time"],
)
def test_each_sortable_column_sorts_both_ways(page, diary, header, key):
    rows, days = diary["rows"], diary["days"]
    key = key or rows.index
    open_table(page, f"?from={days[0]}&to={days[1]}")
    column = page.get_by_role("columnheader", name=header)
    if header.startswith("Booked"):  # the table's default order: newest booking first
        expect(column).to_have_attribute("aria-sort", "descending")
        expect(references(page)).to_have_text(in_order(rows, key, reverse=True))
        column.get_by_role("button").click()
        expect(column).to_have_attribute("aria-sort", "ascending")
        expect(references(page)).to_have_text(in_order(rows, key))
    else:
        expect(column).not_to_have_attribute("aria-sort", re.compile(".*"))
        column.get_by_role("button").click()
        expect(column).to_have_attribute("aria-sort", "ascending")
        expect(references(page)).to_have_text(in_order(rows, key))
        column.get_by_role("button").click()
        expect(column).to_have_attribute("aria-sort", "descending")
        expect(references(page)).to_have_text(in_order(rows, key, reverse=True))
    expect(page.get_by_role("columnheader", name="Email")).not_to_have_attribute("aria-sort", re.compile(".*"))


def test_page_size_and_paging_show_the_total(page, diary):
    rows, days = diary["rows"], diary["days"]
    by_start = in_order(rows, lambda r: r.starts_at)
    open_table(page, f"?from={days[0]}&to={days[1]}&sort=startsAt")
    expect(page.get_by_role("main").get_by_text("12 appointments", exact=True)).to_be_visible()
    expect(page.get_by_role("main").get_by_text("Page 1 of 1", exact=True)).to_be_visible()
    screenshot(page, "admin-table")
    page.get_by_label("Rows per page").select_option("10")
    expect(page.get_by_role("main").get_by_text("Page 1 of 2", exact=True)).to_be_visible()
    expect(references(page)).to_have_text(by_start[:10])
    expect(page.get_by_role("button", name="Previous page")).to_be_disabled()
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_role("main").get_by_text("Page 2 of 2", exact=True)).to_be_visible()
    expect(references(page)).to_have_text(by_start[10:])
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    expect(page.get_by_role("main").get_by_text("12 appointments", exact=True)).to_be_visible()
    page.reload()
    expect(page.get_by_role("main").get_by_text("Page 2 of 2", exact=True)).to_be_visible()
    expect(page.get_by_label("Rows per page")).to_have_value("10")
    page.get_by_role("button", name="Previous page").click()
    expect(references(page)).to_have_text(by_start[:10])
    page.get_by_label("Rows per page").select_option("50")
    expect(page.get_by_role("main").get_by_text("Page 1 of 1", exact=True)).to_be_visible()
    expect(references(page)).to_have_count(12)


def test_the_table_fits_a_phone_screen(open_page, diary):
    phone = open_page(PHONE)
    days = diary["days"]
    open_table(phone, f"?from={days[0]}&to={days[1]}")
    expect(references(phone)).to_have_count(12)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(phone, "the appointment table at 360 px")
    references(phone).first.get_by_role("link").click()
    expect(phone.get_by_role("heading", name="Status history")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360


# -- one booking


def test_a_row_opens_the_booking_and_staff_confirm_then_complete_it(mesh, page, booking):
    open_table(page, f"?referenceCode={booking['referenceCode']}")
    page.get_by_role("link", name=booking["referenceCode"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Booking {booking['referenceCode']}")
    expect(page.get_by_role("main").get_by_text(booking["email"])).to_be_visible()
    expect(page.get_by_role("main").get_by_text(re.compile(r"London time$")).first).to_be_visible()
    history = page.get_by_role("region", name="Status history").get_by_role("row")
    expect(history).to_have_count(2)
    expect_change(history.nth(1), "New booking", "Pending", re.compile(r"^customer-.* \(customer\)$"))
    expect(page.get_by_role("button", name="Mark as completed")).to_be_hidden()
    assert_accessible(page, "a pending booking")

    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("main").get_by_role("status").filter(has_text="Booking confirmed.")).to_be_visible()
    expect(history).to_have_count(3)
    expect_change(history.nth(2), "Pending", "Confirmed")
    expect(page.get_by_role("button", name="Confirm booking")).to_be_hidden()

    # The server refuses an outcome before the appointment has started: a sentence says why.
    page.get_by_role("button", name="Mark as completed").click()
    expect(page.get_by_role("alert").filter(has_text="This appointment has not started yet")).to_be_visible()
    expect(history).to_have_count(3)
    assert_accessible(page, "a booking with a refused action")

    appointment_has_started(mesh.database_url, booking["slotId"])
    page.get_by_role("button", name="Mark as completed").click()
    expect(page.get_by_role("main").get_by_role("status").filter(has_text="Booking marked as completed.")).to_be_visible()
    expect(history).to_have_count(4)
    expect_change(history.nth(3), "Confirmed", "Completed")
    expect(page.get_by_role("main").get_by_text("A completed booking cannot be changed any more.")).to_be_visible()
    assert_accessible(page, "a completed booking")
    screenshot(page, "admin-booking")

    page.get_by_role("link", name="Back to appointments").click()
    expect(page.get_by_label("Reference")).to_have_value(booking["referenceCode"])
    expect(references(page)).to_have_text([booking["referenceCode"]])


def test_staff_mark_a_started_confirmed_booking_as_a_no_show(mesh, page, api, staff, booking):
    assert api.post(f"/v1/admin/appointments/{booking['bookingId']}/confirm", json={}, headers=staff).status_code == 200
    appointment_has_started(mesh.database_url, booking["slotId"])
    sign_in(page, STAFF, admin=True, then=f"#/admin/bookings/{booking['bookingId']}")
    page.get_by_role("button", name="Mark as no-show").click()
    expect(page.get_by_role("main").get_by_role("status").filter(has_text="Booking marked as a no-show.")).to_be_visible()
    history = page.get_by_role("region", name="Status history").get_by_role("row")
    expect(history).to_have_count(4)
    expect_change(history.nth(3), "Confirmed", "No-show")
    expect(page.get_by_role("main").get_by_text("A no-show booking cannot be changed any more.")).to_be_visible()


def test_staff_cancel_a_booking_with_a_reason(page, booking):
    sign_in(page, STAFF, admin=True, then=f"#/admin/bookings/{booking['bookingId']}")
    page.get_by_role("button", name="Cancel booking").click()
    dialog = page.get_by_role("dialog", name="Cancel this booking?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Reason for cancelling")).to_be_focused()
    assert_accessible(page, "the cancel dialog")
    dialog.get_by_role("button", name="Cancel booking").click()
    expect(dialog.get_by_text("Reason for cancelling is required")).to_be_visible()
    assert_accessible(page, "the cancel dialog with its error")
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Confirm booking")).to_be_visible()

    page.get_by_role("button", name="Cancel booking").click()
    dialog.get_by_label("Reason for cancelling").fill("Kitchen fitter unavailable")
    dialog.get_by_role("button", name="Cancel booking").click()
    expect(page.get_by_role("main").get_by_role("status").filter(has_text="Booking cancelled.")).to_be_visible()
    history = page.get_by_role("region", name="Status history").get_by_role("row")
    expect(history).to_have_count(3)
    expect_change(history.nth(2), "Pending", "Cancelled", reason="Kitchen fitter unavailable")
    expect(page.get_by_role("main").get_by_text("A cancelled booking cannot be changed any more.")).to_be_visible()
    expect(page.get_by_role("definition").filter(has_text="Kitchen fitter unavailable")).to_be_visible()
    assert_accessible(page, "a cancelled booking")


def test_an_action_on_a_booking_changed_elsewhere_is_refused_with_a_sentence(mesh, page, api, staff, booking):
    sign_in(page, STAFF, admin=True, then=f"#/admin/bookings/{booking['bookingId']}")
    expect(page.get_by_role("button", name="Confirm booking")).to_be_visible()
    cancelled = api.post(f"/v1/admin/appointments/{booking['bookingId']}/cancel", json={"reason": "Changed elsewhere"}, headers=staff)
    assert cancelled.status_code == 200, cancelled.text
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("alert").filter(has_text=re.compile(r"(already cancelled|can no longer be changed)"))).to_be_visible()
    expect(page.get_by_role("main").get_by_text("A cancelled booking cannot be changed any more.")).to_be_visible()
    expect(page.get_by_role("button", name="Confirm booking")).to_be_hidden()


def test_an_unknown_booking_says_so(page):
    sign_in(page, STAFF, admin=True, then=f"#/admin/bookings/{uuid.uuid4()}")
    expect(page.get_by_role("alert").filter(has_text="We could not find this booking.")).to_be_visible()
    expect(page.get_by_role("link", name="Back to appointments")).to_be_visible()
    assert_accessible(page, "an unknown booking")


def test_a_customer_never_sees_a_booking_on_the_staff_pages(page, booking):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    sign_in(page, a_customer(), then=f"#/admin/bookings/{booking['bookingId']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_role("main").get_by_text(booking["referenceCode"])).to_have_count(0)
    assert not [url for url in requests if "/v1/admin" in url]


def test_the_table_and_a_booking_work_with_the_keyboard_alone(page, booking):
    open_table(page)
    email = page.get_by_label("Customer email")
    tab_to(page, email)
    page.keyboard.type(booking["email"])
    page.keyboard.press("Enter")
    expect(references(page)).to_have_text([booking["referenceCode"]])

    sort = page.get_by_role("button", name="Appointment (London time)")
    tab_to(page, sort)
    page.keyboard.press("Enter")
    expect(page.get_by_role("columnheader", name="Appointment (London time)")).to_have_attribute("aria-sort", "ascending")
    expect(sort).to_be_focused()

    link = page.get_by_role("link", name=booking["referenceCode"])
    tab_to(page, link)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Booking {booking['referenceCode']}")
    tab_to(page, page.get_by_role("button", name="Confirm booking"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("main").get_by_role("status").filter(has_text="Booking confirmed.")).to_be_focused()

    tab_to(page, page.get_by_role("button", name="Cancel booking"))
    page.keyboard.press("Enter")
    page.keyboard.type("Customer asked by phone")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("main").get_by_role("status").filter(has_text="Booking cancelled.")).to_be_focused()
    expect(page.get_by_role("region", name="Status history").get_by_role("row")).to_have_count(4)


def test_the_history_shows_when_the_reminder_went_out(mesh, page, booking):
    # The session's mesh reminds a day ahead: the row the reminder scheduler writes, written here.
    with psycopg.connect(mesh.database_url) as connection:
        connection.execute(
            "INSERT INTO booking_status_history (booking_id, from_status, to_status, changed_by, changed_at, reason, kind)"
            " VALUES (%s, 'PENDING', 'PENDING', 'reminder-scheduler', now(), 'Reminder email sent for 03 March 2031 10:00 (UK time)', 'REMINDER')",
            (booking["bookingId"],),
        )
    open_table(page, f"?referenceCode={booking['referenceCode']}")
    page.get_by_role("link", name=booking["referenceCode"]).click()
    history = page.get_by_role("region", name="Status history").get_by_role("row")
    expect(history).to_have_count(3)
    expect_change(
        history.nth(2), "Pending", "Pending", "Automatic reminder", reason="Reminder email sent for 03 March 2031 10:00 (UK time)"
    )
    assert_accessible(page, "a booking whose reminder went out")


def test_a_table_that_cannot_load_says_so_and_can_try_again(page, diary):
    days = diary["days"]

    def unavailable(route):
        route.fulfill(status=503, content_type="application/json", body='{"code":"UNAVAILABLE","message":"down"}')

    page.route("**/v1/admin/appointments?*", unavailable)
    open_table(page, f"?from={days[0]}&to={days[1]}")
    expect(page.get_by_role("alert").filter(has_text="The booking service is busy or down for a moment.")).to_be_visible()
    expect(page.get_by_role("table")).to_be_hidden()
    assert_accessible(page, "the appointment table that could not load")
    page.unroute("**/v1/admin/appointments?*", unavailable)
    page.get_by_role("button", name="Try again").click()
    expect(references(page)).to_have_count(12)
