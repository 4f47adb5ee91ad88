"""Runs after the booking and email flows: what the mesh logged holds no personal data or token."""
from __future__ import annotations

import uuid

from tests.e2e.helpers import a_customer, a_future_day, london
from tests.integration.booking_fixtures import add_consultant, add_slot, booking_form

PERSONAL = ["jane.doe@example.com", "07700900123", "07700 900123", "Downing Street", "SW1A 1AA", "Bearer ", "eyJ"]


def test_service_and_gateway_logs_hold_no_personal_data_or_tokens(mesh, http):
    email = f"private.{uuid.uuid4().hex[:8]}@example.com"
    slot = add_slot(mesh.database_url, add_consultant(mesh.database_url), london(a_future_day(), 10))
    booking = http.post("/v1/appointments", json=booking_form(slot, email=email), headers=mesh.auth(a_customer())).json()
    http.post("/v1/appointments", json=booking_form(slot, email=email), headers=mesh.auth(a_customer()))  # an error path too

    def logs() -> str:
        return "".join(p.read_text(errors="replace") for p in (mesh.home / "logs").glob("*.log"))

    # The booking is in the logs by its id (so these are the right, live files) ...
    assert booking["bookingId"] in logs()
    # ... and none of the customer's details or the bearer tokens are.
    assert [needle for needle in [*PERSONAL, email] if needle in logs()] == []
