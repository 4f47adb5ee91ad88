"""Slot holds (issue 14) through the real Envoy and both appointment-service processes."""
from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.e2e.helpers import a_customer, a_future_day, free_days, grpcurl, london, only_consultants
from tests.integration.booking_fixtures import (
    active_bookings,
    add_consultant,
    add_slot,
    booking_form,
    each_slot_has_at_most_one_booking_or_hold,
    live_holds,
)


@pytest.fixture
def consultant(mesh):
    return add_consultant(mesh.database_url)


@pytest.fixture
def slot(mesh, consultant):
    return add_slot(mesh.database_url, consultant, london(a_future_day(), 10))


def hold(http, mesh, slot_id, user):
    return http.post("/v1/appointments/holds", json={"slotId": str(slot_id)}, headers=mesh.auth(user))


def at_the_same_moment(mesh, requests: list[tuple[str, str, dict, str]]) -> list[int]:
    """Each (method, path, body, user) on its own connection, sent together after a barrier."""
    barrier = threading.Barrier(len(requests))

    def one(request) -> int:
        method, path, body, user = request
        with httpx.Client(base_url=mesh.url, timeout=60) as client:
            prepared = client.build_request(method, path, json=body, headers=mesh.auth(user))
            barrier.wait()
            return client.send(prepared).status_code

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(one, requests))


def test_a_hold_answers_201_with_its_id_slot_and_end(mesh, http, slot):
    before = datetime.now(timezone.utc)
    response = hold(http, mesh, slot, a_customer())
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"holdId", "slotId", "expiresAt"} and body["slotId"] == str(slot)
    uuid.UUID(body["holdId"])
    ends = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00"))
    assert before + timedelta(seconds=295) < ends < datetime.now(timezone.utc) + timedelta(seconds=305)


def test_fifty_customers_holding_one_slot_give_one_201_and_forty_nine_409s(mesh, slot):
    statuses = at_the_same_moment(mesh, [("POST", "/v1/appointments/holds", {"slotId": str(slot)}, f"holder-{i}-{uuid.uuid4().hex[:6]}") for i in range(50)])
    assert statuses.count(201) == 1 and statuses.count(409) == 49
    assert live_holds(mesh.database_url, slot) == 1 and each_slot_has_at_most_one_booking_or_hold(mesh.database_url)


def test_a_hold_racing_someone_elses_booking_has_exactly_one_winner(mesh, consultant):
    day = free_days()
    for hour in range(9, 14):
        slot = add_slot(mesh.database_url, consultant, london(day, hour))
        statuses = at_the_same_moment(mesh, [
            ("POST", "/v1/appointments/holds", {"slotId": str(slot)}, a_customer()),
            ("POST", "/v1/appointments", booking_form(slot), a_customer()),
        ])  # fmt: skip
        assert sorted(statuses) == [201, 409], statuses
        assert active_bookings(mesh.database_url, slot) + live_holds(mesh.database_url, slot) == 1
    assert each_slot_has_at_most_one_booking_or_hold(mesh.database_url)


def ending_in(mesh, hold_id: str, milliseconds: int) -> None:
    """The injected fault: the hold's stored end moves to `milliseconds` from now (the database's
    clock, which decides), as if the customer had been filling in the form for five minutes."""
    import psycopg

    with psycopg.connect(mesh.database_url, autocommit=True) as connection:
        connection.execute(
            "UPDATE slot_holds SET expires_at = clock_timestamp() + make_interval(secs => %s) WHERE id = %s",
            (milliseconds / 1000, hold_id),
        )


@pytest.mark.parametrize("milliseconds", [0, 15, 40, 80, 150])
def test_a_hold_ending_while_its_holder_books_gives_one_booking_or_a_clear_409_never_two(mesh, http, consultant, milliseconds):
    slot = add_slot(mesh.database_url, consultant, london(free_days(), 9 + milliseconds % 9))
    alice, bob = a_customer(), a_customer()
    held = hold(http, mesh, slot, alice).json()
    ending_in(mesh, held["holdId"], milliseconds)
    statuses = at_the_same_moment(mesh, [
        ("POST", "/v1/appointments", booking_form(slot, holdId=held["holdId"]), alice),
        ("POST", "/v1/appointments", booking_form(slot), bob),
    ])  # fmt: skip
    # Inside the window the holder wins; past it the hold is over (409 for a booking naming it) and
    # the slot is anyone's; bob may also come first while it still holds. Never two bookings.
    assert set(statuses) <= {201, 409} and statuses.count(201) <= 1, statuses
    assert active_bookings(mesh.database_url, slot) == statuses.count(201)
    assert each_slot_has_at_most_one_booking_or_hold(mesh.database_url)


def test_the_holder_books_with_the_hold_and_someone_else_gets_409(mesh, http, slot):
    alice = a_customer()
    held = hold(http, mesh, slot, alice).json()
    rival = http.post("/v1/appointments", json=booking_form(slot), headers=mesh.auth(a_customer()))
    assert rival.status_code == 409 and rival.json()["code"] == "SLOT_UNAVAILABLE"
    booked = http.post("/v1/appointments", json=booking_form(slot, holdId=held["holdId"]), headers=mesh.auth(alice))
    assert booked.status_code == 201, booked.text
    assert active_bookings(mesh.database_url, slot) == 1 and live_holds(mesh.database_url, slot) == 0


def test_the_grid_hides_a_held_slot_and_shows_it_again_after_release(mesh, http, consultant):
    day = free_days()
    slot = add_slot(mesh.database_url, consultant, london(day, 11))
    alice = a_customer()

    def shown() -> bool:
        grid = http.get("/v1/appointments/availability", params={"type": "SHOWROOM_VISIT", "date": day.isoformat()})
        return str(slot) in [s["slotId"] for s in only_consultants(grid.json()["slots"], consultant)]

    assert shown()
    held = hold(http, mesh, slot, alice).json()
    assert not shown()
    released = http.delete(f"/v1/appointments/holds/{held['holdId']}", headers=mesh.auth(alice))
    assert released.status_code == 200 and released.json() == {"holdId": held["holdId"], "slotId": str(slot)}
    assert shown()


def test_a_new_hold_lets_go_of_the_customers_previous_one(mesh, http, consultant):
    day = a_future_day()
    first, second = (add_slot(mesh.database_url, consultant, london(day, h)) for h in (9, 10))
    alice = a_customer()
    assert hold(http, mesh, first, alice).status_code == 201
    assert hold(http, mesh, second, alice).status_code == 201
    assert (live_holds(mesh.database_url, first), live_holds(mesh.database_url, second)) == (0, 1)
    assert hold(http, mesh, first, a_customer()).status_code == 201


# One case per error code of the new calls.


def test_holding_without_a_token_is_401(http, slot):
    response = http.post("/v1/appointments/holds", json={"slotId": str(slot)})
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"


def test_releasing_without_a_token_is_401(http):
    response = http.delete(f"/v1/appointments/holds/{uuid.uuid4()}")
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"


def test_a_malformed_slot_id_is_400(mesh, http):
    response = http.post("/v1/appointments/holds", json={"slotId": "nope"}, headers=mesh.auth(a_customer()))
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR" and [f["field"] for f in response.json()["fields"]] == ["slotId"]


def test_a_malformed_hold_id_in_a_booking_is_400(mesh, http, slot):
    response = http.post("/v1/appointments", json=booking_form(slot, holdId="nope"), headers=mesh.auth(a_customer()))
    assert response.status_code == 400 and "holdId" in [f["field"] for f in response.json()["fields"]]


def test_holding_an_unknown_slot_is_404(mesh, http):
    response = hold(http, mesh, uuid.uuid4(), a_customer())
    assert response.status_code == 404 and response.json()["code"] == "SLOT_NOT_FOUND"


def test_releasing_an_unknown_hold_is_404(mesh, http):
    response = http.delete(f"/v1/appointments/holds/{uuid.uuid4()}", headers=mesh.auth(a_customer()))
    assert response.status_code == 404 and response.json()["code"] == "HOLD_NOT_FOUND"


def test_releasing_someone_elses_hold_is_403_and_keeps_it(mesh, http, slot):
    held = hold(http, mesh, slot, a_customer()).json()
    response = http.delete(f"/v1/appointments/holds/{held['holdId']}", headers=mesh.auth(a_customer()))
    assert response.status_code == 403 and response.json()["code"] == "FORBIDDEN"
    assert live_holds(mesh.database_url, slot) == 1


def test_holding_a_booked_slot_is_409(mesh, http, slot):
    assert http.post("/v1/appointments", json=booking_form(slot), headers=mesh.auth(a_customer())).status_code == 201
    response = hold(http, mesh, slot, a_customer())
    assert response.status_code == 409 and response.json()["code"] == "SLOT_UNAVAILABLE"


def test_holding_a_slot_that_has_started_is_422(mesh, http, consultant):
    started = add_slot(mesh.database_url, consultant, datetime.now(timezone.utc) - timedelta(minutes=5))
    response = hold(http, mesh, started, a_customer())
    assert response.status_code == 422 and response.json()["code"] == "SLOT_IN_PAST"


def test_grpcurl_holds_and_releases_on_the_service_port(mesh, slot):
    header = f"authorization: Bearer {mesh.token('grpc-holder')}"
    made = grpcurl(
        "-plaintext", "-H", header, "-d", json.dumps({"slot_id": str(slot)}),
        mesh.appointment[0].url, "booking.v1.AppointmentService/CreateSlotHold",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    hold_id = json.loads(made.stdout)["hold_id"]
    released = grpcurl(
        "-plaintext", "-H", header, "-d", json.dumps({"hold_id": hold_id}),
        mesh.appointment[1].url, "booking.v1.AppointmentService/ReleaseSlotHold",
    )  # fmt: skip
    assert released.returncode == 0, released.stderr
    assert live_holds(mesh.database_url, slot) == 0


def test_staff_see_a_held_slot_as_held_in_the_days_slots(mesh, http, staff, consultant):
    day = free_days()
    slot = add_slot(mesh.database_url, consultant, london(day, 16))

    def state() -> str:
        listed = http.get("/v1/admin/slots", params={"date": day.isoformat(), "consultantId": str(consultant)}, headers=staff)
        assert listed.status_code == 200, listed.text
        return next(s["state"] for s in listed.json()["slots"] if s["slotId"] == str(slot))

    assert state() == "FREE"
    holder = a_customer()
    held = hold(http, mesh, slot, holder).json()
    assert state() == "HELD"
    assert http.delete(f"/v1/appointments/holds/{held['holdId']}", headers=mesh.auth(holder)).status_code == 200
    assert state() == "FREE"
