"""The admin table over REST: paging, sorting, filters, and the parameters it refuses."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.e2e.admin.api import a_far_monday, assert_error, book, new_consultant, new_slot, table
from tests.e2e.helpers import london

# -- the admin table


@pytest.fixture
def three_bookings(mesh, http, staff, customer, email) -> list[dict]:
    """Three bookings of one customer, booked in the order 11:00, 09:00, 10:00 on one far day."""
    consultant_id, _ = new_consultant(http, staff)
    day = a_far_monday()
    made = []
    for hour in (11, 9, 10):
        slot = new_slot(http, staff, consultant_id, london(day, hour)).json()["slotId"]
        made.append({**book(http, mesh, slot, customer, email), "hour": hour, "day": day})
    return made


def test_the_table_pages_through_one_customers_bookings(http, staff, email, three_bookings):
    newest_first = [b["bookingId"] for b in reversed(three_bookings)]
    first = table(http, staff, email=email, limit=2).json()
    assert ([a["bookingId"] for a in first["data"]], first["total"], first["page"], first["totalPages"]) == (
        newest_first[:2],
        3,
        1,
        2,
    )
    last = table(http, staff, email=email, limit=2, page=2).json()
    assert ([a["bookingId"] for a in last["data"]], last["total"], last["page"]) == (newest_first[2:], 3, 2)
    past_the_end = table(http, staff, email=email, limit=2, page=3)
    assert past_the_end.status_code == 200
    assert past_the_end.json() == {"data": [], "total": 3, "page": 3, "totalPages": 2}


def test_the_table_sorts_by_creation_or_by_start(http, staff, email, three_bookings):
    by_hour = {b["hour"]: b["bookingId"] for b in three_bookings}

    def ids(sort):
        response = table(http, staff, email=email, sort=sort)
        assert response.status_code == 200, response.text
        return [a["bookingId"] for a in response.json()["data"]]

    assert ids("createdAt") == [b["bookingId"] for b in three_bookings]
    assert ids("-createdAt") == [b["bookingId"] for b in reversed(three_bookings)]
    assert ids("startsAt") == [by_hour[9], by_hour[10], by_hour[11]]
    assert ids("-startsAt") == [by_hour[11], by_hour[10], by_hour[9]]


def test_the_table_filters_by_reference_status_and_days(http, staff, email, three_bookings):
    one = three_bookings[0]
    by_reference = table(http, staff, referenceCode=one["referenceCode"].lower()).json()
    assert [a["bookingId"] for a in by_reference["data"]] == [one["bookingId"]] and by_reference["total"] == 1
    day = one["day"]
    assert table(http, staff, email=email, **{"from": day.isoformat(), "to": day.isoformat()}).json()["total"] == 3
    assert table(http, staff, email=email, **{"from": (day + timedelta(days=1)).isoformat()}).json()["total"] == 0
    assert table(http, staff, email=email, to=(day - timedelta(days=1)).isoformat()).json()["total"] == 0
    assert table(http, staff, email=email, status="CONFIRMED").json()["total"] == 0
    assert table(http, staff, email=email, status="PENDING").json()["total"] == 3


def test_the_largest_page_is_100(http, staff, email, three_bookings):
    response = table(http, staff, email=email, limit=100)
    assert response.status_code == 200 and response.json()["total"] == 3


# -- refused parameters


def test_bad_table_parameters_are_400_not_clamped(http, staff):
    # One case per error class; the other values are unit tests in tests/unit/test_request_conversion.py.
    assert_error(table(http, staff, limit=101), 400, "VALIDATION_ERROR", "limit")


def test_an_unknown_status_or_parameter_is_400(http, staff):
    assert_error(table(http, staff, status="LOST"), 400, "VALIDATION_ERROR")
    assert_error(table(http, staff, colour="blue"), 400, "VALIDATION_ERROR")


def test_table_dates_outside_any_diary_are_a_validation_error_not_a_crash(http, staff):
    # One case per error class; the other values are unit tests in tests/unit/test_request_conversion.py.
    assert_error(table(http, staff, to="9999-12-31"), 400, "VALIDATION_ERROR", "to")


def test_zero_paging_is_a_validation_error_not_the_default(http, staff):
    # An explicit 0 must reach the service as set, not as proto3's unset default (page 1); the
    # other values are unit tests in tests/unit/test_request_conversion.py.
    assert_error(table(http, staff, page=0), 400, "VALIDATION_ERROR", "page")
