"""Home visits only where a consultant goes (issue 14, contract 4), through the real Envoy and grpcurl.

The rules' cases are unit tests (tests/unit/test_postcodes.py, test_service_areas.py); here one
case of each kind shows the pieces wired together."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import psycopg

from tests.e2e.admin.api import assert_error, rfc3339
from tests.e2e.helpers import a_customer, a_future_day, grpcurl, london
from tests.integration.booking_fixtures import active_bookings, booking_form

HOME = "HOME_MEASUREMENT"


def a_consultant(http, staff, areas: list[str] | None = None) -> str:
    body = {"name": f"Visitor {uuid.uuid4().hex[:8]}", "avatarUrl": "https://avatars.example/v.png", "categories": ["KITCHEN"]}
    if areas is not None:
        body["postcodeAreas"] = areas
    response = http.post("/v1/admin/consultants", json=body, headers=staff)
    assert response.status_code == 201, response.text
    return response.json()["consultantId"]


def a_home_slot(http, staff, consultant_id: str, starts_at) -> str:
    body = {"consultantId": consultant_id, "type": HOME, "startsAt": rfc3339(starts_at), "endsAt": rfc3339(starts_at + timedelta(hours=1))}
    response = http.post("/v1/admin/slots", json=body, headers=staff)
    assert response.status_code == 201, response.text
    return response.json()["slotId"]


def consultants_offered(mesh, http, day, among: list[str], **params) -> list[str]:
    """The consultants of `among` whose slots the day's grid offers, in the grid's order."""
    response = http.get("/v1/appointments/availability", params={"type": HOME, "date": day.isoformat(), **params})
    assert response.status_code == 200, response.text
    slot_ids = [s["slotId"] for s in response.json()["slots"]]
    with psycopg.connect(mesh.database_url) as connection:
        owners = dict(connection.execute("SELECT id::text, consultant_id::text FROM time_slots WHERE id = ANY(%s::uuid[])", (slot_ids,)).fetchall())
    return [owners[s] for s in slot_ids if owners[s] in among]


def test_staff_create_a_consultant_with_areas_and_it_is_listed_normalised(mesh, http, staff):
    consultant_id = a_consultant(http, staff, [" sw1 ", "m", "SW1"])
    listed = [c for c in http.get("/v1/admin/consultants", headers=staff).json()["consultants"] if c["consultantId"] == consultant_id]
    assert [c["postcodeAreas"] for c in listed] == [["SW1", "M"]]


def test_availability_with_a_postcode_offers_only_the_consultants_who_visit_it(mesh, http, staff):
    day = a_future_day()
    everywhere, manchester, westminster = a_consultant(http, staff), a_consultant(http, staff, ["M"]), a_consultant(http, staff, ["SW1"])
    for hour, consultant in ((9, everywhere), (10, manchester), (11, westminster)):
        a_home_slot(http, staff, consultant, london(day, hour))
    ours = [everywhere, manchester, westminster]

    assert consultants_offered(mesh, http, day, ours) == ours
    assert consultants_offered(mesh, http, day, ours, postcode="m60 1nw") == [everywhere, manchester]
    assert consultants_offered(mesh, http, day, ours, postcode="ME1 1AA") == [everywhere]
    assert consultants_offered(mesh, http, day, ours, postcode="SW1A1AA") == [everywhere, westminster]
    assert consultants_offered(mesh, http, day, ours, postcode="SW10 9XX") == [everywhere]


def test_a_postcode_that_is_not_one_is_400_on_postcode(http):
    response = http.get("/v1/appointments/availability", params={"type": HOME, "date": a_future_day().isoformat(), "postcode": "NOWHERE"})
    assert_error(response, 400, "VALIDATION_ERROR", "postcode")


def test_booking_a_home_visit_outside_the_area_is_422_and_changes_nothing(mesh, http, staff):
    day = a_future_day()
    slot = a_home_slot(http, staff, a_consultant(http, staff, ["M"]), london(day, 10))
    form = booking_form(slot, type=HOME, postcode="me1 1aa", forKitchen=True)
    response = http.post("/v1/appointments", json=form, headers=mesh.auth(a_customer()))

    body = assert_error(response, 422, "OUTSIDE_SERVICE_AREA")
    assert "postcode" in body["message"]
    assert active_bookings(mesh.database_url, uuid.UUID(slot)) == 0
    grid = http.get("/v1/appointments/availability", params={"type": HOME, "date": day.isoformat()}).json()["slots"]
    assert slot in [s["slotId"] for s in grid]

    inside = http.post("/v1/appointments", json={**form, "postcode": "m60 1nw"}, headers=mesh.auth(a_customer()))
    assert inside.status_code == 201, inside.text


def test_staff_replace_the_areas_and_the_next_booking_follows_them(mesh, http, staff):
    consultant = a_consultant(http, staff, ["SW1"])
    slot = a_home_slot(http, staff, consultant, london(a_future_day(), 10))

    response = http.post(f"/v1/admin/consultants/{consultant}:setAreas", json={"postcodeAreas": ["m", "M"]}, headers=staff)

    assert response.status_code == 200, response.text
    assert response.json()["consultant"]["postcodeAreas"] == ["M"]
    form = booking_form(slot, type=HOME, postcode="SW1A 1AA")
    assert_error(http.post("/v1/appointments", json=form, headers=mesh.auth(a_customer())), 422, "OUTSIDE_SERVICE_AREA")
    everywhere = http.post(f"/v1/admin/consultants/{consultant}:setAreas", json={"postcodeAreas": []}, headers=staff)
    assert everywhere.json()["consultant"]["postcodeAreas"] == []
    assert http.post("/v1/appointments", json=form, headers=mesh.auth(a_customer())).status_code == 201


def test_setting_areas_is_for_staff_only_and_checks_them(mesh, http, staff):
    consultant = a_consultant(http, staff)
    path = f"/v1/admin/consultants/{consultant}:setAreas"
    assert_error(http.post(path, json={"postcodeAreas": ["M"]}), 401, "UNAUTHENTICATED")
    assert_error(http.post(path, json={"postcodeAreas": ["M"]}, headers=mesh.auth(a_customer())), 403, "FORBIDDEN")
    assert_error(http.post(path, json={"postcodeAreas": ["M", "ME1 1AA"]}, headers=staff), 400, "VALIDATION_ERROR", "postcodeAreas[1]")
    unknown = f"/v1/admin/consultants/{uuid.uuid4()}:setAreas"
    assert_error(http.post(unknown, json={"postcodeAreas": ["M"]}, headers=staff), 404, "CONSULTANT_NOT_FOUND")
    body = {"name": "X", "avatarUrl": "https://a.example/x.png", "categories": ["KITCHEN"], "postcodeAreas": ["XX1"]}
    assert_error(http.post("/v1/admin/consultants", json=body, headers=staff), 400, "VALIDATION_ERROR", "postcodeAreas[0]")
    assert_error(http.post("/v1/admin/consultants", json=body, headers=mesh.auth(a_customer())), 403, "FORBIDDEN")


def test_grpcurl_sets_areas_and_reads_the_filtered_grid_on_the_service_port(mesh, http, staff):
    consultant = a_consultant(http, staff)
    day = a_future_day()
    slot = a_home_slot(http, staff, consultant, london(day, 12))
    token = staff["Authorization"]
    result = grpcurl(
        "-plaintext", "-H", f"authorization: {token}", "-d", json.dumps({"consultant_id": consultant, "postcode_areas": ["M"]}),
        mesh.appointment[0].url, "booking.v1.AdminService/SetConsultantAreas",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["consultant"]["postcode_areas"] == ["M"]

    def slots_for(postcode: str) -> list[str]:
        listing = grpcurl(
            "-plaintext", "-d", json.dumps({"type": HOME, "date": day.isoformat(), "postcode": postcode}),
            mesh.appointment[0].url, "booking.v1.AppointmentService/ListAvailableSlots",
        )  # fmt: skip
        assert listing.returncode == 0, listing.stderr
        return [s["slot_id"] for s in json.loads(listing.stdout).get("slots", [])]

    assert slot in slots_for("M1 1AE") and slot not in slots_for("ME1 1AA")
