"""The admin API as the e2e tests call it: make consultants and slots, book, read the table and the outbox."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import psycopg

from tests.e2e.helpers import free_days, london
from tests.integration.booking_fixtures import booking_form

UUID = str(uuid.uuid4())


def a_far_monday(days: int = 1) -> date:
    """A Monday within the booking horizon; it and the `days - 1` after it no other test uses."""
    return free_days(days, weekday=1)


def rfc3339(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


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


def calendar(http, staff, day: date, **params) -> list[dict]:
    response = http.get("/v1/admin/slots", params={"date": day.isoformat(), **params}, headers=staff)
    assert response.status_code == 200, response.text
    return response.json()["slots"]
