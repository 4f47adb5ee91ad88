"""Issue 10 section 5 in real Chromium: the brochure request form, with no sign-in.

The gateway allows 20 brochure requests per client address per minute, and every test of the
session comes from 127.0.0.1: these tests send only the requests they must, and the 429 is the
contract's real answer replayed by `page.route` rather than provoked by exhausting the limit.
"""
from __future__ import annotations

import json
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import PHONE, assert_accessible, screenshot
from tests.polling import wait_for

FIELDS = ("First name", "Last name", "Email", "Phone", "Postcode", "Address")


@pytest.fixture
def email() -> str:
    return f"brochure.{uuid.uuid4().hex[:10]}@example.com"


def form_values(email: str) -> dict[str, str]:
    return {"First name": "John", "Last name": "Smith", "Email": email, "Phone": "07700 900456", "Postcode": "M1 1AE", "Address": "2 Low Street\nManchester"}


def fill(page: Page, values: dict[str, str]) -> None:
    for label, value in values.items():
        page.get_by_label(label).fill(value)


def send(page: Page) -> None:
    page.get_by_role("button", name="Send me the brochure").click()


def track_brochure_posts(page: Page) -> list[str]:
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" and "/v1/brochures" in request.url else None)
    return posts


def pdf_attachments(message) -> list[bytes]:
    return [part.get_payload(decode=True) for part in message.iter_attachments() if (part.get_filename() or "").endswith(".pdf")]


def test_a_visitor_requests_the_brochure_without_signing_in_and_the_pdf_arrives(page, mesh, email):
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Brochure").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Request a brochure")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    fill(page, form_values(email))
    assert_accessible(page, "the brochure form")
    screenshot(page, "brochure-form")
    send(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("Brochure on its way")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    expect(page.get_by_text(f"We have emailed the brochure to {email}.")).to_be_visible()
    assert_accessible(page, "the brochure sent screen")
    screenshot(page, "brochure-sent")

    message = wait_for(lambda: mesh.mail_to(email), timeout=60, what="the brochure email")[0]
    pdfs = pdf_attachments(message)
    assert len(pdfs) == 1 and pdfs[0].startswith(b"%PDF")


def test_the_form_checks_every_field_with_the_servers_rules_before_sending(page):
    posts = track_brochure_posts(page)
    page.goto("/#/brochure")
    send(page)
    expect(page.get_by_role("alert").filter(has_text="Please correct 6 fields.")).to_be_visible()
    for label in FIELDS:
        expect(page.get_by_text(f"{label} is required", exact=True)).to_be_visible()
    # Each message is tied to its field, so a screen reader says it with the field.
    expect(page.get_by_label("First name")).to_have_accessible_description("First name is required")
    expect(page.get_by_label("Phone")).to_have_accessible_description("A UK number, e.g. 07700 900123. Phone is required")
    expect(page.get_by_label("First name")).to_be_focused()
    assert_accessible(page, "the brochure form with every field missing")

    fill(page, {"First name": "John", "Last name": "Smith", "Email": "not-an-email", "Phone": "12345", "Postcode": "NOWHERE", "Address": "2 Low Street"})
    send(page)
    expect(page.get_by_role("alert").filter(has_text="Please correct 3 fields.")).to_be_visible()
    expect(page.get_by_text("Email must be a valid email address, e.g. jane@example.co.uk")).to_be_visible()
    expect(page.get_by_text("Phone must be a UK phone number, e.g. 07700 900123")).to_be_visible()
    expect(page.get_by_text("Postcode must be a full UK postcode, e.g. SW1A 1AA")).to_be_visible()
    expect(page.get_by_text("First name is required")).to_have_count(0)
    expect(page.get_by_label("Email")).to_be_focused()
    assert_accessible(page, "the brochure form with bad values")
    assert posts == []


def test_a_400_from_the_server_is_shown_next_to_its_field(page, http, email):
    # The page applies the server's own rules, so nothing a person types reaches the server's
    # 400; the server's real answer to a bad address is replayed for one request instead.
    bad = {"firstName": "John", "lastName": "Smith", "email": "not-an-email", "phone": "07700 900456", "postcode": "M1 1AE", "address": "2 Low Street"}
    refused = http.post("/v1/brochures", json=bad)
    assert refused.status_code == 400 and refused.json()["fields"][0]["field"] == "email"
    page.route("**/v1/brochures", lambda route: route.fulfill(status=400, content_type="application/json", body=refused.text))
    page.goto("/#/brochure")
    fill(page, form_values(email))
    send(page)
    expect(page.get_by_label("Email")).to_have_accessible_description("We send the brochure here. " + refused.json()["fields"][0]["description"])
    expect(page.get_by_label("Email")).to_be_focused()
    expect(page.get_by_role("alert").filter(has_text="Please correct 1 field.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Request a brochure")
    assert "{" not in page.locator("main").inner_text()


def test_too_many_requests_says_how_long_to_wait_and_keeps_the_form_filled_in(page, email):
    answer = {"code": "RATE_LIMIT_EXCEEDED", "message": "Too many requests, please retry later"}
    page.route(
        "**/v1/brochures",
        lambda route: route.fulfill(status=429, content_type="application/json", headers={"retry-after": "60"}, body=json.dumps(answer)),
    )
    page.goto("/#/brochure")
    values = form_values(email)
    fill(page, values)
    send(page)
    expect(page.locator("main").get_by_role("alert")).to_have_text("Too many requests. Please try again in 1 minute.")
    for label, value in values.items():
        expect(page.get_by_label(label)).to_have_value(value)
    expect(page.get_by_role("button", name="Send me the brochure")).to_be_enabled()
    assert "retry later" not in page.locator("main").inner_text()
    assert_accessible(page, "the brochure form after a 429")


def test_the_brochure_form_and_its_answer_fit_a_360_pixel_screen(open_page, mesh, email):
    phone = open_page(viewport=PHONE)
    phone.goto("/#/brochure")
    send(phone)
    expect(phone.get_by_text("Address is required")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    long_email = f"a.rather.long.mailbox.name.for.a.phone.{email}"
    fill(phone, form_values(long_email))
    send(phone)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Brochure on its way")
    expect(phone.get_by_text(long_email)).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(phone, "the brochure sent screen at 360 px")
    wait_for(lambda: mesh.mail_to(long_email), timeout=60, what="the brochure email")
