"""Staff keep the diary over REST: consultants, slots one by one or by pattern, blocking, the slot calendar."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from tests.e2e.admin.api import (
    UUID,
    a_booking,
    a_far_monday,
    assert_error,
    available,
    book,
    calendar,
    new_consultant,
    new_slot,
    parse,
    rfc3339,
)
from tests.e2e.helpers import london
from tests.integration.booking_fixtures import booking_form

# -- consultants


def test_a_new_consultant_is_201_and_listed(http, staff):
    consultant_id, name = new_consultant(http, staff, ("BEDROOM",))
    uuid.UUID(consultant_id)
    response = http.get("/v1/admin/consultants", headers=staff)
    assert response.status_code == 200
    consultants = response.json()["consultants"]
    mine = [c for c in consultants if c["consultantId"] == consultant_id]
    avatar = f"https://avatars.example/{name[-8:]}.png"
    assert mine == [{"consultantId": consultant_id, "name": name, "avatarUrl": avatar, "categories": ["BEDROOM"], "postcodeAreas": []}]
    names = [c["name"] for c in consultants]
    assert names == sorted(names)


def test_a_consultant_needs_a_name_a_web_avatar_and_a_category(http, staff):
    # One case per error class; the other values are unit tests in tests/unit/test_request_conversion.py.
    body = {"avatarUrl": "https://a.example/x.png", "categories": ["KITCHEN"]}
    assert_error(http.post("/v1/admin/consultants", json=body, headers=staff), 400, "VALIDATION_ERROR", "name")


def test_a_consultant_name_with_a_line_separator_is_refused(http, staff):
    for name in ("Sam\u2028Carter", "Sam\x85Carter", "Sam\rURL:x"):
        body = {"name": name, "avatarUrl": "https://a.example/s.png", "categories": ["KITCHEN"]}
        assert_error(http.post("/v1/admin/consultants", json=body, headers=staff), 400, "VALIDATION_ERROR", "name")


# -- slots


def test_a_new_slot_is_201_and_offered_at_once(http, staff):
    consultant_id, name = new_consultant(http, staff)
    day = a_far_monday()
    assert available(http, day, name) == []  # the (empty) day is now cached
    created = new_slot(http, staff, consultant_id, london(day, 10))
    assert created.status_code == 201, created.text
    assert [s["slotId"] for s in available(http, day, name)] == [created.json()["slotId"]]


def test_slot_rules_overlap_past_unknown_consultant_and_shape(http, staff):
    consultant_id, _ = new_consultant(http, staff)
    start = london(a_far_monday(), 10)
    assert new_slot(http, staff, consultant_id, start).status_code == 201
    assert_error(new_slot(http, staff, consultant_id, start + timedelta(minutes=30)), 409, "SLOT_OVERLAP")
    assert new_slot(http, staff, consultant_id, start + timedelta(hours=1)).status_code == 201  # back to back
    assert_error(new_slot(http, staff, consultant_id, datetime.now(timezone.utc) - timedelta(hours=1)), 422, "SLOT_IN_PAST")
    assert_error(new_slot(http, staff, str(uuid.uuid4()), start), 404, "CONSULTANT_NOT_FOUND")
    assert_error(new_slot(http, staff, consultant_id, start + timedelta(hours=5), minutes=-30), 400, "VALIDATION_ERROR", "endsAt")
    missing_type = http.post("/v1/admin/slots", json={"consultantId": consultant_id, "startsAt": rfc3339(start)}, headers=staff)
    assert_error(missing_type, 400, "VALIDATION_ERROR", "type")


def test_a_bad_pattern_is_400(http, staff):
    # One case per error class; the other values are unit tests in tests/unit/test_request_conversion.py.
    pattern = {"consultantId": UUID, "type": "VIDEO_CONSULTATION", "fromDate": "2040-01-02", "toDate": "2040-01-31",
               "weekdays": [0], "dayStart": "09:00", "dayEnd": "12:00", "slotMinutes": 30}  # fmt: skip
    assert_error(http.post("/v1/admin/slots:generate", json=pattern, headers=staff), 400, "VALIDATION_ERROR", "weekdays")


def test_generating_for_an_unknown_consultant_is_404(http, staff):
    monday = a_far_monday(28)
    pattern = {"consultantId": str(uuid.uuid4()), "type": "VIDEO_CONSULTATION", "fromDate": monday.isoformat(),
               "toDate": (monday + timedelta(days=27)).isoformat(), "weekdays": [1], "dayStart": "09:00", "dayEnd": "12:00",
               "slotMinutes": 30}  # fmt: skip
    assert_error(http.post("/v1/admin/slots:generate", json=pattern, headers=staff), 404, "CONSULTANT_NOT_FOUND")


def test_generating_slots_at_the_end_of_the_calendar_is_a_validation_error_not_a_crash(http, staff):
    consultant_id, _ = new_consultant(http, staff)
    response = http.post(
        "/v1/admin/slots:generate",
        headers=staff,
        json={"consultantId": consultant_id, "type": "SHOWROOM_VISIT", "fromDate": "9999-12-30", "toDate": "9999-12-31",
              "weekdays": [1, 2, 3, 4, 5, 6, 7], "dayStart": "09:00", "dayEnd": "17:00", "slotMinutes": 60},
    )
    assert_error(response, 400, "VALIDATION_ERROR", "fromDate")


def test_blocking_hides_a_slot_at_once_and_unblocking_brings_it_back(http, staff):
    consultant_id, name = new_consultant(http, staff)
    day = a_far_monday()
    slot = new_slot(http, staff, consultant_id, london(day, 9)).json()["slotId"]
    assert len(available(http, day, name)) == 1  # cached now
    blocked = http.post(f"/v1/admin/slots/{slot}/block", json={}, headers=staff)
    assert blocked.status_code == 200 and blocked.json() == {"slotId": slot, "blocked": True}
    assert available(http, day, name) == []
    unblocked = http.post(f"/v1/admin/slots/{slot}/unblock", json={}, headers=staff)
    assert unblocked.status_code == 200 and unblocked.json() == {"slotId": slot, "blocked": False}
    assert [s["slotId"] for s in available(http, day, name)] == [slot]


def test_a_booked_slot_can_be_blocked_only_after_its_booking_is_cancelled(mesh, http, staff, customer, email):
    made = a_booking(http, mesh, staff, customer, email)
    slot = made["slotId"]
    body = assert_error(http.post(f"/v1/admin/slots/{slot}/block", json={}, headers=staff), 409, "SLOT_BOOKED")
    assert "cancel the booking first" in body["message"]
    cancel = http.post(f"/v1/admin/appointments/{made['bookingId']}/cancel", json={"reason": "Showroom closed"}, headers=staff)
    assert cancel.status_code == 200
    assert http.post(f"/v1/admin/slots/{slot}/block", json={}, headers=staff).status_code == 200
    rebook = http.post("/v1/appointments", json=booking_form(slot, email=email), headers=mesh.auth(customer))
    assert_error(rebook, 409, "SLOT_UNAVAILABLE")


def test_blocking_an_unknown_slot_is_404(http, staff):
    assert_error(http.post(f"/v1/admin/slots/{uuid.uuid4()}/block", json={}, headers=staff), 404, "SLOT_NOT_FOUND")
    assert_error(http.post(f"/v1/admin/slots/{uuid.uuid4()}/unblock", json={}, headers=staff), 404, "SLOT_NOT_FOUND")


def test_staff_cannot_create_or_generate_slots_beyond_the_booking_horizon(http, staff):
    consultant_id, _ = new_consultant(http, staff)
    year_9999 = datetime(9999, 1, 4, 10, tzinfo=timezone.utc)
    body = assert_error(new_slot(http, staff, consultant_id, year_9999), 400, "VALIDATION_ERROR", "startsAt")
    assert "days ahead" in body["fields"][0]["description"]
    beyond = date.today() + timedelta(days=740)
    assert_error(new_slot(http, staff, consultant_id, london(beyond, 10)), 400, "VALIDATION_ERROR", "startsAt")
    pattern = {"consultantId": consultant_id, "type": "SHOWROOM_VISIT", "fromDate": (beyond - timedelta(days=20)).isoformat(),
               "toDate": beyond.isoformat(), "weekdays": [1, 2, 3, 4, 5], "dayStart": "09:00", "dayEnd": "12:00",
               "slotMinutes": 60}  # fmt: skip
    assert_error(http.post("/v1/admin/slots:generate", json=pattern, headers=staff), 400, "VALIDATION_ERROR", "toDate")


# -- the slot calendar (ListSlots): every slot of a day, whatever its state


def test_the_calendar_shows_free_booked_and_blocked_slots_and_follows_every_change(mesh, http, staff, customer, email):
    consultant_id, name = new_consultant(http, staff)
    day = a_far_monday()
    nine, ten, eleven = (new_slot(http, staff, consultant_id, london(day, h)).json()["slotId"] for h in (9, 10, 11))

    def states() -> dict[str, tuple[str, str]]:
        return {s["slotId"]: (s["state"], s["referenceCode"]) for s in calendar(http, staff, day, consultantId=consultant_id)}

    assert states() == {nine: ("FREE", ""), ten: ("FREE", ""), eleven: ("FREE", "")}
    made = book(http, mesh, ten, customer, email)
    assert http.post(f"/v1/admin/slots/{eleven}/block", json={}, headers=staff).status_code == 200
    assert states() == {nine: ("FREE", ""), ten: ("BOOKED", made["referenceCode"]), eleven: ("BLOCKED", "")}
    assert http.post(f"/v1/admin/slots/{eleven}/unblock", json={}, headers=staff).status_code == 200
    assert states()[eleven] == ("FREE", "")

    [first, *_] = calendar(http, staff, day, consultantId=consultant_id, type="SHOWROOM_VISIT")
    assert first["slotId"] == nine and first["type"] == "SHOWROOM_VISIT"
    assert parse(first["startsAt"]) == london(day, 9) and parse(first["endsAt"]) == london(day, 10)
    assert first["consultant"] == {
        "consultantId": consultant_id, "name": name, "avatarUrl": f"https://avatars.example/{name[-8:]}.png",
        "categories": ["KITCHEN", "BEDROOM"], "postcodeAreas": [],
    }  # fmt: skip
    assert calendar(http, staff, day, consultantId=consultant_id, type="VIDEO_CONSULTATION") == []
    # Without a consultant every slot of the day is there, in start order.
    everyone = calendar(http, staff, day)
    assert {nine, ten, eleven} <= {s["slotId"] for s in everyone}
    assert [s["startsAt"] for s in everyone] == sorted(s["startsAt"] for s in everyone)


def test_a_bad_calendar_query_is_400_naming_the_field(http, staff):
    # One case per error class; the other values are unit tests in tests/unit/test_request_conversion.py.
    body = assert_error(http.get("/v1/admin/slots", params={"date": "tomorrow"}, headers=staff), 400, "VALIDATION_ERROR", "date")
    assert "date" in body["message"]


def test_the_calendar_refuses_unknown_parameters_and_types(http, staff):
    assert_error(http.get("/v1/admin/slots", params={"date": "2030-01-07", "state": "FREE"}, headers=staff), 400, "VALIDATION_ERROR")
    assert_error(http.get("/v1/admin/slots", params={"date": "2030-01-07", "type": "SAUNA"}, headers=staff), 400, "VALIDATION_ERROR")
