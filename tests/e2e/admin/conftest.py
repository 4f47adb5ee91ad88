"""A customer of the test's own and their mailbox (limits are per customer and per mailbox)."""
from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def customer() -> str:
    return f"customer-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def email(customer) -> str:
    return f"{customer}@example.com"
