"""Fixtures over the in-memory adapters of tests/unit/fakes.py."""
from __future__ import annotations

import pytest

from tests.unit.fakes import FakeCache, FakeDatabase, FakeSlotLock


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def cache() -> FakeCache:
    return FakeCache()


@pytest.fixture
def lock() -> FakeSlotLock:
    return FakeSlotLock()
