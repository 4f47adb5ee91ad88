"""Issue 14 through the real gateway and two service processes: moving a booking to another slot,
the notice window, and the races a move can be in."""
from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx
import psycopg
import pytest

from mesh_common.auth import Role
from mesh_common.events import decode_event
from tests.e2e.helpers import a_customer, an_email, free_days, london
from tests.e2e.test_booking_flow import consistency_problems
from tests.e2e.test_emails_flow import BEDROOM_TEAM, KITCHEN_TEAM, attachments, with_reference
from tests.integration.booking_fixtures import active_bookings, add_consultant, add_slot, booking_form
from tests.polling import wait_for


def book(http, mesh, slot_id, user: str, **overrides) -> dict:
    response = http.post("/v1/appointments", json=booking_form(slot_id, email=an_email(), **overrides), headers=mesh.auth(user))
    assert response.status_code == 201, response.text
    return response.json()


def reschedule(http, mesh, booking_id: str, slot_id, user: str, role: Role = Role.CUSTOMER) -> httpx.Response:
    return http.post(f"/v1/appointments/{booking_id}:reschedule", json={"slotId": str(slot_id)}, headers=mesh.auth(user, role))


def booking_events(database_url: str, booking_id: str) -> list[tuple[str, object]]:
    """(subject, decoded payload) of the booking's events in the outbox, in the order they were written."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT subject, payload FROM outbox WHERE subject LIKE 'booking.%' ORDER BY created_at, id"
        ).fetchall()
    decoded = [(subject, decode_event(subject, payload)) for subject, payload in rows]
    return [(subject, event) for subject, event in decoded if event.appointment.booking_id == booking_id]


def events_of(database_url: str, booking_id: str) -> list[str]:
    """The subjects of the booking's events in the outbox, in the order they were written."""
    return [subject for subject, _ in booking_events(database_url, booking_id)]


def slot_flags(database_url: str, *slot_ids) -> list[bool]:
    with psycopg.connect(database_url) as connection:
        return [connection.execute("SELECT is_booked FROM time_slots WHERE id = %s", (s,)).fetchone()[0] for s in slot_ids]


@pytest.fixture
def diary(mesh):
    """A consultant of the test's own with two free days: (consultant id, first day)."""
    return add_consultant(mesh.database_url), free_days(2)


def test_a_move_answers_200_with_the_same_booking_on_the_new_slot_and_both_days_show_it(mesh, http, diary):
    consultant, day = diary
    old = add_slot(mesh.database_url, consultant, london(day, 10))
    new = add_slot(mesh.database_url, consultant, london(day + timedelta(days=1), 15))
    user = a_customer()
    booking = book(http, mesh, old, user)

    def grid(d) -> set[str]:
        response = http.get("/v1/appointments/availability", params={"type": "SHOWROOM_VISIT", "date": d.isoformat()})
        return {s["slotId"] for s in response.json()["slots"]}

    assert str(old) not in grid(day) and str(new) in grid(day + timedelta(days=1))  # both days now cached
    response = reschedule(http, mesh, booking["bookingId"], new, user)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["bookingId"], body["referenceCode"], body["status"]) == (booking["bookingId"], booking["referenceCode"], "PENDING")
    assert body["slot"]["slotId"] == str(new) and body["previousSlot"]["slotId"] == str(old)
    assert body["slot"]["startsAt"] == london(day + timedelta(days=1), 15).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["rescheduleCount"] == 1
    mine = http.get(f"/v1/appointments/{booking['bookingId']}", headers=mesh.auth(user)).json()["appointment"]
    assert mine["slot"]["slotId"] == str(new) and mine["rescheduleCount"] == 1
    # The caches of both days were dropped: the old slot is offered again, the new one no longer.
    assert str(old) in grid(day) and str(new) not in grid(day + timedelta(days=1))
    assert slot_flags(mesh.database_url, old, new) == [False, True]
    assert events_of(mesh.database_url, booking["bookingId"]) == ["booking.created", "booking.rescheduled"]


def test_staff_move_a_customers_booking(mesh, http, diary, staff):
    consultant, day = diary
    old, new = add_slot(mesh.database_url, consultant, london(day, 10)), add_slot(mesh.database_url, consultant, london(day, 12))
    booking = book(http, mesh, old, a_customer())
    response = http.post(f"/v1/appointments/{booking['bookingId']}:reschedule", json={"slotId": str(new)}, headers=staff)
    assert response.status_code == 200, response.text
    assert response.json()["slot"]["slotId"] == str(new)


def test_a_move_onto_a_taken_slot_is_409_slot_unavailable_and_leaves_the_booking(mesh, http, diary):
    consultant, day = diary
    mine, theirs = add_slot(mesh.database_url, consultant, london(day, 10)), add_slot(mesh.database_url, consultant, london(day, 12))
    user = a_customer()
    booking = book(http, mesh, mine, user)
    book(http, mesh, theirs, a_customer())
    response = reschedule(http, mesh, booking["bookingId"], theirs, user)
    assert response.status_code == 409 and response.json()["code"] == "SLOT_UNAVAILABLE"
    after = http.get(f"/v1/appointments/{booking['bookingId']}", headers=mesh.auth(user)).json()["appointment"]
    assert after["slot"]["slotId"] == str(mine) and after["rescheduleCount"] == 0
    assert slot_flags(mesh.database_url, mine, theirs) == [True, True]
    assert events_of(mesh.database_url, booking["bookingId"]) == ["booking.created"]


def test_a_cancelled_booking_cannot_move_409_invalid_status_transition(mesh, http, diary):
    consultant, day = diary
    old, new = add_slot(mesh.database_url, consultant, london(day, 10)), add_slot(mesh.database_url, consultant, london(day, 12))
    user = a_customer()
    booking = book(http, mesh, old, user)
    assert http.patch(f"/v1/appointments/{booking['bookingId']}/cancel", json={}, headers=mesh.auth(user)).status_code == 200
    response = reschedule(http, mesh, booking["bookingId"], new, user)
    assert response.status_code == 409 and response.json()["code"] == "INVALID_STATUS_TRANSITION"
    assert slot_flags(mesh.database_url, new) == [False]


def test_inside_the_notice_window_a_customer_gets_409_change_window_closed_and_staff_do_not(mesh, http, staff):
    consultant = add_consultant(mesh.database_url)
    soon = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(hours=4)
    near, later = add_slot(mesh.database_url, consultant, soon), add_slot(mesh.database_url, consultant, soon + timedelta(days=3))
    user = a_customer()
    booking = book(http, mesh, near, user)
    for response in (
        reschedule(http, mesh, booking["bookingId"], later, user),
        http.patch(f"/v1/appointments/{booking['bookingId']}/cancel", json={}, headers=mesh.auth(user)),
    ):
        assert response.status_code == 409
        body = response.json()
        assert body["code"] == "CHANGE_WINDOW_CLOSED" and "call the showroom" in body["message"]
    assert events_of(mesh.database_url, booking["bookingId"]) == ["booking.created"]
    moved = http.post(f"/v1/appointments/{booking['bookingId']}:reschedule", json={"slotId": str(later)}, headers=staff)
    assert moved.status_code == 200, moved.text


def test_every_answer_says_until_when_the_customer_may_change_a_booking_and_a_cancelled_one_has_no_such_time(mesh, http, diary, staff):
    consultant, day = diary
    starts = london(day, 10)
    user = a_customer()
    booking = book(http, mesh, add_slot(mesh.database_url, consultant, starts), user)
    mine, details = f"/v1/appointments/{booking['bookingId']}", f"/v1/admin/appointments/{booking['bookingId']}"

    def until(appointment: dict) -> datetime | None:
        return datetime.fromisoformat(appointment["changeableUntil"]) if "changeableUntil" in appointment else None

    listed = [a for a in http.get("/v1/appointments", headers=mesh.auth(user)).json()["data"] if a["bookingId"] == booking["bookingId"]]
    answers = [http.get(mine, headers=mesh.auth(user)).json()["appointment"], http.get(details, headers=staff).json()["appointment"], *listed]
    assert [until(a) for a in answers] == [starts - timedelta(hours=24)] * 3  # CHANGE_NOTICE_HOURS, 24 by default
    assert http.patch(f"{mine}/cancel", json={}, headers=mesh.auth(user)).status_code == 200
    answers = [http.get(mine, headers=mesh.auth(user)).json()["appointment"], http.get(details, headers=staff).json()["appointment"]]
    assert [a["status"] for a in answers] == ["CANCELLED"] * 2 and [until(a) for a in answers] == [None, None]
    events = booking_events(mesh.database_url, booking["bookingId"])
    assert [s for s, _ in events] == ["booking.created", "booking.cancelled"]
    assert not any(event.appointment.HasField("changeable_until") for _, event in events)  # a policy, not a fact


def test_someone_elses_booking_is_403_an_unknown_one_404_and_no_token_401(mesh, http, diary):
    consultant, day = diary
    old, new = add_slot(mesh.database_url, consultant, london(day, 10)), add_slot(mesh.database_url, consultant, london(day, 12))
    booking = book(http, mesh, old, a_customer())
    forbidden = reschedule(http, mesh, booking["bookingId"], new, a_customer())
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "FORBIDDEN"
    unknown = reschedule(http, mesh, "00000000-0000-4000-8000-000000000000", new, a_customer())
    assert unknown.status_code == 404 and unknown.json()["code"] == "BOOKING_NOT_FOUND"
    anonymous = http.post(f"/v1/appointments/{booking['bookingId']}:reschedule", json={"slotId": str(new)})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHENTICATED"
    malformed = reschedule(http, mesh, booking["bookingId"], "not-a-slot", a_customer())
    assert malformed.status_code == 400 and [f["field"] for f in malformed.json()["fields"]] == ["slotId"]
    assert slot_flags(mesh.database_url, old, new) == [True, False]


def test_fifty_bookings_racing_onto_one_slot_give_one_200_and_49_409s(mesh):
    consultant = add_consultant(mesh.database_url)
    day = free_days(2)
    target = add_slot(mesh.database_url, consultant, london(day + timedelta(days=1), 12))
    racers = []
    with httpx.Client(base_url=mesh.url, timeout=30) as http:
        for i in range(50):
            slot = add_slot(mesh.database_url, consultant, london(day, 6) + timedelta(minutes=20 * i), minutes=15)
            user = a_customer()
            racers.append((user, slot, book(http, mesh, slot, user)["bookingId"]))
    barrier = threading.Barrier(len(racers))

    def one(racer) -> int:
        user, _, booking_id = racer
        with httpx.Client(base_url=mesh.url, timeout=60) as client:
            request = client.build_request(
                "POST", f"/v1/appointments/{booking_id}:reschedule", json={"slotId": str(target)}, headers=mesh.auth(user)
            )
            barrier.wait()
            response = client.send(request)
            return response.status_code, response.json()["code"] if response.status_code != 200 else None

    with ThreadPoolExecutor(len(racers)) as pool:
        results = list(pool.map(one, racers))
    assert [status for status, _ in results].count(200) == 1
    assert [result for result in results if result[0] != 200] == [(409, "SLOT_UNAVAILABLE")] * 49
    assert active_bookings(mesh.database_url, target) == 1
    winner = next(racer for racer, (status, _) in zip(racers, results, strict=True) if status == 200)
    losers_slots = [slot for racer, (status, _) in zip(racers, results, strict=True) if status != 200 for slot in [racer[1]]]
    assert slot_flags(mesh.database_url, winner[1], target) == [False, True]
    assert all(slot_flags(mesh.database_url, *losers_slots))
    assert all(active_bookings(mesh.database_url, slot) == 1 for slot in losers_slots)
    assert consistency_problems(mesh.database_url) == []


def test_a_move_racing_a_cancel_of_the_same_booking_ends_consistent_with_matching_events(mesh):
    consultant = add_consultant(mesh.database_url)
    day = free_days(1)
    outcomes = set()
    with httpx.Client(base_url=mesh.url, timeout=30) as http:
        for i in range(6):
            old = add_slot(mesh.database_url, consultant, london(day, 6 + 2 * i))
            new = add_slot(mesh.database_url, consultant, london(day, 7 + 2 * i))
            user = a_customer()
            booking_id = book(http, mesh, old, user)["bookingId"]
            barrier = threading.Barrier(2)

            def send(method: str, path: str, body: dict, user=user, barrier=barrier) -> httpx.Response:
                with httpx.Client(base_url=mesh.url, timeout=60) as client:
                    request = client.build_request(method, path, json=body, headers=mesh.auth(user))
                    barrier.wait()
                    return client.send(request)

            with ThreadPoolExecutor(2) as pool:
                moving = pool.submit(send, "POST", f"/v1/appointments/{booking_id}:reschedule", {"slotId": str(new)})
                cancelling = pool.submit(send, "PATCH", f"/v1/appointments/{booking_id}/cancel", {})
                moved, cancelled = moving.result(), cancelling.result()
            assert cancelled.status_code == 200, cancelled.text
            final = http.get(f"/v1/appointments/{booking_id}", headers=mesh.auth(user)).json()["appointment"]
            assert final["status"] == "CANCELLED"
            if moved.status_code == 200:
                outcomes.add("moved, then cancelled")
                assert final["slot"]["slotId"] == str(new)
                assert events_of(mesh.database_url, booking_id) == ["booking.created", "booking.rescheduled", "booking.cancelled"]
            else:
                outcomes.add("cancelled, move refused")
                assert (moved.status_code, moved.json()["code"]) == (409, "INVALID_STATUS_TRANSITION")
                assert final["slot"]["slotId"] == str(old)
                assert events_of(mesh.database_url, booking_id) == ["booking.created", "booking.cancelled"]
            assert slot_flags(mesh.database_url, old, new) == [False, False]
    assert outcomes  # which order won each time is the race's; every one was consistent
    assert consistency_problems(mesh.database_url) == []


def sequence(calendar: str) -> int:
    return int(re.search(r"SEQUENCE:(\d+)", calendar).group(1))


def invitation(message) -> str:
    return next(v for k, v in attachments(message).items() if k.endswith(".ics")).decode()


def test_a_move_emails_the_customer_once_with_the_updated_invitation_and_each_team_once(mesh, http, diary):
    consultant, day = diary
    old, new = add_slot(mesh.database_url, consultant, london(day, 10)), add_slot(mesh.database_url, consultant, london(day, 14))
    user, email = a_customer(), an_email()
    response = http.post(
        "/v1/appointments", json=booking_form(old, email=email, forKitchen=True, forBedroom=True), headers=mesh.auth(user)
    )
    booking = response.json()
    reference = booking["referenceCode"]
    confirmation = wait_for(lambda: mesh.mail_to(email), what="the confirmation")[0]
    assert reschedule(http, mesh, booking["bookingId"], new, user).status_code == 200

    def moved_mail():
        return [m for m in mesh.mail_to(email) if "rescheduled" in str(m["Subject"])]

    (moved,) = wait_for(moved_mail, what="the reschedule email")
    assert reference in moved["Subject"]
    wait_for(lambda: [m for m in with_reference(mesh.mail_to(KITCHEN_TEAM), reference) if "Rescheduled" in m["Subject"]], what="kitchen alert")
    wait_for(lambda: [m for m in with_reference(mesh.mail_to(BEDROOM_TEAM), reference) if "Rescheduled" in m["Subject"]], what="bedroom alert")
    first, updated = invitation(confirmation), invitation(moved)
    uid = f"UID:{booking['bookingId']}@booking-mesh"
    assert uid in first and uid in updated and "METHOD:REQUEST" in updated
    assert sequence(updated) > sequence(first)
    assert london(day, 14).strftime("DTSTART:%Y%m%dT%H%M%SZ") in updated
    assert "24 hours before it starts" in confirmation.get_body(preferencelist=("plain",)).get_content()

    # Events of one booking are handled in order: once the later cancellation is here, any repeat
    # of the reschedule's emails would have arrived before it.
    http.patch(f"/v1/appointments/{booking['bookingId']}/cancel", json={}, headers=mesh.auth(user))
    cancellation = wait_for(lambda: [m for m in mesh.mail_to(email) if str(m["Subject"]).strip().startswith("Cancelled")], what="cancel")
    assert sequence(invitation(cancellation[0])) > sequence(updated)
    assert len(moved_mail()) == 1 and len(mesh.mail_to(email)) == 3
    for team in (KITCHEN_TEAM, BEDROOM_TEAM):
        # The teams hear of the cancellation too, in the same event's handling.
        alerts = wait_for(lambda team=team: (a := with_reference(mesh.mail_to(team), reference)) and len(a) >= 3 and a, what=f"{team}'s alerts")
        assert sorted(str(m["Subject"]).split()[0] for m in alerts) == ["Cancelled", "New", "Rescheduled"]


def test_on_the_grpc_port_the_service_itself_authorises_the_move(mesh, http, diary):
    import grpc

    from booking.v1 import appointment_service_pb2, appointment_service_pb2_grpc
    from tests.e2e.test_grpc_port_auth import call

    consultant, day = diary
    old, new = add_slot(mesh.database_url, consultant, london(day, 10)), add_slot(mesh.database_url, consultant, london(day, 12))
    owner = a_customer()
    booking = book(http, mesh, old, owner)
    request = appointment_service_pb2.RescheduleAppointmentRequest(booking_id=booking["bookingId"], slot_id=str(new))
    with grpc.insecure_channel(mesh.appointment[1].url) as channel:
        stub = appointment_service_pb2_grpc.AppointmentServiceStub(channel)
        assert call(stub.RescheduleAppointment, request) == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")
        assert call(stub.RescheduleAppointment, request, mesh.token(a_customer())) == (grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN")
        answer = stub.RescheduleAppointment(request, metadata=[("authorization", f"Bearer {mesh.token(owner)}")], timeout=10)
    assert (answer.booking_id, answer.reference_code, answer.slot.slot_id) == (booking["bookingId"], booking["referenceCode"], str(new))
