"""Reference codes keep the FIXED contract BK-YYYYMMDD-NNNN: a London day holds 9,999 bookings."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest

from appointment_svc.domain.errors import RateLimitExceeded
from appointment_svc.domain.model import DAILY_BOOKING_CAPACITY, check_daily_capacity, reference_code

CONTRACT = re.compile(r"^BK-\d{8}-\d{4}$")
UTC = timezone.utc


def test_the_first_and_the_9999th_booking_of_a_day_fit_the_contract():
    assert reference_code(date(2026, 11, 29), 1) == "BK-20261129-0001"
    assert reference_code(date(2026, 11, 29), DAILY_BOOKING_CAPACITY) == "BK-20261129-9999"
    check_daily_capacity(DAILY_BOOKING_CAPACITY, datetime(2026, 11, 29, 22, 30, tzinfo=UTC))
    assert CONTRACT.match(reference_code(date(2026, 11, 29), DAILY_BOOKING_CAPACITY))


def test_no_code_past_four_digits_is_ever_formatted():
    with pytest.raises(ValueError):
        reference_code(date(2026, 11, 29), 10_000)


@pytest.mark.parametrize(
    ("now", "seconds_to_london_midnight"),
    [
        (datetime(2026, 11, 29, 22, 30, tzinfo=UTC), 90 * 60),  # GMT: London is UTC
        (datetime(2026, 7, 1, 22, 30, tzinfo=UTC), 30 * 60),  # BST: 23:30 in London
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), 47 * 30 * 60),  # 01:30 BST on the 25-hour day
    ],
)
def test_the_10000th_booking_of_a_london_day_is_refused_until_london_midnight(now, seconds_to_london_midnight):
    with pytest.raises(RateLimitExceeded) as refused:
        check_daily_capacity(DAILY_BOOKING_CAPACITY + 1, now)
    assert refused.value.retry_after_seconds == seconds_to_london_midnight
    assert refused.value.message == "We cannot take any more bookings today. Please try again after midnight (UK time)."
