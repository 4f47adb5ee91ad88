"""The demo seed's day plan: one row per appointment type, in parts of the day that never overlap."""
from __future__ import annotations

import itertools

from appointment_svc.domain.model import AppointmentType, Category
from appointment_svc.seed import DAY_PLAN, DEMO_CONSULTANTS


def test_every_appointment_type_has_its_own_part_of_the_day():
    assert set(DAY_PLAN) == set(AppointmentType)
    windows = sorted((pattern.day_start, pattern.day_end) for pattern in DAY_PLAN.values())
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(windows))


def test_every_category_has_a_demo_designer():
    assert {category for _, categories in DEMO_CONSULTANTS for category in categories} == set(Category)
