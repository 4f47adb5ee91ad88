"""The booking journey as a person goes through it, for any browser test that needs a booking.

`own_slot` makes a consultant of the test's own (through the admin API) with one slot, so the
grid holds a slot no other test can take; `book_in_browser` walks the four steps and returns the
reference code the confirmation shows.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import httpx
from playwright.sync_api import Page, expect

from mesh_common.auth import Role
from tests.e2e.browser.conftest import sign_in
from tests.e2e.helpers import LONDON

TYPE_TITLES = {"HOME_MEASUREMENT": "Home measurement", "SHOWROOM_VISIT": "Showroom visit", "VIDEO_CONSULTATION": "Video consultation"}
REFERENCE = re.compile(r"BK-\d{8}-\d{4}")


@dataclass
class OwnSlot:
    slot_id: str
    consultant: str
    starts_at: datetime
    ends_at: datetime

    @property
    def day(self) -> date:
        return self.starts_at.astimezone(LONDON).date()

    @property
    def label(self) -> str:
        """The start of the slot button's accessible name: "14:00–15:00 London time with NAME"."""
        start, end = (t.astimezone(LONDON).strftime("%H:%M") for t in (self.starts_at, self.ends_at))
        return f"{start}–{end} London time with {self.consultant}"


def _rfc3339(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def own_consultant(mesh, categories=("KITCHEN", "BEDROOM"), postcode_areas=()) -> tuple[str, str]:
    """A new consultant (through the admin API), visiting `postcode_areas` (none: everywhere); returns (id, name)."""
    name = f"Designer {uuid.uuid4().hex[:8]}"
    body = {"name": name, "avatarUrl": f"https://avatars.example/{name[-8:]}.png", "categories": list(categories), "postcodeAreas": list(postcode_areas)}
    response = httpx.post(
        f"{mesh.url}/v1/admin/consultants",
        json=body,
        headers=mesh.auth("journey-staff", Role.ADMIN),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["consultantId"], name


def own_slot(mesh, starts_at: datetime, *, type_="SHOWROOM_VISIT", categories=("KITCHEN", "BEDROOM"), consultant=None, minutes=60) -> OwnSlot:
    """One slot of a consultant of this test's own (a new one unless `consultant` = (id, name))."""
    consultant_id, name = consultant or own_consultant(mesh, categories)
    ends_at = starts_at + timedelta(minutes=minutes)
    response = httpx.post(
        f"{mesh.url}/v1/admin/slots",
        json={"consultantId": consultant_id, "type": type_, "startsAt": _rfc3339(starts_at), "endsAt": _rfc3339(ends_at)},
        headers=mesh.auth("journey-staff", Role.ADMIN),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return OwnSlot(response.json()["slotId"], name, starts_at, ends_at)


@dataclass
class Details:
    first_name: str = "Jane"
    last_name: str = "Doe"
    email: str = field(default_factory=lambda: f"jane-{uuid.uuid4().hex[:10]}@example.com")
    phone: str = "07700 900123"
    postcode: str = "SW1A 1AA"
    address: str = "10 Downing Street, London"

    def as_labels(self) -> dict[str, str]:
        return {"First name": self.first_name, "Last name": self.last_name, "Email": self.email, "UK phone": self.phone, "Postcode": self.postcode, "Address": self.address}


def choose_type_and_service(page: Page, type_: str, *, kitchen=True, bedroom=False) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("What kind of appointment would you like?")
    page.get_by_label(TYPE_TITLES[type_]).check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("What would you like to plan?")
    page.get_by_label("Kitchen").set_checked(kitchen)
    page.get_by_label("Bedroom").set_checked(bedroom)
    page.get_by_role("button", name="Next").click()


def fill_details(page: Page, details: Details) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Your details")
    for label, value in details.as_labels().items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Next").click()


def slot_button(page: Page, slot: OwnSlot):
    return page.get_by_role("button", name=slot.label)


def show_day(page: Page, day: date) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a day and time")
    page.get_by_label("Day", exact=True).fill(day.isoformat())
    expect(page.get_by_role("heading", level=2, name=re.compile(day.strftime("%-d %B %Y")))).to_be_visible()


def pick_and_book(page: Page, slot: OwnSlot) -> None:
    show_day(page, slot.day)
    slot_button(page, slot).click()
    expect(slot_button(page, slot)).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Book this appointment").click()


def signed_in_at_the_day(page: Page, sub: str, slot: OwnSlot, details: Details | None = None) -> None:
    """Signs in as `sub` and walks a showroom visit up to the grid of `slot`'s day."""
    sign_in(page, sub, then="#/book")
    choose_type_and_service(page, "SHOWROOM_VISIT")
    fill_details(page, details or Details())
    show_day(page, slot.day)


def signed_in_at_the_slot(page: Page, sub: str, slot: OwnSlot, details: Details | None = None) -> None:
    """Signs in as `sub` and walks a showroom visit up to `slot`, chosen (and so held) but not yet booked."""
    signed_in_at_the_day(page, sub, slot, details)
    slot_button(page, slot).click()


def confirmed_reference(page: Page) -> str:
    expect(page.get_by_role("heading", level=1)).to_have_text("Your appointment is booked")
    text = page.locator(".reference").inner_text()
    assert REFERENCE.fullmatch(text), text
    return text


def book_in_browser(page: Page, slot: OwnSlot, *, type_="SHOWROOM_VISIT", kitchen=True, bedroom=False, details: Details | None = None) -> str:
    """Goes through the four steps from #/book (the page is signed in) and books `slot`."""
    page.goto("/#/book")
    choose_type_and_service(page, type_, kitchen=kitchen, bedroom=bedroom)
    fill_details(page, details or Details())
    pick_and_book(page, slot)
    return confirmed_reference(page)


def alert(page: Page):
    """The page's error message (not the shell's hidden announcer)."""
    return page.get_by_role("main").get_by_role("alert")


def my_bookings(mesh, sub: str) -> list[dict]:
    response = httpx.get(f"{mesh.url}/v1/appointments", params={"limit": 100}, headers=mesh.auth(sub), timeout=30)
    assert response.status_code == 200, response.text
    return response.json().get("data", [])
