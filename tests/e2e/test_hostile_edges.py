"""Hostile input through the real mesh (issue 9): the services behind Envoy never answer it with a 5xx,
a 429 or a lenient guess, and the gateway and the services apply one token rule."""
from __future__ import annotations

import time
import uuid

import grpc
import jwt
import pytest

from mesh_common.auth import CLOCK_SKEW_SECONDS, Role
from tests.e2e.helpers import a_future_day, london
from tests.integration.booking_fixtures import add_consultant, add_slot, booking_form


@pytest.fixture(scope="module")
def admin_headers(mesh) -> dict[str, str]:
    return mesh.auth("staff-1", Role.ADMIN)


def assert_validation_error(response, fields: list[str] | None = None) -> dict:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and body["message"]
    if fields is not None:
        assert [f["field"] for f in body["fields"]] == fields
    return body


# ------------------------------------------------------------------------------- no 5xx for bad input


def test_invalid_utf8_in_a_path_or_query_is_400_not_500(http, admin_headers):
    # The gateway refuses it; tests/integration/edge/test_hostile.py tries every place such bytes can
    # be (path, query value and name, public and admin routes).
    response = http.post("/v1/admin/slots/%ff/block", headers=admin_headers, json={})

    assert_validation_error(response)


def test_large_request_headers_reach_the_service_instead_of_a_429(http):
    # gRPC's default 8 KB metadata limit turned these into RESOURCE_EXHAUSTED (a 429). The largest size
    # the gateway lets through; smaller ones and the 400 above it are tests/integration/edge/test_hostile.py.
    response = http.get("/v1/appointments/availability", params={"type": "SHOWROOM_VISIT", "date": a_future_day().isoformat()},
                        headers={"x-padding": "a" * 30_000})  # fmt: skip

    assert response.status_code == 200, response.text


def test_invalid_utf8_on_the_grpc_port_is_invalid_argument_without_a_traceback(mesh):
    # A string field (1: date) whose bytes are not UTF-8, sent as raw protobuf.
    request = bytes([0x12, 0x02, 0xFF, 0xFE])
    with grpc.insecure_channel(mesh.appointment[0].url) as channel:
        method = channel.unary_unary("/booking.v1.AppointmentService/ListAvailableSlots")
        with pytest.raises(grpc.RpcError) as raised:
            method(request, timeout=10)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    logs = "".join(p.read_text(errors="replace") for p in (mesh.home / "logs").glob("appointment_svc*.log"))
    assert "Traceback" not in logs and "DecodeError" not in logs


# ------------------------------------------------------------------------------- strict JSON


def test_a_lenient_booking_body_is_400_and_books_nothing(mesh, http):
    # One case of the class; the gateway's strict JSON (wrong types, unknown fields, duplicate keys...)
    # is tests/integration/edge/test_hostile.py.
    slot = add_slot(mesh.database_url, add_consultant(mesh.database_url), london(a_future_day(), 11))

    customer = f"lenient-{uuid.uuid4().hex[:8]}"  # a customer may hold only a few bookings
    response = http.post("/v1/appointments", json=booking_form(slot, isAdmin=True), headers=mesh.auth(customer))

    assert_validation_error(response, ["isAdmin"])
    # The slot is still free: nothing was booked on a guess.
    assert http.post("/v1/appointments", json=booking_form(slot), headers=mesh.auth(customer)).status_code == 201


# ------------------------------------------------------------------------------- one token rule


def _token(mesh, **changes) -> str:
    now = int(time.time())
    claims = {"sub": "staff-1", "role": "ADMIN", "iss": "booking-mesh", "aud": "booking-api", "iat": now - 900, "exp": now + 600}
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, mesh.keys.private_pem, algorithm="ES256", headers={"kid": mesh.keys.kid})


@pytest.mark.parametrize("path", ["/v1/appointments", "/v1/admin/appointments"])
def test_a_token_just_expired_within_the_clock_skew_works_on_customer_and_admin_routes_alike(mesh, http, path):
    token = _token(mesh, exp=int(time.time()) - 2)  # past, but well within the skew

    assert http.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize("path", ["/v1/appointments", "/v1/admin/appointments"])
def test_a_token_breaking_the_rule_is_401_on_customer_and_admin_routes_alike(mesh, http, path):
    # Expired beyond the skew stands for every way of breaking the rule: the gateway's refusal of each
    # is tests/integration/edge/test_hostile.py, the services' is tests/unit/test_token_rules.py.
    token = _token(mesh, exp=int(time.time()) - CLOCK_SKEW_SECONDS - 120)

    response = http.get(path, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"


# ------------------------------------------------------------------------------- canonical ids


def _spellings(value: uuid.UUID) -> list[str]:
    return [f"%7B{value}%7D", f"urn:uuid:{value}", value.hex]


def test_a_booking_id_in_another_spelling_is_400_not_the_booking(mesh, http):
    slot = add_slot(mesh.database_url, add_consultant(mesh.database_url), london(a_future_day(), 12))
    booking = http.post("/v1/appointments", json=booking_form(slot), headers=mesh.auth("carol")).json()
    booking_id = uuid.UUID(booking["bookingId"])

    assert http.get(f"/v1/appointments/{booking_id}", headers=mesh.auth("carol")).status_code == 200
    for spelling in _spellings(booking_id):
        assert_validation_error(http.get(f"/v1/appointments/{spelling}", headers=mesh.auth("carol")), ["bookingId"])
        assert_validation_error(http.get(f"/v1/admin/appointments/{spelling}", headers=mesh.auth("staff-1", Role.ADMIN)),
                                ["bookingId"])  # fmt: skip
    # Someone else's booking stays a 403, whatever they know of it.
    assert http.get(f"/v1/appointments/{booking_id}", headers=mesh.auth("mallory")).status_code == 403


def test_a_slot_or_consultant_id_in_another_spelling_is_400(mesh, http, admin_headers):
    consultant = add_consultant(mesh.database_url)
    slot = add_slot(mesh.database_url, consultant, london(a_future_day(), 13))

    for spelling in _spellings(slot):
        assert_validation_error(http.post(f"/v1/admin/slots/{spelling}/block", json={}, headers=admin_headers), ["slotId"])
    for spelling in [f"{{{consultant}}}", f"urn:uuid:{consultant}", consultant.hex]:
        response = http.post("/v1/admin/slots", headers=admin_headers, json={
            "consultantId": spelling, "type": "SHOWROOM_VISIT",
            "startsAt": london(a_future_day(), 9).isoformat().replace("+00:00", "Z"),
            "endsAt": london(a_future_day(), 10).isoformat().replace("+00:00", "Z"),
        })  # fmt: skip
        body = assert_validation_error(response)
        assert "consultantId" in [f["field"] for f in body["fields"]]
