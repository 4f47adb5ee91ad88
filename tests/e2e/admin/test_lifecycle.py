"""Staff take a booking through its lifecycle over REST; every admin route is for staff only."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from booking.v1 import events_pb2
from tests.e2e.admin.api import (
    UUID,
    a_booking,
    a_far_monday,
    assert_error,
    available,
    book,
    new_consultant,
    new_slot,
    outbox_events,
    parse,
    table,
)
from tests.e2e.helpers import a_customer, london
from tests.integration.booking_fixtures import appointment_has_started
from tests.polling import wait_for

# -- authorisation of every admin route


ADMIN_ROUTES = [
    ("GET", "/v1/admin/appointments", None),
    ("GET", f"/v1/admin/appointments/{UUID}", None),
    ("POST", f"/v1/admin/appointments/{UUID}/confirm", {}),
    ("POST", f"/v1/admin/appointments/{UUID}/complete", {}),
    ("POST", f"/v1/admin/appointments/{UUID}/no-show", {}),
    ("POST", f"/v1/admin/appointments/{UUID}/cancel", {"reason": "x"}),
    ("POST", "/v1/admin/consultants", {"name": "X", "avatarUrl": "https://a.example/x.png", "categories": ["KITCHEN"]}),
    ("GET", "/v1/admin/consultants", None),
    ("POST", "/v1/admin/slots", {"consultantId": UUID, "type": "SHOWROOM_VISIT"}),
    ("POST", "/v1/admin/slots:generate", {"consultantId": UUID, "weekdays": [1]}),
    ("POST", f"/v1/admin/slots/{UUID}/block", {}),
    ("POST", f"/v1/admin/slots/{UUID}/unblock", {}),
    ("GET", "/v1/admin/slots?date=2030-01-07", None),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), ADMIN_ROUTES, ids=[f"{m} {p.replace(UUID, '{id}')}" for m, p, _ in ADMIN_ROUTES]
)
def test_a_customer_token_is_403_on_every_admin_route(mesh, http, method, path, body):
    assert_error(http.request(method, path, json=body, headers=mesh.auth(a_customer())), 403, "FORBIDDEN")


@pytest.mark.parametrize(
    ("method", "path", "body"), ADMIN_ROUTES, ids=[f"{m} {p.replace(UUID, '{id}')}" for m, p, _ in ADMIN_ROUTES]
)
def test_no_token_is_401_on_every_admin_route(http, method, path, body):
    assert_error(http.request(method, path, json=body), 401, "UNAUTHENTICATED")


def test_the_service_itself_refuses_every_admin_rpc_to_a_customer(mesh):
    """Defence in depth: straight to the gRPC port, past the gateway's RBAC, the answer is the same."""
    import grpc

    from booking.v1 import admin_service_pb2, admin_service_pb2_grpc

    methods = admin_service_pb2.DESCRIPTOR.services_by_name["AdminService"].methods
    with grpc.insecure_channel(mesh.appointment[0].url) as channel:
        stub = admin_service_pb2_grpc.AdminServiceStub(channel)
        for method in methods:
            request = getattr(admin_service_pb2, method.input_type.name)()
            with pytest.raises(grpc.RpcError) as raised:
                getattr(stub, method.name)(request, metadata=[("authorization", f"Bearer {mesh.token(a_customer())}")], timeout=10)
            assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED, method.name


# -- the story of the issue


def test_staff_set_up_a_month_and_take_a_booking_through_its_lifecycle(mesh, http, staff, staff_sub, customer, email):
    consultant_id, name = new_consultant(http, staff, ("KITCHEN",))
    monday = a_far_monday(28)
    month = {
        "consultantId": consultant_id, "type": "HOME_MEASUREMENT", "fromDate": monday.isoformat(),
        "toDate": (monday + timedelta(days=27)).isoformat(), "weekdays": [1, 2, 3, 4, 5], "dayStart": "09:00",
        "dayEnd": "17:00", "slotMinutes": 90, "bufferMinutes": 30, "skipDates": [(monday + timedelta(days=7)).isoformat()],
    }  # fmt: skip
    generated = http.post("/v1/admin/slots:generate", json=month, headers=staff)
    assert generated.status_code == 200, generated.text
    assert generated.json() == {"created": 19 * 4, "skipped": 0}  # 09:00, 11:00, 13:00, 15:00 on 19 working days
    again = http.post("/v1/admin/slots:generate", json=month, headers=staff)
    assert again.json() == {"created": 0, "skipped": 76}

    tuesday = monday + timedelta(days=1)
    offered = available(http, tuesday, name, "HOME_MEASUREMENT")
    assert [parse(s["startsAt"]) for s in offered] == [london(tuesday, h) for h in (9, 11, 13, 15)]
    assert available(http, monday + timedelta(days=7), name, "HOME_MEASUREMENT") == []  # the skipped date

    booking = book(http, mesh, offered[1]["slotId"], customer, email, "HOME_MEASUREMENT")
    assert [s["slotId"] for s in available(http, tuesday, name, "HOME_MEASUREMENT")] == [offered[i]["slotId"] for i in (0, 2, 3)]

    listed = table(http, staff, email=email.upper(), status="PENDING")
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert (page["total"], page["page"], page["totalPages"]) == (1, 1, 1)
    row = page["data"][0]
    assert (row["bookingId"], row["referenceCode"], row["status"], row["userId"]) == (
        booking["bookingId"], booking["referenceCode"], "PENDING", customer,
    )  # fmt: skip
    assert row["slot"]["slotId"] == offered[1]["slotId"] and row["slot"]["consultant"]["name"] == name

    bid = booking["bookingId"]
    confirmed = http.post(f"/v1/admin/appointments/{bid}/confirm", json={}, headers=staff)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["appointment"]["status"] == "CONFIRMED"
    assert len(outbox_events(mesh, "booking.confirmed", events_pb2.BookingConfirmed, bid)) == 1
    early = http.post(f"/v1/admin/appointments/{bid}/complete", json={}, headers=staff)
    assert "only once its appointment has started" in assert_error(early, 409, "INVALID_STATUS_TRANSITION")["message"]
    appointment_has_started(mesh.database_url, offered[1]["slotId"])
    completed = http.post(f"/v1/admin/appointments/{bid}/complete", json={}, headers=staff)
    assert completed.status_code == 200 and completed.json()["appointment"]["status"] == "COMPLETED"

    seen_by_customer = http.get(f"/v1/appointments/{bid}", headers=mesh.auth(customer)).json()["appointment"]
    assert seen_by_customer["status"] == "COMPLETED"
    details = http.get(f"/v1/admin/appointments/{bid}", headers=staff).json()
    assert details["appointment"]["status"] == "COMPLETED"
    assert [(h.get("fromStatus"), h["toStatus"]) for h in details["history"]] == [
        (None, "PENDING"), ("PENDING", "CONFIRMED"), ("CONFIRMED", "COMPLETED"),
    ]  # fmt: skip
    # Only what applies: the creation has no earlier status, nothing here was cancelled.
    assert "fromStatus" not in details["history"][0] and not any("reason" in h for h in details["history"])
    assert "cancelReason" not in details["appointment"] and "cancelReason" not in seen_by_customer
    assert [h["changedBy"] for h in details["history"]] == [customer, staff_sub, staff_sub]
    times = [parse(h["changedAt"]) for h in details["history"]]
    assert times == sorted(times)


# -- lifecycle


def test_staff_confirming_sends_the_customer_a_confirmed_email(mesh, http, staff, customer, email):
    booking = a_booking(http, mesh, staff, customer, email)
    reference = booking["referenceCode"]
    confirmed = http.post(f"/v1/admin/appointments/{booking['bookingId']}/confirm", json={}, headers=staff)
    assert confirmed.status_code == 200, confirmed.text
    # A long subject may be folded over two header lines.
    mails = wait_for(
        lambda: [m for m in mesh.mail_to(email) if f"Confirmed {reference}:" in " ".join(str(m["Subject"]).split())],
        what="the confirmed email",
    )
    assert len(mails) == 1


def test_no_show_only_after_confirmation_and_finished_bookings_stay_finished(mesh, http, staff, customer, email):
    made = a_booking(http, mesh, staff, customer, email)
    bid = made["bookingId"]
    assert_error(http.post(f"/v1/admin/appointments/{bid}/no-show", json={}, headers=staff), 409, "INVALID_STATUS_TRANSITION")
    assert_error(http.post(f"/v1/admin/appointments/{bid}/complete", json={}, headers=staff), 409, "INVALID_STATUS_TRANSITION")
    assert http.post(f"/v1/admin/appointments/{bid}/confirm", json={}, headers=staff).status_code == 200
    assert_error(http.post(f"/v1/admin/appointments/{bid}/confirm", json={}, headers=staff), 409, "INVALID_STATUS_TRANSITION")
    too_soon = http.post(f"/v1/admin/appointments/{bid}/no-show", json={}, headers=staff)
    assert "only once its appointment has started" in assert_error(too_soon, 409, "INVALID_STATUS_TRANSITION")["message"]
    appointment_has_started(mesh.database_url, made["slotId"])
    no_show = http.post(f"/v1/admin/appointments/{bid}/no-show", json={}, headers=staff)
    assert no_show.status_code == 200 and no_show.json()["appointment"]["status"] == "NO_SHOW"
    for action, body in [("confirm", {}), ("complete", {}), ("no-show", {}), ("cancel", {"reason": "late"})]:
        assert_error(
            http.post(f"/v1/admin/appointments/{bid}/{action}", json=body, headers=staff), 409, "INVALID_STATUS_TRANSITION"
        )
    customer_cancel = http.patch(f"/v1/appointments/{bid}/cancel", json={}, headers=mesh.auth(customer))
    assert_error(customer_cancel, 409, "INVALID_STATUS_TRANSITION")


def test_staff_cancel_with_a_reason_frees_the_slot_for_customers(mesh, http, staff, staff_sub, customer, email):
    consultant_id, name = new_consultant(http, staff)
    day = a_far_monday()
    slot = new_slot(http, staff, consultant_id, london(day, 14)).json()["slotId"]
    bid = book(http, mesh, slot, customer, email)["bookingId"]
    assert available(http, day, name) == []

    cancel = f"/v1/admin/appointments/{bid}/cancel"
    assert_error(http.post(cancel, json={}, headers=staff), 400, "VALIDATION_ERROR", "reason")
    assert_error(http.post(cancel, json={"reason": "  "}, headers=staff), 400, "VALIDATION_ERROR", "reason")
    cancelled = http.post(cancel, json={"reason": "Consultant ill"}, headers=staff)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["appointment"]["status"] == "CANCELLED"

    assert [s["slotId"] for s in available(http, day, name)] == [slot]
    mine = http.get(f"/v1/appointments/{bid}", headers=mesh.auth(customer)).json()["appointment"]
    assert (mine["status"], mine["cancelReason"]) == ("CANCELLED", "Consultant ill") and mine["cancelledAt"]
    [event] = outbox_events(mesh, "booking.cancelled", events_pb2.BookingCancelled, bid)
    history = http.get(f"/v1/admin/appointments/{bid}", headers=staff).json()["history"]
    assert event.cancelled_by == history[-1]["changedBy"] == staff_sub
    assert (history[-1]["toStatus"], history[-1]["reason"]) == ("CANCELLED", "Consultant ill")
    assert_error(http.post(cancel, json={"reason": "again"}, headers=staff), 409, "INVALID_STATUS_TRANSITION")


def test_an_unknown_booking_is_404_and_a_malformed_id_400(http, staff):
    missing = uuid.uuid4()
    assert_error(http.get(f"/v1/admin/appointments/{missing}", headers=staff), 404, "BOOKING_NOT_FOUND")
    assert_error(http.post(f"/v1/admin/appointments/{missing}/confirm", json={}, headers=staff), 404, "BOOKING_NOT_FOUND")
    assert_error(
        http.post(f"/v1/admin/appointments/{missing}/cancel", json={"reason": "x"}, headers=staff), 404, "BOOKING_NOT_FOUND"
    )
    assert_error(http.get("/v1/admin/appointments/not-a-uuid", headers=staff), 400, "VALIDATION_ERROR", "bookingId")


def test_a_staff_cancel_reason_with_control_characters_is_refused(mesh, http, staff, customer, email):
    made = a_booking(http, mesh, staff, customer, email)
    cancel = f"/v1/admin/appointments/{made['bookingId']}/cancel"
    assert_error(http.post(cancel, json={"reason": "ill\x1b[2J"}, headers=staff), 400, "VALIDATION_ERROR", "reason")
    assert http.post(cancel, json={"reason": "Designer ill.\r\nSorry."}, headers=staff).status_code == 200
