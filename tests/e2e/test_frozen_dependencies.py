"""A dependency that hangs (a stopped process: TCP still accepts, nothing answers) costs a caller
seconds, not minutes: every RPC answers within its deadline, and readiness says what is wrong."""
from __future__ import annotations

import uuid

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from appointment_svc.entrypoints.server import LIVENESS
from tests.e2e.helpers import a_future_day, london
from tests.faults import frozen
from tests.integration.booking_fixtures import active_bookings, add_consultant, add_slot, booking_form
from tests.polling import wait_for

# Far below Envoy's 15 s route timeout, which is what a caller waited before: an answer slower than
# this means the deadline did not work. (The design bound is 2.4 s + 0.3 s; this is not a benchmark.)
HANG_BOUND_SECONDS = 8


def health_status(service, name: str = "") -> int:
    with grpc.insecure_channel(service.url) as channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status


def every_service_is(mesh, status: int) -> bool:
    return all(health_status(service) == status for service in mesh.appointment)


def test_with_postgres_frozen_calls_answer_503_in_seconds_and_readiness_follows_it(mesh, backing):
    day = a_future_day()
    slot = add_slot(mesh.database_url, add_consultant(mesh.database_url), london(day, 11))
    with httpx.Client(base_url=mesh.url, timeout=HANG_BOUND_SECONDS) as client:
        with frozen(backing["postgres"]):
            # Never asked before, so not in the cache: it needs the database.
            availability = client.get("/v1/appointments/availability", params={"type": "SHOWROOM_VISIT", "date": day.isoformat()})
            booking = client.post(
                "/v1/appointments", json=booking_form(slot, requestId=str(uuid.uuid4())), headers=mesh.auth(f"frozen-{uuid.uuid4()}")
            )
            wait_for(lambda: every_service_is(mesh, health_pb2.HealthCheckResponse.NOT_SERVING), timeout=30, what="NOT_SERVING")
            # Alive all the same: the cluster must not restart replicas for a database outage.
            assert {health_status(s, LIVENESS) for s in mesh.appointment} == {health_pb2.HealthCheckResponse.SERVING}
        for response in (availability, booking):
            assert response.status_code == 503 and response.json()["code"] == "UNAVAILABLE", response.text
        wait_for(lambda: every_service_is(mesh, health_pb2.HealthCheckResponse.SERVING), timeout=30, what="SERVING again")
        after = client.get("/v1/appointments/availability", params={"type": "SHOWROOM_VISIT", "date": day.isoformat()})
    assert after.status_code == 200
    # The booking cut off by the freeze either never happened or is whole: never half-written.
    assert active_bookings(mesh.database_url, slot) in (0, 1)


def test_with_redis_frozen_booking_and_availability_still_answer(mesh, backing):
    day = a_future_day()
    slot = add_slot(mesh.database_url, add_consultant(mesh.database_url), london(day, 12))
    with httpx.Client(base_url=mesh.url, timeout=HANG_BOUND_SECONDS) as client, frozen(backing["valkey"]):
        availability = client.get("/v1/appointments/availability", params={"type": "SHOWROOM_VISIT", "date": day.isoformat()})
        booking = client.post("/v1/appointments", json=booking_form(slot), headers=mesh.auth(f"redis-frozen-{uuid.uuid4()}"))
    assert availability.status_code == 200 and str(slot) in availability.text
    assert booking.status_code == 201, booking.text
    assert active_bookings(mesh.database_url, slot) == 1
