"""The app shell: served by the gateway on one origin, signing in and out, staff pages guarded."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.browser.conftest import assert_accessible, sign_in


def test_the_start_page_is_served_by_the_gateway_and_is_accessible(page):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kitchens and bedrooms, designed with you")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert_accessible(page, "the start page")


def test_a_customer_signs_in_sees_their_name_and_signs_out(page):
    sign_in(page, "alice-shell")
    expect(page.get_by_text("Signed in as alice-shell")).to_be_visible()
    expect(page.get_by_role("link", name="Staff")).to_be_hidden()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    page.goto("/#/bookings")
    expect(page.get_by_text("Please sign in first.")).to_be_visible()


def test_the_sign_in_form_signs_in_through_the_dev_endpoint(page):
    page.goto("/#/sign-in")
    page.get_by_label("User id").fill("bob-form")
    page.get_by_label("Sign in as staff").check()
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as bob-form (staff)")).to_be_visible()
    expect(page.get_by_role("link", name="Staff")).to_be_visible()


def test_a_customer_opening_a_staff_page_sees_not_allowed_and_no_data(page):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    sign_in(page, "carol-shell", then="#/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_text("You are not allowed to see staff pages.")).to_be_visible()
    assert not [url for url in requests if "/v1/admin" in url]
    assert_accessible(page, "the not-allowed page")


def test_the_sign_in_form_refuses_an_id_the_sign_in_endpoint_would_refuse(page):
    page.goto("/#/sign-in")
    page.get_by_label("User id").fill("not a valid id!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Enter a user id of letters, digits and . _ @ - (up to 64).")).to_be_visible()
    expect(page.get_by_label("User id")).to_be_focused()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()  # still signed out
    assert_accessible(page, "the sign-in form with an error")
