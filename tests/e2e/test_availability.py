"""Spec section 1 through the real Envoy: the slot grid for one London day."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

from redis import Redis

from tests.e2e.helpers import (
    LAST_TEST_DAY,
    a_customer,
    a_future_day,
    grpcurl,
    london,
    only_consultants,
    the_next_clocks_back_day,
)
from tests.integration.booking_fixtures import add_consultant, add_slot, booking_form

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def availability(http, day, type_="SHOWROOM_VISIT", **params):
    return http.get("/v1/appointments/availability", params={"type": type_, "date": day.isoformat(), **params})


def test_the_grid_lists_free_slots_of_the_day_in_order_with_their_consultant(mesh, http):
    day = a_future_day()
    amelia = add_consultant(mesh.database_url, "Amelia Hart", ("KITCHEN",))
    late = add_slot(mesh.database_url, amelia, london(day, 15))
    early = add_slot(mesh.database_url, amelia, london(day, 9))
    add_slot(mesh.database_url, amelia, london(day + timedelta(days=1), 9))

    response = availability(http, day)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    slots = only_consultants(response.json()["slots"], amelia)
    assert [s["slotId"] for s in slots] == [str(early), str(late)]
    first = slots[0]
    assert set(first) == {"slotId", "startsAt", "endsAt", "consultant"}
    assert RFC3339.match(first["startsAt"]) and RFC3339.match(first["endsAt"])
    assert datetime.fromisoformat(first["startsAt"].replace("Z", "+00:00")) == london(day, 9)
    assert first["consultant"] == {"name": "Amelia Hart", "avatarUrl": f"https://avatars.example/{amelia}.png"}


def test_booked_blocked_and_other_type_slots_are_not_offered(mesh, http):
    day = a_future_day()
    consultant = add_consultant(mesh.database_url)
    free = add_slot(mesh.database_url, consultant, london(day, 9))
    add_slot(mesh.database_url, consultant, london(day, 11), blocked=True)
    add_slot(mesh.database_url, consultant, london(day, 13), kind="VIDEO_CONSULTATION")
    booked = add_slot(mesh.database_url, consultant, london(day, 15))
    assert http.post("/v1/appointments", json=booking_form(booked), headers=mesh.auth(a_customer())).status_code == 201

    slots = only_consultants(availability(http, day).json()["slots"], consultant)

    assert [s["slotId"] for s in slots] == [str(free)]


def test_category_keeps_only_consultants_who_cover_it(mesh, http):
    day = a_future_day()
    k, b = add_consultant(mesh.database_url, "K", ("KITCHEN",)), add_consultant(mesh.database_url, "B", ("BEDROOM",))
    kitchen, bedroom = add_slot(mesh.database_url, k, london(day, 10)), add_slot(mesh.database_url, b, london(day, 10))

    def grid(**params):
        return [s["slotId"] for s in only_consultants(availability(http, day, **params).json()["slots"], k, b)]

    assert grid(category="BEDROOM") == [str(bedroom)]
    assert grid(category="KITCHEN") == [str(kitchen)]
    assert len(grid()) == 2


def test_a_day_the_clocks_go_back_spans_25_hours(mesh, http):
    clocks_back = the_next_clocks_back_day()
    consultant = add_consultant(mesh.database_url)
    just_after_midnight = add_slot(mesh.database_url, consultant, london(clocks_back, 0, 30), minutes=30)
    late_evening = add_slot(mesh.database_url, consultant, london(clocks_back, 23, 0), minutes=30)
    next_day = add_slot(mesh.database_url, consultant, london(clocks_back + timedelta(days=1), 0, 0), minutes=30)

    ids = [s["slotId"] for s in only_consultants(availability(http, clocks_back).json()["slots"], consultant)]

    assert str(just_after_midnight) in ids and str(late_evening) in ids and str(next_day) not in ids


def test_the_cache_key_includes_every_filter_and_expires_within_30_seconds(mesh, http):
    day = a_future_day()
    add_slot(mesh.database_url, add_consultant(mesh.database_url), london(day, 10))
    availability(http, day, category="KITCHEN")
    redis = Redis.from_url(mesh.env["REDIS_URL"])
    try:
        key = f"slot:availability:SHOWROOM_VISIT:{day.isoformat()}:KITCHEN"
        assert 0 < redis.ttl(key) <= 30
        assert not redis.exists(f"slot:availability:SHOWROOM_VISIT:{day.isoformat()}:ANY")
    finally:
        redis.close()


def test_a_booking_removes_the_slot_from_a_cached_grid_at_once(mesh, http):
    day = a_future_day()
    consultant = add_consultant(mesh.database_url)
    slot = add_slot(mesh.database_url, consultant, london(day, 10))
    assert [s["slotId"] for s in only_consultants(availability(http, day).json()["slots"], consultant)] == [str(slot)]
    assert http.post("/v1/appointments", json=booking_form(slot), headers=mesh.auth(a_customer())).status_code == 201
    assert only_consultants(availability(http, day).json()["slots"], consultant) == []


def test_a_malformed_date_is_a_validation_error(http):
    response = http.get("/v1/appointments/availability", params={"type": "SHOWROOM_VISIT", "date": "2026-02-30"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and body["message"]
    assert [f["field"] for f in body["fields"]] == ["date"]


def test_an_unknown_type_is_a_validation_error(http):
    response = http.get("/v1/appointments/availability", params={"type": "GARDEN_PARTY", "date": "2030-01-01"})
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_a_missing_type_is_a_validation_error(http):
    response = http.get("/v1/appointments/availability", params={"date": "2030-01-01"})
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert "type" in [f["field"] for f in response.json()["fields"]]


def test_grpcurl_lists_the_services_on_the_service_port(mesh):
    listing = grpcurl("-plaintext", mesh.appointment[0].url, "list")
    assert listing.returncode == 0, listing.stderr
    for service in ("booking.v1.AppointmentService", "booking.v1.BrochureService", "booking.v1.AdminService", "grpc.health.v1.Health"):
        assert service in listing.stdout.split()


def test_grpcurl_reads_availability_from_the_service_port(mesh):
    day = a_future_day()
    slot = add_slot(mesh.database_url, add_consultant(mesh.database_url), london(day, 10))
    result = grpcurl(
        "-plaintext", "-d", json.dumps({"type": "SHOWROOM_VISIT", "date": day.isoformat()}),
        mesh.appointment[0].url, "booking.v1.AppointmentService/ListAvailableSlots",
    )
    assert result.returncode == 0, result.stderr
    # grpcurl prints proto field names
    assert str(slot) in [s["slot_id"] for s in json.loads(result.stdout)["slots"]]


def test_the_service_reports_serving_on_grpc_health(mesh):
    result = grpcurl("-plaintext", mesh.appointment[0].url, "grpc.health.v1.Health/Check")
    assert result.returncode == 0 and json.loads(result.stdout)["status"] == "SERVING"


def test_the_gateway_answers_its_health_route_without_a_token(http):
    response = http.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "SERVING"}


def test_dates_outside_any_diary_are_a_validation_error_not_a_crash(http):
    # One case of the class; the other days are unit tests in tests/unit/test_request_conversion.py.
    response = http.get("/v1/appointments/availability", params={"type": "SHOWROOM_VISIT", "date": "9999-12-31"})
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR" and response.json()["fields"][0]["field"] == "date"


def test_a_day_beyond_the_booking_horizon_is_a_validation_error_naming_date(http):
    beyond = date.today() + timedelta(days=732)
    response = availability(http, beyond)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and [f["field"] for f in body["fields"]] == ["date"]
    assert "days ahead" in body["fields"][0]["description"]
    assert availability(http, date.today() + timedelta(days=LAST_TEST_DAY)).status_code == 200


def test_a_past_day_has_no_free_slots(http):
    response = availability(http, date.today() - timedelta(days=3))
    assert response.status_code == 200 and response.json()["slots"] == []
