"""How many appointment-service processes `booking-mesh up` runs."""
from __future__ import annotations

import os

import pytest

from booking_mesh.services import PROCESSES_ENV, service_processes


def test_one_process_per_core_by_default():
    assert service_processes({}) == (os.cpu_count() or 1)


def test_the_count_can_be_set():
    assert service_processes({PROCESSES_ENV: "3"}) == 3
    assert service_processes({PROCESSES_ENV: " 1 "}) == 1


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_count_that_is_not_a_positive_whole_number_is_refused(value):
    with pytest.raises(ValueError, match=PROCESSES_ENV):
        service_processes({PROCESSES_ENV: value})
