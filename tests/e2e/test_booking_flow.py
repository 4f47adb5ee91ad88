"""Spec sections 2, 3 and 5 through the real Envoy, two appointment-service processes and PostgreSQL."""
from __future__ import annotations

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import grpc
import httpx
import pytest

from appointment_svc.domain.model import london_date
from mesh_common.auth import Role
from tests.e2e.helpers import a_customer, a_future_day, london, slot_problems
from tests.integration.booking_fixtures import (
    active_bookings,
    add_consultant,
    add_slot,
    booking_form,
    reference_counter,
    set_reference_counter,
)
from tests.polling import wait_for

REFERENCE = re.compile(r"^BK-\d{8}-\d{4}$")


@pytest.fixture
def slot(mesh):
    return add_slot(mesh.database_url, add_consultant(mesh.database_url), london(a_future_day(), 10))


def book(http, mesh, slot_id, user=None, **overrides):
    """Book as `user`, or as a new customer (each may hold only a few upcoming bookings)."""
    return http.post("/v1/appointments", json=booking_form(slot_id, **overrides), headers=mesh.auth(user or a_customer()))


def race(mesh, slot_id, racers: int) -> list[int]:
    """`racers` customers press Book at the same moment, each on their own connection."""
    barrier = threading.Barrier(racers)

    def one(i: int) -> int:
        with httpx.Client(base_url=mesh.url, timeout=60) as client:
            request = client.build_request("POST", "/v1/appointments", json=booking_form(slot_id), headers=mesh.auth(f"racer-{i}"))
            barrier.wait()
            return client.send(request).status_code

    with ThreadPoolExecutor(racers) as pool:
        return list(pool.map(one, range(racers)))


def test_booking_a_free_slot_answers_201_with_a_reference(mesh, http, slot):
    response = book(http, mesh, slot)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "PENDING" and REFERENCE.match(body["referenceCode"])
    uuid.UUID(body["bookingId"])
    assert active_bookings(mesh.database_url, slot) == 1


def test_fifty_simultaneous_requests_for_one_slot_give_one_201_and_only_409s(mesh, slot):
    statuses = race(mesh, slot, 50)
    assert statuses.count(201) == 1
    assert set(statuses) == {201, 409}
    assert active_bookings(mesh.database_url, slot) == 1


def test_the_loser_of_a_race_gets_the_spec_message(mesh, http, slot):
    assert book(http, mesh, slot).status_code == 201
    response = book(http, mesh, slot, user=a_customer())
    assert response.status_code == 409
    assert response.json() == {"code": "SLOT_UNAVAILABLE", "message": "This slot was just booked. Please choose another."}


def test_with_redis_stopped_bookings_stay_correct(mesh, backing, slot):
    backing["valkey"].stop()
    try:
        statuses = race(mesh, slot, 20)
    finally:
        backing["valkey"].start()
    assert statuses.count(201) == 1 and set(statuses) == {201, 409}
    assert active_bookings(mesh.database_url, slot) == 1
    logs = "".join(p.log_path.read_text() for p in mesh.appointment).splitlines()
    assert any("booking guarded by PostgreSQL only" in line and str(slot) in line for line in logs)


def redis_circuit_open(service) -> bool:
    """Whether the replica's Redis breaker last logged that it opened (and not yet that it closed)."""
    said = [line for line in service.log_path.read_text().splitlines() if '"redis circuit ' in line]
    return bool(said) and '"redis circuit open' in said[-1]


def every_replica_uses_valkey(mesh) -> None:
    """A fault test before this one (Valkey stopped) can leave a replica's Redis circuit open for its
    cooldown, and bookings then skip the slot lock altogether. Ask each such replica directly until a
    call let through the breaker closes it."""
    from booking.v1 import appointment_service_pb2, appointment_service_pb2_grpc, resources_pb2

    grid = appointment_service_pb2.ListAvailableSlotsRequest(type=resources_pb2.SHOWROOM_VISIT, date=a_future_day().isoformat())

    def close_the_circuit(service) -> None:
        with grpc.insecure_channel(service.url) as channel:
            stub = appointment_service_pb2_grpc.AppointmentServiceStub(channel)

            def circuit_closed() -> bool:
                if redis_circuit_open(service):
                    stub.ListAvailableSlots(grid, timeout=5)  # the availability cache goes through the breaker
                return not redis_circuit_open(service)

            wait_for(circuit_closed, timeout=30, what=f"{service.name}'s Redis circuit to close")

    for service in mesh.appointment:
        close_the_circuit(service)


def a_crashed_replicas_lock(mesh, slot_id) -> str:
    """The lock a replica SIGKILLed mid-booking leaves in Valkey (its append-only file keeps it)."""
    from redis import Redis

    every_replica_uses_valkey(mesh)
    key = f"slot:lock:{slot_id}"
    with Redis.from_url(mesh.env["REDIS_URL"]) as redis:
        redis.set(key, "token-of-a-sigkilled-replica", ex=30)
    return key


def test_a_free_slot_still_locked_by_a_crashed_replica_is_booked_and_the_stale_lock_removed(mesh, http, slot):
    from redis import Redis

    key = a_crashed_replicas_lock(mesh, slot)
    assert book(http, mesh, slot).status_code == 201
    with Redis.from_url(mesh.env["REDIS_URL"]) as redis:
        assert not redis.exists(key)
    assert active_bookings(mesh.database_url, slot) == 1


def test_thirty_racers_for_a_slot_with_a_stale_lock_give_exactly_one_201(mesh, slot):
    a_crashed_replicas_lock(mesh, slot)
    statuses = race(mesh, slot, 30)
    assert statuses.count(201) == 1 and set(statuses) == {201, 409}, statuses
    assert active_bookings(mesh.database_url, slot) == 1


def test_after_9999_bookings_in_a_london_day_the_next_is_429_until_midnight_and_books_nothing(mesh, http, slot):
    today = london_date(datetime.now(timezone.utc))
    before = reference_counter(mesh.database_url, today)
    set_reference_counter(mesh.database_url, today, 9999)
    try:
        response = book(http, mesh, slot)
        left = reference_counter(mesh.database_url, today)
    finally:
        # The mesh's database is shared by the session's tests: give the day its numbers back.
        set_reference_counter(mesh.database_url, today, before)
    assert response.status_code == 429, response.text
    assert response.json() == {
        "code": "RATE_LIMIT_EXCEEDED",
        "message": "We cannot take any more bookings today. Please try again after midnight (UK time).",
    }
    assert 0 < int(response.headers["retry-after"]) <= 25 * 3600
    assert left == 9999 and active_bookings(mesh.database_url, slot) == 0


def test_with_postgres_stopped_a_booking_is_503_and_nothing_is_half_written(mesh, backing, http, slot):
    backing["postgres"].stop()
    try:
        response = book(http, mesh, slot)
    finally:
        backing["postgres"].start()
    assert response.status_code == 503
    assert response.json()["code"] == "UNAVAILABLE"
    assert active_bookings(mesh.database_url, slot) == 0
    assert book(http, mesh, slot).status_code == 201


def test_bad_booking_forms_are_400_with_the_offending_fields(mesh, http, slot):
    # One case of the class; the other forms are unit tests in tests/unit/test_request_conversion.py.
    response = book(http, mesh, slot, firstName="", email="not-an-email")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert {"firstName", "email"} <= {f["field"] for f in body["fields"]}
    assert active_bookings(mesh.database_url, slot) == 0


def test_an_unknown_slot_is_404(mesh, http):
    response = book(http, mesh, uuid.uuid4())
    assert response.status_code == 404 and response.json()["code"] == "SLOT_NOT_FOUND"


def test_a_slot_in_the_past_is_422(mesh, http):
    from datetime import datetime, timedelta, timezone

    past = add_slot(mesh.database_url, add_consultant(mesh.database_url), datetime.now(timezone.utc) - timedelta(hours=1))
    response = book(http, mesh, past)
    assert response.status_code == 422 and response.json()["code"] == "SLOT_IN_PAST"


def test_a_blocked_slot_is_409(mesh, http):
    blocked = add_slot(mesh.database_url, add_consultant(mesh.database_url), london(a_future_day(), 10), blocked=True)
    response = book(http, mesh, blocked)
    assert response.status_code == 409
    assert response.json() == {"code": "SLOT_UNAVAILABLE", "message": "This slot is no longer available. Please choose another."}


def test_a_cancel_reason_over_500_characters_is_refused_not_cut(mesh, http, slot):
    customer = a_customer()
    booking = book(http, mesh, slot, user=customer).json()
    response = http.patch(f"/v1/appointments/{booking['bookingId']}/cancel", json={"reason": "x" * 501}, headers=mesh.auth(customer))
    assert response.status_code == 400 and response.json()["fields"][0]["field"] == "reason"
    assert active_bookings(mesh.database_url, slot) == 1


def test_a_retried_request_id_returns_the_first_booking(mesh, http, slot):
    customer = a_customer()
    first = book(http, mesh, slot, user=customer, requestId="retry-me")
    again = book(http, mesh, slot, user=customer, requestId="retry-me")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert active_bookings(mesh.database_url, slot) == 1


def test_a_request_id_reused_with_another_body_is_rejected(mesh, http, slot):
    customer = a_customer()
    assert book(http, mesh, slot, user=customer, requestId="once").status_code == 201
    response = book(http, mesh, slot, user=customer, requestId="once", firstName="Other")
    assert response.status_code == 409 and response.json()["code"] == "REQUEST_ID_CONFLICT"


def test_booking_needs_a_token(mesh, http, slot):
    response = http.post("/v1/appointments", json=booking_form(slot))
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"


def test_a_forged_identity_header_changes_nothing(mesh, http, slot):
    customer = a_customer()
    booking = book(http, mesh, slot, user=customer).json()
    response = http.patch(
        f"/v1/appointments/{booking['bookingId']}/cancel",
        json={"reason": "forged"},
        headers={**mesh.auth("mallory"), "X-User-Id": customer},
    )
    assert response.status_code == 403 and response.json()["code"] == "FORBIDDEN"


def test_cancelling_frees_the_slot_and_the_outbox_has_both_events(mesh, http, slot):
    customer = a_customer()
    booking = book(http, mesh, slot, user=customer).json()
    response = http.patch(f"/v1/appointments/{booking['bookingId']}/cancel", json={"reason": "moving house"}, headers=mesh.auth(customer))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "CANCELLED" and body["cancelReason"] == "moving house" and body["cancelledAt"]
    assert book(http, mesh, slot, user=a_customer()).status_code == 201


def test_cancelling_twice_is_409_and_unknown_is_404(mesh, http, slot):
    customer = a_customer()
    booking = book(http, mesh, slot, user=customer).json()
    url = f"/v1/appointments/{booking['bookingId']}/cancel"
    assert http.patch(url, json={}, headers=mesh.auth(customer)).status_code == 200
    again = http.patch(url, json={}, headers=mesh.auth(customer))
    assert again.status_code == 409 and again.json()["code"] == "BOOKING_ALREADY_CANCELLED"
    missing = http.patch(f"/v1/appointments/{uuid.uuid4()}/cancel", json={}, headers=mesh.auth(customer))
    assert missing.status_code == 404 and missing.json()["code"] == "BOOKING_NOT_FOUND"


def test_a_customer_reads_their_own_bookings_and_an_admin_reads_any(mesh, http, slot):
    user = f"reader-{uuid.uuid4().hex[:6]}"
    booking = book(http, mesh, slot, user=user).json()
    mine = http.get(f"/v1/appointments/{booking['bookingId']}", headers=mesh.auth(user))
    assert mine.status_code == 200 and mine.json()["appointment"]["referenceCode"] == booking["referenceCode"]
    listed = http.get("/v1/appointments", headers=mesh.auth(user)).json()
    assert [a["bookingId"] for a in listed["data"]] == [booking["bookingId"]] and listed["total"] == 1
    assert http.get(f"/v1/appointments/{booking['bookingId']}", headers=mesh.auth("someone-else")).status_code == 403
    assert http.get(f"/v1/appointments/{booking['bookingId']}", headers=mesh.auth("staff", Role.ADMIN)).status_code == 200


def consistency_problems(database_url: str) -> list[str]:
    """The invariants that must survive any fault: slot flag ⇔ one booking holding it, booking ⇒ its event.

    Every booking but a cancelled one holds its slot: a COMPLETED or NO_SHOW appointment's time stays taken.
    """
    import psycopg

    with psycopg.connect(database_url) as connection:
        problems = slot_problems(connection)
        booked = {str(r[0]) for r in connection.execute("SELECT id FROM bookings")}
        # By the row's owner, not its payload: an erased booking's payloads are blanked (issue 15).
        announced = {str(r[0]) for r in connection.execute("SELECT owner_id FROM outbox WHERE subject = 'booking.created'")}
    problems += [f"booking {b} has no booking.created event" for b in booked - announced]
    return problems


def test_stopping_postgres_during_a_burst_leaves_no_half_written_booking(mesh, backing):
    consultant = add_consultant(mesh.database_url)
    day = a_future_day()
    slots = [add_slot(mesh.database_url, consultant, london(day, 0) + i * timedelta(hours=1)) for i in range(24)]
    stopped = threading.Event()
    first_bookings_done = threading.Barrier(5)

    def customer(i: int) -> list[int]:
        statuses = []
        with httpx.Client(base_url=mesh.url, timeout=60) as client:
            for slot_id in slots[i::4]:
                statuses.append(client.post("/v1/appointments", json=booking_form(slot_id), headers=mesh.auth(f"burst-{i}")).status_code)
                if len(statuses) == 2:
                    first_bookings_done.wait(60)
                    stopped.wait(60)
        return statuses

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(customer, i) for i in range(4)]
        try:
            # Let the first bookings land, then pull PostgreSQL out from under the rest.
            first_bookings_done.wait(60)
            backing["postgres"].stop()
        finally:
            stopped.set()
        statuses = [s for f in futures for s in f.result()]
    backing["postgres"].start()

    assert set(statuses) <= {201, 503}, statuses
    assert 201 in statuses and 503 in statuses
    assert consistency_problems(mesh.database_url) == []


def test_no_slot_lock_is_left_behind_and_the_invariants_hold(mesh, http, slot):
    from redis import Redis

    redis = Redis.from_url(mesh.env["REDIS_URL"])
    try:
        assert book(http, mesh, slot).status_code == 201
        assert not redis.exists(f"slot:lock:{slot}")
        # Whatever the fault tests before this did, no lock can outlive its lease.
        assert all(0 < redis.ttl(key) <= 30 for key in redis.scan_iter("slot:lock:*"))
    finally:
        redis.close()
    assert consistency_problems(mesh.database_url) == []


def test_a_cancel_racing_rebooks_through_the_gateway_leaves_at_most_one_active_booking(mesh, slot):
    booking = httpx.post(f"{mesh.url}/v1/appointments", json=booking_form(slot), headers=mesh.auth("owner"), timeout=30).json()
    barrier = threading.Barrier(21)

    def cancel() -> int:
        with httpx.Client(base_url=mesh.url, timeout=60) as client:
            request = client.build_request("PATCH", f"/v1/appointments/{booking['bookingId']}/cancel", json={}, headers=mesh.auth("owner"))
            barrier.wait()
            return client.send(request).status_code

    def rebook(i: int) -> int:
        with httpx.Client(base_url=mesh.url, timeout=60) as client:
            request = client.build_request("POST", "/v1/appointments", json=booking_form(slot), headers=mesh.auth(f"rebooker-{i}"))
            barrier.wait()
            return client.send(request).status_code

    with ThreadPoolExecutor(21) as pool:
        cancelled = pool.submit(cancel)
        rebooks = [f.result() for f in [pool.submit(rebook, i) for i in range(20)]]
    assert cancelled.result() == 200
    assert set(rebooks) <= {201, 409} and rebooks.count(201) <= 1
    assert active_bookings(mesh.database_url, slot) == rebooks.count(201)
    assert consistency_problems(mesh.database_url) == []


def test_concurrent_retries_of_one_idempotent_create_make_one_booking(mesh, slot):
    barrier = threading.Barrier(10)

    def retry(_: int) -> httpx.Response:
        with httpx.Client(base_url=mesh.url, timeout=60) as client:
            request = client.build_request(
                "POST", "/v1/appointments", json=booking_form(slot, requestId="flaky-network"), headers=mesh.auth("retrier")
            )
            barrier.wait()
            return client.send(request)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(retry, range(10)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["bookingId"] for a in answers}) == 1
    assert active_bookings(mesh.database_url, slot) == 1


@pytest.fixture(scope="module")
def patient_gateway(mesh):
    """One more appointment service whose RPC deadline (10 s) is longer than a test holds a slot's row,
    so its requests wait for the row instead of giving up (and whose Redis breaker is surely closed)."""
    from booking_mesh.embedded.envoy import EnvoyGateway
    from booking_mesh.services import AppointmentService

    service = AppointmentService(mesh.home / "run", {**mesh.env, "RPC_DEADLINE_SECONDS": "10"}, log_dir=mesh.home / "logs", name="appointment_svc_patient")
    service.start()
    gateway = EnvoyGateway(mesh.home / "gateway-patient", upstreams=[("127.0.0.1", service.port)], jwks_path=mesh.home / "keys" / "jwks.json")
    gateway.start()
    yield gateway.url
    gateway.stop()
    service.stop()


def test_a_lease_that_expires_mid_transaction_still_gives_one_booking(mesh, patient_gateway, slot):
    import psycopg
    from redis import Redis

    def racer() -> int:
        # Each its own mailbox, so every lock holder waits for the slot row, not for another's email lock.
        form = booking_form(slot, email=f"lease-{uuid.uuid4().hex[:12]}@example.com")
        with httpx.Client(base_url=patient_gateway, timeout=60) as client:
            return client.post("/v1/appointments", json=form, headers=mesh.auth(a_customer())).status_code

    def waiting_for_a_lock(watcher) -> int:
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        return watcher.execute(query).fetchone()[0]

    with (
        ThreadPoolExecutor(5) as pool,
        psycopg.connect(mesh.database_url) as blocker,
        psycopg.connect(mesh.database_url, autocommit=True) as watcher,
        Redis.from_url(mesh.env["REDIS_URL"]) as redis,
    ):
        # Hold the slot row; while each lock holder waits for it, its lease expires and the next racer takes one.
        blocker.execute("SELECT 1 FROM time_slots WHERE id = %s FOR UPDATE", (slot,))
        futures = []
        for _ in range(5):
            futures.append(pool.submit(racer))
            wait_for(lambda: waiting_for_a_lock(watcher) >= len(futures), timeout=30, what=f"{len(futures)} bookings waiting")
            assert redis.delete(f"slot:lock:{slot}") == 1  # the injected fault: the holder's lease expires
        blocker.rollback()
        statuses = [f.result() for f in futures]
    assert statuses.count(201) == 1 and set(statuses) == {201, 409}
    assert active_bookings(mesh.database_url, slot) == 1


def test_a_customer_list_with_page_zero_is_a_validation_error(mesh, http):
    response = http.get("/v1/appointments", params={"page": 0}, headers=mesh.auth(a_customer()))
    assert response.status_code == 400 and response.json()["fields"][0]["field"] == "page"
