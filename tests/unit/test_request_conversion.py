"""Each request's conversion at the service's edge refuses bad input and names the field.

These are the values the e2e suite used to push one by one through Envoy and the services; e2e now
keeps one case per error class and the values live here, where the rule is. The JSON bodies and
query parameters are read as the gateway's transcoder reads them (camelCase JSON into the request).
"""
from __future__ import annotations

import uuid

import pytest
from google.protobuf import json_format

from appointment_svc.domain.errors import ValidationFailed
from appointment_svc.entrypoints.admin import new_consultant, slot_calendar_query, slot_generation, table_query
from appointment_svc.entrypoints.convert import availability_query, book_slot_command, reschedule_target
from booking.v1 import admin_service_pb2 as admin_pb
from booking.v1 import appointment_service_pb2 as appointment_pb
from tests.integration.booking_fixtures import booking_form


def refused_fields(convert, message) -> set[str]:
    with pytest.raises(ValidationFailed) as raised:
        convert(message)
    return {v.field for v in raised.value.violations}


def read(json: dict, request_type):
    return json_format.ParseDict(json, request_type())


def test_the_booking_form_of_the_e2e_suite_converts():
    command = book_slot_command(read(booking_form(uuid.uuid4()), appointment_pb.CreateAppointmentRequest), "alice")
    assert command.for_kitchen and command.contact.first_name == "Jane"


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"firstName": "", "email": "not-an-email"}, {"firstName", "email"}),
        ({"phone": "12345", "postcode": "NOWHERE"}, {"phone", "postcode"}),
        ({"forKitchen": False, "forBedroom": False}, {"forKitchen"}),
        ({"type": "HOME_MEASUREMENT", "address": ""}, {"address"}),
        ({"slotId": "not-a-uuid"}, {"slotId"}),
    ],
)
def test_a_bad_booking_form_names_the_offending_fields(overrides, fields):
    request = read(booking_form(uuid.uuid4(), **overrides), appointment_pb.CreateAppointmentRequest)
    assert refused_fields(lambda r: book_slot_command(r, "alice"), request) == fields


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1999-12-31", "3000-01-01"])
def test_availability_for_a_day_outside_any_diary_is_refused_on_date(day):
    request = read({"type": "SHOWROOM_VISIT", "date": day}, appointment_pb.ListAvailableSlotsRequest)
    assert refused_fields(availability_query, request) == {"date"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": -5}, "limit"),
        ({"limit": 0}, "limit"),
        ({"page": -1}, "page"),
        ({"page": 0}, "page"),
        ({"sort": "name"}, "sort"),
        ({"sort": "-updatedAt"}, "sort"),
        ({"from": "2030-02-30"}, "from"),
        ({"from": "2030-03-02", "to": "2030-03-01"}, "to"),
        ({"from": "9999-12-31"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01"}, "from"),
        ({"referenceCode": "BK-123"}, "referenceCode"),
    ],
)
def test_bad_admin_table_parameters_are_refused_not_clamped_or_defaulted(params, field):
    assert refused_fields(table_query, read(params, admin_pb.ListAppointmentsRequest)) == {field}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"avatarUrl": "https://a.example/x.png", "categories": ["KITCHEN"]}, "name"),
        ({"name": "A", "avatarUrl": "/x.png", "categories": ["KITCHEN"]}, "avatarUrl"),
        ({"name": "A", "avatarUrl": "ftp://a.example/x.png", "categories": ["KITCHEN"]}, "avatarUrl"),
        ({"name": "A", "avatarUrl": "https://a.example/x.png", "categories": []}, "categories"),
    ],
)
def test_a_consultant_needs_a_name_a_web_avatar_and_a_category(body, field):
    assert refused_fields(new_consultant, read(body, admin_pb.CreateConsultantRequest)) == {field}


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
def test_a_bad_slot_pattern_names_the_field(overrides, field):
    pattern = {"consultantId": str(uuid.uuid4()), "type": "VIDEO_CONSULTATION", "fromDate": "2040-01-02", "toDate": "2040-01-31",
               "weekdays": [1], "dayStart": "09:00", "dayEnd": "12:00", "slotMinutes": 30, **overrides}  # fmt: skip
    assert refused_fields(slot_generation, read(pattern, admin_pb.GenerateSlotsRequest)) == {field}


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "date"), ({"date": "2030-02-30"}, "date"), ({"date": "tomorrow"}, "date"),
     ({"date": "2030-01-07", "consultantId": "sam"}, "consultantId")],
)  # fmt: skip
def test_a_bad_calendar_query_names_the_field(params, field):
    assert refused_fields(slot_calendar_query, read(params, admin_pb.ListSlotsRequest)) == {field}


# -- RescheduleAppointment (issue 14)


def test_a_reschedule_names_a_booking_and_a_slot_by_uuid():
    booking, slot = uuid.uuid4(), uuid.uuid4()
    request = json_format.ParseDict({"bookingId": str(booking), "slotId": str(slot).upper()}, appointment_pb.RescheduleAppointmentRequest())
    assert reschedule_target(request) == (booking, slot)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["bookingId", "slotId"]),
        ({"bookingId": "6f1c2a8e-2d4b-4c55-9b1e-0a7c3f1d9e21"}, ["slotId"]),
        ({"bookingId": "6f1c2a8e-2d4b-4c55-9b1e-0a7c3f1d9e21", "slotId": "{0b7d9a52-5a0e-4f3a-8a8e-6c1f2e3d4b5a}"}, ["slotId"]),
        ({"bookingId": "42", "slotId": "0b7d9a525a0e4f3a8a8e6c1f2e3d4b5a"}, ["bookingId", "slotId"]),
    ],
)
def test_a_reschedule_reports_every_malformed_id_at_once(body, fields):
    with pytest.raises(ValidationFailed) as raised:
        reschedule_target(json_format.ParseDict(body, appointment_pb.RescheduleAppointmentRequest()))
    assert [v.field for v in raised.value.violations] == fields
