"""A caller that reaches the gRPC port directly gets exactly the gateway's authorisation answers."""
from __future__ import annotations

import json
import time
import uuid

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from booking.v1 import admin_service_pb2, admin_service_pb2_grpc, appointment_service_pb2, appointment_service_pb2_grpc
from mesh_common.auth import KeyPair, Role, issue_token
from tests.e2e.helpers import a_customer, a_future_day, an_email, grpcurl, london
from tests.integration.booking_fixtures import add_consultant, add_slot


@pytest.fixture(scope="module")
def channel(mesh):
    with grpc.insecure_channel(mesh.appointment[0].url) as channel:
        yield channel


def reason_of(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


def call(method, request, token: str | None = None, extra=()):
    metadata = [*([("authorization", f"Bearer {token}")] if token else []), *extra]
    with pytest.raises(grpc.RpcError) as raised:
        method(request, metadata=metadata, timeout=10)
    return raised.value.code(), reason_of(raised.value)


def book_request(slot_id) -> appointment_service_pb2.CreateAppointmentRequest:
    return appointment_service_pb2.CreateAppointmentRequest(
        type=2, for_kitchen=True, first_name="Jane", last_name="Doe", email=an_email(),
        phone="07700900123", postcode="SW1A 1AA", address="1 High St", slot_id=str(slot_id),
    )


def test_no_token_is_unauthenticated(channel):
    stub = appointment_service_pb2_grpc.AppointmentServiceStub(channel)
    assert call(stub.CreateAppointment, book_request(uuid.uuid4())) == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda keys: issue_token(keys, "alice", ttl_seconds=-60, now=time.time()), id="expired"),
        pytest.param(lambda keys: issue_token(KeyPair.generate(), "alice"), id="other-key"),
        pytest.param(lambda keys: issue_token(keys, "alice", audience="someone-else"), id="wrong-audience"),
        pytest.param(lambda keys: issue_token(keys, "alice", issuer="evil"), id="wrong-issuer"),
        pytest.param(lambda keys: "not.a.jwt", id="malformed"),
    ],
)
def test_bad_tokens_are_unauthenticated(mesh, channel, token):
    stub = appointment_service_pb2_grpc.AppointmentServiceStub(channel)
    assert call(stub.CreateAppointment, book_request(uuid.uuid4()), token(mesh.keys)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "UNAUTHENTICATED",
    )


def test_a_customer_token_cannot_call_admin_rpcs(mesh, channel):
    stub = admin_service_pb2_grpc.AdminServiceStub(channel)
    for method, request in [
        (stub.ListAppointments, admin_service_pb2.ListAppointmentsRequest()),
        (stub.CreateConsultant, admin_service_pb2.CreateConsultantRequest(name="X")),
        (stub.BlockSlot, admin_service_pb2.BlockSlotRequest(slot_id=str(uuid.uuid4()))),
    ]:
        assert call(method, request, mesh.token("alice")) == (grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN")


def test_admin_rpcs_need_a_token_at_all(channel):
    stub = admin_service_pb2_grpc.AdminServiceStub(channel)
    assert call(stub.ListAppointments, admin_service_pb2.ListAppointmentsRequest()) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "UNAUTHENTICATED",
    )


def test_identity_metadata_is_ignored(mesh, channel):
    stub = appointment_service_pb2_grpc.AppointmentServiceStub(channel)
    slot = add_slot(mesh.database_url, add_consultant(mesh.database_url), london(a_future_day(), 10))
    customer = a_customer()
    booking = stub.CreateAppointment(book_request(slot), metadata=[("authorization", f"Bearer {mesh.token(customer)}")])
    code, reason = call(
        stub.CancelAppointment,
        appointment_service_pb2.CancelAppointmentRequest(booking_id=booking.booking_id),
        mesh.token("mallory"),
        extra=[("x-user-id", customer), ("x-user-role", "ADMIN")],
    )
    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN")


def test_an_admin_role_claimed_in_metadata_does_not_make_an_admin(mesh, channel):
    stub = admin_service_pb2_grpc.AdminServiceStub(channel)
    assert call(
        stub.ListAppointments, admin_service_pb2.ListAppointmentsRequest(), mesh.token("alice"), extra=[("x-user-role", "ADMIN")]
    ) == (grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN")


def test_grpcurl_through_the_gateway_port_is_refused(mesh):
    port = mesh.url.rsplit(":", 1)[1]
    listing = grpcurl("-plaintext", f"127.0.0.1:{port}", "list")
    assert listing.returncode != 0
    called = grpcurl(
        "-plaintext", "-H", f"authorization: Bearer {mesh.token('staff', Role.ADMIN)}", "-d", json.dumps({}),
        "-import-path", "protos", "-import-path", "third_party/googleapis", "-proto", "booking/v1/admin_service.proto",
        f"127.0.0.1:{port}", "booking.v1.AdminService/ListAppointments",
    )
    assert called.returncode != 0 and "PermissionDenied" in called.stderr


def test_public_rpcs_refuse_a_bad_token_like_the_gateway_does(mesh, channel):
    from booking.v1 import brochure_service_pb2, brochure_service_pb2_grpc

    slots = appointment_service_pb2_grpc.AppointmentServiceStub(channel)
    assert call(slots.ListAvailableSlots, appointment_service_pb2.ListAvailableSlotsRequest(type=2, date="2030-01-01"), "abc.def.ghi") == (
        grpc.StatusCode.UNAUTHENTICATED,
        "UNAUTHENTICATED",
    )
    brochures = brochure_service_pb2_grpc.BrochureServiceStub(channel)
    assert call(brochures.RequestBrochure, brochure_service_pb2.RequestBrochureRequest(first_name="J"), "abc.def.ghi") == (
        grpc.StatusCode.UNAUTHENTICATED,
        "UNAUTHENTICATED",
    )


def test_a_role_other_than_admin_is_a_customer_here_as_at_the_gateway(mesh, channel, http):
    import jwt

    token = jwt.encode(
        {"sub": "x", "role": "admin", "iss": "booking-mesh", "aud": "booking-api", "iat": int(time.time()), "exp": int(time.time()) + 60},
        mesh.keys.private_pem, algorithm="ES256", headers={"kid": mesh.keys.kid},
    )
    stub = admin_service_pb2_grpc.AdminServiceStub(channel)
    assert call(stub.ListAppointments, admin_service_pb2.ListAppointmentsRequest(), token) == (grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN")
    assert http.get("/v1/admin/appointments", headers={"Authorization": f"Bearer {token}"}).status_code == 403
