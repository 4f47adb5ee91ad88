"""The REST contract at the edge: success shapes, the error table, CORS, a dead upstream, the access log."""
from __future__ import annotations

import json
import shutil
import subprocess
import uuid

import httpx
import pytest

from booking.v1 import appointment_service_pb2 as appt_pb2
from booking_mesh.embedded.envoy import EnvoyGateway
from mesh_common.auth import Role, issue_token
from mesh_common.errors import ERRORS
from tests.integration.edge.helpers import (
    ALLOWED_ORIGIN,
    AVAILABILITY,
    BOOKING_FORM,
    BROCHURE_FORM,
    DAY,
    RFC3339,
    assert_error,
    assert_no_grpc_headers,
    bearer,
    dead_port,
)
from tests.integration.gateway_fakes import (
    BOOKING_ID,
    CONSULTANT_ID,
    CRASH,
    SECRET_DETAIL,
    SLOT_ID,
    TRICKY_MESSAGE,
)
from tests.polling import wait_for

# ------------------------------------------------------------------------------- success shapes


def test_availability_is_public_and_shaped_by_the_contract(client, upstream):
    response = client.get(AVAILABILITY, params=DAY)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert_no_grpc_headers(response)
    body = response.json()
    assert set(body) == {"slots"}
    first = body["slots"][0]
    assert set(first) == {"slotId", "startsAt", "endsAt", "consultant"}
    assert RFC3339.match(first["startsAt"]) and RFC3339.match(first["endsAt"])
    assert first["consultant"] == {"name": "Ada Fitter", "avatarUrl": "https://example.test/ada.png"}
    (call,) = upstream.calls
    assert call.method == "ListAvailableSlots"
    assert call.request.type == appt_pb2.ListAvailableSlotsRequest(type="HOME_MEASUREMENT").type
    assert call.request.date == "2030-01-01"


def test_a_valid_token_on_a_public_route_is_accepted_and_forwarded(client, upstream, customer):
    assert client.get(AVAILABILITY, params=DAY, headers=bearer(customer)).status_code == 200
    assert upstream.calls[0].metadata["authorization"] == f"Bearer {customer}"


def test_resources_print_enum_names_and_default_fields(client, upstream, customer):
    response = client.get("/v1/appointments", headers=bearer(customer))

    assert response.status_code == 200
    appointment = response.json()["data"][0]
    assert appointment["status"] == "PENDING" and appointment["type"] == "HOME_MEASUREMENT"
    # always_print_primitive_fields: false and "" are present, not omitted
    assert appointment["forBedroom"] is False and appointment["phone"] == ""
    assert RFC3339.match(appointment["createdAt"])
    assert "booking_id" not in appointment and appointment["bookingId"] == BOOKING_ID


@pytest.mark.parametrize(
    ("path", "role", "body", "expected"),
    [
        ("/v1/appointments", Role.CUSTOMER, BOOKING_FORM, {"bookingId": BOOKING_ID, "referenceCode": "BK-20300101-0001", "status": "PENDING"}),
        ("/v1/brochures", None, BROCHURE_FORM, {"message": "Brochure on its way"}),
        ("/v1/admin/consultants", Role.ADMIN, {"name": "Ada", "categories": ["KITCHEN"]}, {"consultantId": CONSULTANT_ID}),
        ("/v1/admin/slots", Role.ADMIN,
         {"consultantId": CONSULTANT_ID, "type": "SHOWROOM_VISIT", "startsAt": "2030-01-01T10:00:00Z", "endsAt": "2030-01-01T11:00:00Z"},
         {"slotId": "0b7d9a52-5a0e-4f3a-8a8e-6c1f2e3d4b5a"}),
    ],
    ids=["appointment", "brochure", "consultant", "slot"],
)  # fmt: skip
def test_creates_answer_201(client, upstream, keys, path, role, body, expected):
    headers = bearer(issue_token(keys, "someone", role)) if role else {}

    response = client.post(path, json=body, headers=headers)

    assert response.status_code == 201, response.text
    assert response.json() == expected
    assert_no_grpc_headers(response)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/admin/slots:generate", {"consultantId": CONSULTANT_ID, "weekdays": [1, 2]}),
        ("POST", f"/v1/admin/appointments/{BOOKING_ID}/confirm", {}),
        ("POST", "/v1/admin/slots/abc/block", {}),
    ],
)
def test_other_admin_posts_answer_200(client, upstream, admin, method, path, body):
    response = client.request(method, path, json=body, headers=bearer(admin))
    assert response.status_code == 200, response.text


def test_cancel_is_a_patch_answering_200(client, upstream, customer):
    response = client.patch(f"/v1/appointments/{BOOKING_ID}/cancel", json={"reason": "moved house"}, headers=bearer(customer))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "CANCELLED" and body["cancelReason"] == "moved house"
    assert RFC3339.match(body["cancelledAt"])
    assert upstream.calls[0].request.booking_id == BOOKING_ID


def test_reschedule_is_a_custom_verb_post_answering_200_with_the_moved_booking(client, upstream, customer):
    path = f"/v1/appointments/{BOOKING_ID}:reschedule"
    response = client.post(path, json={"slotId": SLOT_ID}, headers=bearer(customer))

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["bookingId"], body["referenceCode"], body["status"], body["rescheduleCount"]) == (BOOKING_ID, "BK-20300101-0001", "PENDING", 1)
    assert RFC3339.match(body["slot"]["startsAt"]) and body["previousSlot"]["slotId"]
    (call,) = upstream.calls
    assert (call.request.booking_id, call.request.slot_id) == (BOOKING_ID, SLOT_ID)
    assert client.post(path, json={"slotId": SLOT_ID}).status_code == 401  # the route needs a token


@pytest.mark.parametrize("date", ["2030-01-01", "err:SLOT_IN_PAST"])
def test_http2_clients_get_no_grpc_headers_or_trailers_either(gateway, upstream, date):
    assert shutil.which("curl"), "this test needs curl as its HTTP/2 (h2c) client: apt-get install curl"
    result = subprocess.run(
        ["curl", "-sv", "--http2-prior-knowledge", f"{gateway.url}{AVAILABILITY}?type=HOME_MEASUREMENT&date={date}"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    received = [line.lower() for line in result.stderr.splitlines() if line.startswith("< ")]
    assert received[0].startswith("< http/2 ")
    assert not [line for line in received if line.startswith("< grpc-")]
    assert json.loads(result.stdout)


# ------------------------------------------------------------------------------- upstream errors


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_every_error_of_the_table_gets_its_status_and_body(client, upstream, code):
    response = client.get(AVAILABILITY, params={**DAY, "date": f"err:{code}"})

    body = assert_error(response, ERRORS[code].http_status, code)
    if code == "VALIDATION_ERROR":
        assert body["fields"] == [
            {"field": "firstName", "description": "is required"},
            {"field": "email", "description": '"x@" is not an email address'},
        ]
    elif code == "SLOT_UNAVAILABLE":
        assert body["message"] == TRICKY_MESSAGE  # quotes, backslash, newline, non-ASCII survive
    else:
        assert body["message"] == f"fake {code.lower().replace('_', ' ')}"


def test_rate_limited_answers_carry_retry_after(client, upstream):
    response = client.get(AVAILABILITY, params={**DAY, "date": "err:RATE_LIMIT_EXCEEDED"})

    assert_error(response, 429, "RATE_LIMIT_EXCEEDED")
    assert response.headers["retry-after"] == "30"


def test_slot_in_past_on_a_booking_is_422(client, upstream, customer):
    response = client.post("/v1/appointments", json={**BOOKING_FORM, "slotId": "err:SLOT_IN_PAST"}, headers=bearer(customer))
    assert_error(response, 422, "SLOT_IN_PAST")


def test_an_upstream_crash_is_500_without_its_details(client, upstream):
    response = client.get(AVAILABILITY, params={**DAY, "date": CRASH})

    body = assert_error(response, 500, "INTERNAL")
    assert SECRET_DETAIL not in response.text and "Exception" not in body["message"]


# ------------------------------------------------------------------------------- CORS


def test_cors_preflight_from_an_allowed_origin(client, upstream):
    response = client.options("/v1/appointments", headers={
        "Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})  # fmt: skip

    assert response.status_code in (200, 204)
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert upstream.methods_seen == []


def test_cors_preflight_from_another_origin_gets_no_allow_origin(client, upstream):
    response = client.options("/v1/appointments", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})

    assert "access-control-allow-origin" not in response.headers
    assert upstream.methods_seen == []


def test_cors_headers_on_actual_responses(client, upstream):
    allowed = client.get(AVAILABILITY, params=DAY, headers={"Origin": ALLOWED_ORIGIN})
    other = client.get(AVAILABILITY, params=DAY, headers={"Origin": "https://evil.example"})

    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "retry-after" in allowed.headers["access-control-expose-headers"]
    assert "access-control-allow-origin" not in other.headers


# ------------------------------------------------------------------------------- availability of the upstream


def test_a_dead_endpoint_is_skipped(client, upstream):
    # The gateway's second endpoint has never been up: every call still succeeds.
    assert [client.get(AVAILABILITY, params=DAY).status_code for _ in range(12)] == [200] * 12


def test_upstream_down_is_503_unavailable(jwks_path, tmp_path, customer):
    gw = EnvoyGateway(tmp_path / "down", upstreams=[("127.0.0.1", dead_port())], jwks_path=jwks_path)
    gw.start()
    try:
        with httpx.Client(base_url=gw.url, timeout=10) as c:
            public = c.get(AVAILABILITY, params=DAY)
            authed = c.post("/v1/appointments", json=BOOKING_FORM, headers=bearer(customer))
    finally:
        gw.stop()

    for response in (public, authed):
        body = assert_error(response, 503, "UNAVAILABLE")
        assert "Connection refused" not in body["message"]


# ------------------------------------------------------------------------------- access log


def test_access_log_is_json_without_tokens_bodies_or_queries(client, upstream, keys, admin, gateway_home):
    # The whole folder shares this gateway and its log: this test's lines are those of its own user.
    user = f"log-{uuid.uuid4().hex}"
    customer = issue_token(keys, user, Role.CUSTOMER)
    marker = f"marker-{uuid.uuid4().hex}@example.test"
    client.post("/v1/brochures", json={**BROCHURE_FORM, "email": marker}, headers=bearer(customer))
    client.get("/v1/admin/appointments", params={"email": marker}, headers=bearer(admin))
    client.get("/v1/admin/appointments", headers=bearer(customer))

    log_file = gateway_home / "access.log"

    def my_entries() -> list[dict] | None:
        lines = log_file.read_text().splitlines() if log_file.exists() else []
        entries = [entry for entry in map(json.loads, lines) if entry["user"] == user]
        paths = {(e["path"], e["status"]) for e in entries}
        return entries if {("/v1/admin/appointments", 403), ("/v1/brochures", 201)} <= paths else None

    entries = wait_for(my_entries, timeout=10, what=f"this test's lines in {log_file}")

    text = log_file.read_text()
    for secret in (customer, admin, customer.split(".")[1], "Bearer", marker, "email="):
        assert secret not in text
    brochure = next(e for e in entries if e["path"] == "/v1/brochures")
    assert brochure["method"] == "POST" and brochure["status"] == 201
    assert isinstance(brochure["duration_ms"], int)
    assert brochure["upstream"] == f"127.0.0.1:{upstream.port}"
