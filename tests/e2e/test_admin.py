"""Issue 6 through the real Envoy: staff run the diary over REST, customers see the effects.

The e2e database is shared by every e2e test: each test works on its own consultant, on days
further out than other tests use, and reads the admin table through a filter only its own
bookings match (a unique customer email).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import psycopg
import pytest

from booking.v1 import events_pb2
from tests.e2e.helpers import a_customer, free_days, london
from tests.integration.booking_fixtures import appointment_has_started, booking_form
from tests.polling import wait_for

UUID = str(uuid.uuid4())
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


def a_far_monday(days: int = 1) -> date:
    """A Monday within the booking horizon; it and the `days - 1` after it no other test uses."""
    return free_days(days, weekday=1)


def rfc3339(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def customer() -> str:
    return f"customer-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def email(customer) -> str:
    return f"{customer}@example.com"


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    if field is not None:
        assert field in {f["field"] for f in body["fields"]}, body
    return body


def new_consultant(http, staff, categories=("KITCHEN", "BEDROOM")) -> tuple[str, str]:
    name = f"Consultant {uuid.uuid4().hex[:8]}"
    response = http.post(
        "/v1/admin/consultants",
        json={"name": name, "avatarUrl": f"https://avatars.example/{name[-8:]}.png", "categories": list(categories)},
        headers=staff,
    )
    assert response.status_code == 201, response.text
    return response.json()["consultantId"], name


def new_slot(http, staff, consultant_id, starts_at: datetime, minutes=60, type_="SHOWROOM_VISIT"):
    return http.post(
        "/v1/admin/slots",
        json={
            "consultantId": consultant_id,
            "type": type_,
            "startsAt": rfc3339(starts_at),
            "endsAt": rfc3339(starts_at + timedelta(minutes=minutes)),
        },  # fmt: skip
        headers=staff,
    )


def available(http, day: date, consultant_name: str, type_="SHOWROOM_VISIT") -> list[dict]:
    response = http.get("/v1/appointments/availability", params={"type": type_, "date": day.isoformat()})
    assert response.status_code == 200, response.text
    return [s for s in response.json()["slots"] if s["consultant"]["name"] == consultant_name]


def book(http, mesh, slot_id, customer, email, type_="SHOWROOM_VISIT") -> dict:
    response = http.post("/v1/appointments", json=booking_form(slot_id, type=type_, email=email), headers=mesh.auth(customer))
    assert response.status_code == 201, response.text
    return response.json()


def table(http, staff, **params):
    return http.get("/v1/admin/appointments", params=params, headers=staff)


def a_booking(http, mesh, staff, customer, email, hour=10) -> dict:
    consultant_id, _ = new_consultant(http, staff)
    slot = new_slot(http, staff, consultant_id, london(a_far_monday(), hour))
    assert slot.status_code == 201, slot.text
    return {**book(http, mesh, slot.json()["slotId"], customer, email), "slotId": slot.json()["slotId"]}


def outbox_events(mesh, subject: str, message_type, booking_id: str) -> list:
    with psycopg.connect(mesh.database_url) as connection:
        rows = connection.execute("SELECT payload FROM outbox WHERE subject = %s", (subject,)).fetchall()
    found = [message_type.FromString(row[0]) for row in rows]
    return [e for e in found if e.appointment.booking_id == booking_id]


# -- authorisation of every admin route


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
    assert [(h["fromStatus"], h["toStatus"]) for h in details["history"]] == [
        ("BOOKING_STATUS_UNSPECIFIED", "PENDING"), ("PENDING", "CONFIRMED"), ("CONFIRMED", "COMPLETED"),
    ]  # fmt: skip
    assert [h["changedBy"] for h in details["history"]] == [customer, staff_sub, staff_sub]
    times = [parse(h["changedAt"]) for h in details["history"]]
    assert times == sorted(times)


# -- the admin table


@pytest.fixture
def three_bookings(mesh, http, staff, customer, email) -> list[dict]:
    """Three bookings of one customer, booked in the order 11:00, 09:00, 10:00 on one far day."""
    consultant_id, _ = new_consultant(http, staff)
    day = a_far_monday()
    made = []
    for hour in (11, 9, 10):
        slot = new_slot(http, staff, consultant_id, london(day, hour)).json()["slotId"]
        made.append({**book(http, mesh, slot, customer, email), "hour": hour, "day": day})
    return made


def test_the_table_pages_through_one_customers_bookings(http, staff, email, three_bookings):
    newest_first = [b["bookingId"] for b in reversed(three_bookings)]
    first = table(http, staff, email=email, limit=2).json()
    assert ([a["bookingId"] for a in first["data"]], first["total"], first["page"], first["totalPages"]) == (
        newest_first[:2],
        3,
        1,
        2,
    )
    last = table(http, staff, email=email, limit=2, page=2).json()
    assert ([a["bookingId"] for a in last["data"]], last["total"], last["page"]) == (newest_first[2:], 3, 2)
    past_the_end = table(http, staff, email=email, limit=2, page=3)
    assert past_the_end.status_code == 200
    assert past_the_end.json() == {"data": [], "total": 3, "page": 3, "totalPages": 2}


def test_the_table_sorts_by_creation_or_by_start(http, staff, email, three_bookings):
    by_hour = {b["hour"]: b["bookingId"] for b in three_bookings}

    def ids(sort):
        response = table(http, staff, email=email, sort=sort)
        assert response.status_code == 200, response.text
        return [a["bookingId"] for a in response.json()["data"]]

    assert ids("createdAt") == [b["bookingId"] for b in three_bookings]
    assert ids("-createdAt") == [b["bookingId"] for b in reversed(three_bookings)]
    assert ids("startsAt") == [by_hour[9], by_hour[10], by_hour[11]]
    assert ids("-startsAt") == [by_hour[11], by_hour[10], by_hour[9]]


def test_the_table_filters_by_reference_status_and_days(http, staff, email, three_bookings):
    one = three_bookings[0]
    by_reference = table(http, staff, referenceCode=one["referenceCode"].lower()).json()
    assert [a["bookingId"] for a in by_reference["data"]] == [one["bookingId"]] and by_reference["total"] == 1
    day = one["day"]
    assert table(http, staff, email=email, **{"from": day.isoformat(), "to": day.isoformat()}).json()["total"] == 3
    assert table(http, staff, email=email, **{"from": (day + timedelta(days=1)).isoformat()}).json()["total"] == 0
    assert table(http, staff, email=email, to=(day - timedelta(days=1)).isoformat()).json()["total"] == 0
    assert table(http, staff, email=email, status="CONFIRMED").json()["total"] == 0
    assert table(http, staff, email=email, status="PENDING").json()["total"] == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": -5}, "limit"),
        ({"page": -1}, "page"),
        ({"sort": "name"}, "sort"),
        ({"sort": "-updatedAt"}, "sort"),
        ({"from": "2030-02-30"}, "from"),
        ({"from": "2030-03-02", "to": "2030-03-01"}, "to"),
        ({"referenceCode": "BK-123"}, "referenceCode"),
    ],
)
def test_bad_table_parameters_are_400_not_clamped(http, staff, params, field):
    assert_error(table(http, staff, **params), 400, "VALIDATION_ERROR", field)


def test_the_largest_page_is_100(http, staff, email, three_bookings):
    response = table(http, staff, email=email, limit=100)
    assert response.status_code == 200 and response.json()["total"] == 3


def test_an_unknown_status_or_parameter_is_400(http, staff):
    assert_error(table(http, staff, status="LOST"), 400, "VALIDATION_ERROR")
    assert_error(table(http, staff, colour="blue"), 400, "VALIDATION_ERROR")


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


# -- consultants


def test_a_new_consultant_is_201_and_listed(http, staff):
    consultant_id, name = new_consultant(http, staff, ("BEDROOM",))
    uuid.UUID(consultant_id)
    response = http.get("/v1/admin/consultants", headers=staff)
    assert response.status_code == 200
    consultants = response.json()["consultants"]
    mine = [c for c in consultants if c["consultantId"] == consultant_id]
    avatar = f"https://avatars.example/{name[-8:]}.png"
    assert mine == [{"consultantId": consultant_id, "name": name, "avatarUrl": avatar, "categories": ["BEDROOM"]}]
    names = [c["name"] for c in consultants]
    assert names == sorted(names)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"avatarUrl": "https://a.example/x.png", "categories": ["KITCHEN"]}, "name"),
        ({"name": "A", "avatarUrl": "/x.png", "categories": ["KITCHEN"]}, "avatarUrl"),
        ({"name": "A", "avatarUrl": "ftp://a.example/x.png", "categories": ["KITCHEN"]}, "avatarUrl"),
        ({"name": "A", "avatarUrl": "https://a.example/x.png", "categories": []}, "categories"),
    ],
)
def test_a_consultant_needs_a_name_a_web_avatar_and_a_category(http, staff, body, field):
    assert_error(http.post("/v1/admin/consultants", json=body, headers=staff), 400, "VALIDATION_ERROR", field)


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


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"weekdays": [0]}, "weekdays"),
        ({"dayStart": "9am"}, "dayStart"),
        ({"dayStart": "17:00", "dayEnd": "09:00"}, "dayEnd"),
        ({"slotMinutes": 0}, "slotMinutes"),
        ({"bufferMinutes": -1}, "bufferMinutes"),
        ({"toDate": "2099-01-01"}, "toDate"),
        ({"skipDates": ["someday"]}, "skipDates"),
    ],
)
def test_a_bad_pattern_is_400(http, staff, overrides, field):
    pattern = {"consultantId": UUID, "type": "VIDEO_CONSULTATION", "fromDate": "2040-01-02", "toDate": "2040-01-31",
               "weekdays": [1], "dayStart": "09:00", "dayEnd": "12:00", "slotMinutes": 30, **overrides}  # fmt: skip
    assert_error(http.post("/v1/admin/slots:generate", json=pattern, headers=staff), 400, "VALIDATION_ERROR", field)


def test_generating_for_an_unknown_consultant_is_404(http, staff):
    monday = a_far_monday(28)
    pattern = {"consultantId": str(uuid.uuid4()), "type": "VIDEO_CONSULTATION", "fromDate": monday.isoformat(),
               "toDate": (monday + timedelta(days=27)).isoformat(), "weekdays": [1], "dayStart": "09:00", "dayEnd": "12:00",
               "slotMinutes": 30}  # fmt: skip
    assert_error(http.post("/v1/admin/slots:generate", json=pattern, headers=staff), 404, "CONSULTANT_NOT_FOUND")


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


# -- the slot calendar (ListSlots): every slot of a day, whatever its state


def calendar(http, staff, day: date, **params) -> list[dict]:
    response = http.get("/v1/admin/slots", params={"date": day.isoformat(), **params}, headers=staff)
    assert response.status_code == 200, response.text
    return response.json()["slots"]


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
        "categories": ["KITCHEN", "BEDROOM"],
    }  # fmt: skip
    assert calendar(http, staff, day, consultantId=consultant_id, type="VIDEO_CONSULTATION") == []
    # Without a consultant every slot of the day is there, in start order.
    everyone = calendar(http, staff, day)
    assert {nine, ten, eleven} <= {s["slotId"] for s in everyone}
    assert [s["startsAt"] for s in everyone] == sorted(s["startsAt"] for s in everyone)


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "date"), ({"date": "2030-02-30"}, "date"), ({"date": "tomorrow"}, "date"),
     ({"date": "2030-01-07", "consultantId": "sam"}, "consultantId")],
)  # fmt: skip
def test_a_bad_calendar_query_is_400_naming_the_field(http, staff, params, field):
    body = assert_error(http.get("/v1/admin/slots", params=params, headers=staff), 400, "VALIDATION_ERROR", field)
    assert field in body["message"]


def test_the_calendar_refuses_unknown_parameters_and_types(http, staff):
    assert_error(http.get("/v1/admin/slots", params={"date": "2030-01-07", "state": "FREE"}, headers=staff), 400, "VALIDATION_ERROR")
    assert_error(http.get("/v1/admin/slots", params={"date": "2030-01-07", "type": "SAUNA"}, headers=staff), 400, "VALIDATION_ERROR")


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


@pytest.mark.parametrize("params", [{"from": "9999-12-31"}, {"to": "9999-12-31"}, {"from": "0001-01-01"}])
def test_table_dates_outside_any_diary_are_a_validation_error_not_a_crash(http, staff, params):
    assert_error(table(http, staff, **params), 400, "VALIDATION_ERROR", next(iter(params)))


def test_generating_slots_at_the_end_of_the_calendar_is_a_validation_error_not_a_crash(http, staff):
    consultant_id, _ = new_consultant(http, staff)
    response = http.post(
        "/v1/admin/slots:generate",
        headers=staff,
        json={"consultantId": consultant_id, "type": "SHOWROOM_VISIT", "fromDate": "9999-12-30", "toDate": "9999-12-31",
              "weekdays": [1, 2, 3, 4, 5, 6, 7], "dayStart": "09:00", "dayEnd": "17:00", "slotMinutes": 60},
    )
    assert_error(response, 400, "VALIDATION_ERROR", "fromDate")


@pytest.mark.parametrize(("params", "field"), [({"page": 0}, "page"), ({"limit": 0}, "limit"), ({"page": -1}, "page")])
def test_zero_or_negative_paging_is_a_validation_error_not_the_default(http, staff, params, field):
    assert_error(table(http, staff, **params), 400, "VALIDATION_ERROR", field)


# -- the booking horizon and the staff side of issue 9


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


def test_a_consultant_name_with_a_line_separator_is_refused(http, staff):
    for name in ("Sam\u2028Carter", "Sam\x85Carter", "Sam\rURL:x"):
        body = {"name": name, "avatarUrl": "https://a.example/s.png", "categories": ["KITCHEN"]}
        assert_error(http.post("/v1/admin/consultants", json=body, headers=staff), 400, "VALIDATION_ERROR", "name")


def test_a_staff_cancel_reason_with_control_characters_is_refused(mesh, http, staff, customer, email):
    made = a_booking(http, mesh, staff, customer, email)
    cancel = f"/v1/admin/appointments/{made['bookingId']}/cancel"
    assert_error(http.post(cancel, json={"reason": "ill\x1b[2J"}, headers=staff), 400, "VALIDATION_ERROR", "reason")
    assert http.post(cancel, json={"reason": "Designer ill.\r\nSorry."}, headers=staff).status_code == 200
