"""Home measurements in the browser journey offer only designers who visit the customer's postcode
(issue 14, contract 4): the details step comes before the grid, so the grid is filtered by it."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import assert_accessible, sign_in
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
from tests.e2e.helpers import a_customer, free_days, london


def test_the_home_visit_grid_offers_only_designers_who_visit_the_postcode(page: Page, mesh):
    day = free_days()
    westminster = own_slot(mesh, london(day, 10), type_="HOME_MEASUREMENT", consultant=own_consultant(mesh, postcode_areas=["SW1"]))
    manchester = own_slot(mesh, london(day, 11), type_="HOME_MEASUREMENT", consultant=own_consultant(mesh, postcode_areas=["M"]))
    everywhere = own_slot(mesh, london(day, 12), type_="HOME_MEASUREMENT")

    sign_in(page, a_customer(), then="#/book")
    choose_type_and_service(page, "HOME_MEASUREMENT")
    fill_details(page, Details(postcode="sw1p3bu"))
    show_day(page, day)

    expect(page.get_by_role("heading", level=2, name=re.compile("for a visit to SW1P 3BU"))).to_be_visible()
    expect(slot_button(page, westminster)).to_be_visible()
    expect(slot_button(page, everywhere)).to_be_visible()
    expect(slot_button(page, manchester)).to_have_count(0)
    assert_accessible(page, "the home visit grid for one postcode")

    pick_and_book(page, westminster)
    confirmed_reference(page)


def test_other_types_ignore_the_postcode(page: Page, mesh):
    day = free_days()
    manchester = own_slot(mesh, london(day, 15), consultant=own_consultant(mesh, postcode_areas=["M"]))
    sign_in(page, a_customer(), then="#/book")
    choose_type_and_service(page, "SHOWROOM_VISIT")
    fill_details(page, Details(postcode="SW1A 1AA"))
    show_day(page, day)
    expect(slot_button(page, manchester)).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=re.compile("for a visit to"))).to_have_count(0)
