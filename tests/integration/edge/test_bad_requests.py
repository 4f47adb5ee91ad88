"""Requests the edge refuses before the upstream sees them: unknown paths and parameters, bad bodies, sizes."""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from mesh_common.auth import Role, issue_token
from tests.integration.edge.helpers import (
    AVAILABILITY,
    BOOKING_FORM,
    BROCHURE_FORM,
    DAY,
    INTERNALS,
    assert_error,
    assert_plain_sentence,
    bearer,
    raw_get,
    raw_request,
)
from tests.integration.gateway_fakes import (
    BOOKING_ID,
    CONSULTANT_ID,
)

# ------------------------------------------------------------------------------- bad requests


def test_unknown_path_with_a_token_is_404_json(client, upstream, customer):
    assert_error(client.get("/v1/no-such-thing", headers=bearer(customer)), 404, "NOT_FOUND")
    assert_error(client.get("/healthz-or-whatever", headers=bearer(customer)), 404, "NOT_FOUND")
    assert_error(client.delete("/v1/appointments", headers=bearer(customer)), 404, "NOT_FOUND")
    assert upstream.methods_seen == []


def test_unknown_query_parameter_is_400(client, upstream):
    body = assert_error(client.get(AVAILABILITY, params={**DAY, "foo": "1"}), 400, "VALIDATION_ERROR")

    assert body["fields"] == [{"field": "foo", "description": "is not a known parameter"}]
    assert_plain_sentence(body["message"])
    assert upstream.calls == []


@pytest.mark.parametrize("name", ["<script>", "x" * 100])
def test_an_unknown_query_parameter_is_not_echoed_unless_it_is_a_plain_name(gateway, upstream, name):
    response = raw_get(gateway, f"{AVAILABILITY}?type=HOME_MEASUREMENT&{quote(name)}=1")

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["fields"] == [] and name not in response.text
    assert_plain_sentence(body["message"])


OTHER_BOOKING = "11111111-2222-4333-8444-555555555555"


@pytest.mark.parametrize(
    ("method", "target", "role", "field"),
    [
        ("PATCH", f"/v1/appointments/{BOOKING_ID}/cancel?bookingId={OTHER_BOOKING}", Role.CUSTOMER, "bookingId"),
        ("PATCH", f"/v1/appointments/{BOOKING_ID}/cancel?booking_id={OTHER_BOOKING}", Role.CUSTOMER, "bookingId"),
        ("GET", f"/v1/appointments/{BOOKING_ID}?bookingId={OTHER_BOOKING}", Role.CUSTOMER, "bookingId"),
        ("GET", f"/v1/appointments/{BOOKING_ID}?booking_id={OTHER_BOOKING}", Role.CUSTOMER, "bookingId"),
        ("GET", f"/v1/appointments/{BOOKING_ID}?%62ooking%5Fid={OTHER_BOOKING}", Role.CUSTOMER, "bookingId"),
        ("GET", f"/v1/appointments/{BOOKING_ID}?BookingID={OTHER_BOOKING}", Role.CUSTOMER, "bookingId"),
        ("GET", f"/v1/appointments/{BOOKING_ID}/?bookingId={OTHER_BOOKING}", Role.CUSTOMER, "bookingId"),
        ("GET", f"/v1/appointments/{BOOKING_ID}?bookingId.x=1", Role.CUSTOMER, "bookingId"),
        ("GET", f"/v1/admin/appointments/{BOOKING_ID}?bookingId={OTHER_BOOKING}", Role.ADMIN, "bookingId"),
        ("POST", f"/v1/admin/appointments/{BOOKING_ID}/confirm?booking_id={OTHER_BOOKING}", Role.ADMIN, "bookingId"),
        ("POST", "/v1/admin/slots/slot-a/block?slotId=slot-b", Role.ADMIN, "slotId"),
        ("POST", "/v1/admin/slots/slot-a/unblock?slot_id=slot-b", Role.ADMIN, "slotId"),
    ],
    ids=["cancel-camel", "cancel-snake", "get-camel", "get-snake", "get-percent-encoded", "get-other-case",
         "get-trailing-slash", "get-subfield", "admin-get", "admin-confirm", "block", "unblock"],
)  # fmt: skip
def test_a_query_parameter_cannot_override_a_path_variable(gateway, upstream, keys, method, target, role, field):
    headers = {**bearer(issue_token(keys, "someone", role)), "content-type": "application/json"}

    response = raw_request(gateway, method, target, headers, b"{}" if method != "GET" else None)

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert [f["field"] for f in body["fields"]] == [field]
    assert_plain_sentence(body["message"])
    assert upstream.methods_seen == []


def test_a_body_field_cannot_override_a_path_variable(client, upstream, customer):
    # The body cannot pick another booking than the path either; the transcoder would drop it
    # silently (the path wins), the strict gateway says so.
    response = client.patch(f"/v1/appointments/{BOOKING_ID}/cancel", json={"reason": "x", "bookingId": OTHER_BOOKING},
                            headers=bearer(customer))  # fmt: skip

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["fields"] == [{"field": "bookingId", "description": "is set by the request path and cannot be given in the body"}]
    assert upstream.calls == []


@pytest.mark.parametrize(
    ("method", "target", "role", "body", "fields"),
    [
        ("POST", "/v1/appointments?firstName=Mallory", Role.CUSTOMER, BOOKING_FORM, ["firstName"]),
        ("POST", "/v1/appointments?first_name=Mallory&email=m%40x.test", Role.CUSTOMER, BOOKING_FORM, ["firstName", "email"]),
        ("POST", "/v1/brochures?email=m%40x.test", None, BROCHURE_FORM, ["email"]),
        ("PATCH", f"/v1/appointments/{BOOKING_ID}/cancel?reason=other", Role.CUSTOMER, {"reason": "moved"}, ["reason"]),
        ("POST", "/v1/admin/slots?type=SHOWROOM_VISIT", Role.ADMIN, {"consultantId": CONSULTANT_ID}, ["type"]),
        ("POST", "/v1/admin/consultants?%3Cb%3E=1", Role.ADMIN, {"name": "Ada"}, []),
    ],
    ids=["create", "create-snake-two", "public-brochure", "cancel", "admin-slot", "odd-name-not-echoed"],
)  # fmt: skip
def test_non_get_calls_take_no_query_string(gateway, upstream, keys, method, target, role, body, fields):
    headers = {"content-type": "application/json", **(bearer(issue_token(keys, "someone", role)) if role else {})}

    response = raw_request(gateway, method, target, headers, json.dumps(body).encode())

    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert [f["field"] for f in error["fields"]] == fields
    assert "<b>" not in response.text
    assert_plain_sentence(error["message"])
    assert upstream.methods_seen == []


SECRET_INPUT = "hunter2-secret-input"


@pytest.mark.parametrize(
    ("content", "message", "fields"),
    [
        (b'{"type": "HOME_MEASUREMENT", "firstName":', "The request body is not valid JSON.", []),
        (f"not json at all {SECRET_INPUT}".encode(), "The request body is not valid JSON.", []),
        (f'{{"firstName": "a"}} {SECRET_INPUT}'.encode(), "The request body is not valid JSON.", []),
        (f'{{"firstName": "{SECRET_INPUT}\xff"}}'.encode("latin-1"), "The request body is not valid JSON.", []),
        (b"[1, 2]", "The request body must be a JSON object.", []),
        (json.dumps({**BOOKING_FORM, "firstName": 123}).encode(), "Field 'firstName' has the wrong type.", ["firstName"]),
        (json.dumps({**BOOKING_FORM, "forKitchen": 7}).encode(), "Field 'forKitchen' has the wrong type.", ["forKitchen"]),
        (json.dumps({**BOOKING_FORM, "type": SECRET_INPUT}).encode(), "Field 'type' has an unknown value.", ["type"]),
        (json.dumps({**BOOKING_FORM, "firstName": {"a": 1}}).encode(), "Field 'firstName' has the wrong type.", ["firstName"]),
        # Checked by the gateway's strict schema now, which names the field.
        (json.dumps({**BOOKING_FORM, "firstName": [SECRET_INPUT]}).encode(), "Field 'firstName' has the wrong type.",
         ["firstName"]),
    ],
    ids=["truncated", "not-json", "trailing-garbage", "not-utf8", "array", "number-for-string", "number-for-bool",
         "unknown-enum", "object-for-string", "list-for-string"],
)  # fmt: skip
def test_bad_json_bodies_are_400_with_a_plain_sentence(client, upstream, customer, content, message, fields):
    response = client.post("/v1/appointments", content=content, headers={**bearer(customer), "content-type": "application/json"})

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["message"] == message
    assert [f["field"] for f in body["fields"]] == fields
    assert SECRET_INPUT not in response.text
    assert_plain_sentence(body["message"])
    assert upstream.calls == []


def test_a_form_encoded_body_is_not_echoed(client, upstream, customer):
    response = client.post("/v1/appointments", data={"firstName": "Jane", "password": SECRET_INPUT}, headers=bearer(customer))

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["message"] == "The request body is not valid JSON."
    assert SECRET_INPUT not in response.text and "firstName=" not in response.text
    assert upstream.calls == []


@pytest.mark.parametrize(
    ("path", "payload", "message", "field"),
    [
        # The transcoder says [0] whichever element is wrong, so the list is named instead.
        ("/v1/admin/consultants", {"name": "Ada", "categories": ["GARAGE"]},
         "Field 'categories' has an item that has an unknown value.", "categories"),
        ("/v1/admin/consultants", {"name": "Ada", "categories": ["KITCHEN", "GARAGE"]},
         "Field 'categories' has an item that has an unknown value.", "categories"),
        ("/v1/admin/consultants", {"name": "Ada", "categories": {"a": 1}}, "Field 'categories' has the wrong type.", "categories"),
        ("/v1/admin/slots", {"consultantId": CONSULTANT_ID, "startsAt": "next tuesday"},
         "Field 'startsAt' is not a valid timestamp (RFC 3339, for example 2030-01-01T10:00:00Z).", "startsAt"),
        ("/v1/admin/slots", {"consultantId": CONSULTANT_ID, "endsAt": 12}, "Field 'endsAt' is not a valid timestamp "
         "(RFC 3339, for example 2030-01-01T10:00:00Z).", "endsAt"),
        ("/v1/admin/slots:generate", {"consultantId": CONSULTANT_ID, "weekdays": [1, "x"]},
         "Field 'weekdays' has an item that has the wrong type.", "weekdays"),
        ("/v1/admin/slots:generate", {"consultantId": CONSULTANT_ID, "weekdays": [99999999999]},
         "Field 'weekdays' has an item that is not a whole number in range.", "weekdays"),
    ],
    ids=["unknown-enum-in-list", "unknown-enum-second-in-list", "object-for-list", "bad-timestamp", "number-for-timestamp",
         "string-in-int-list", "int-out-of-range"],
)  # fmt: skip
def test_transcoder_errors_name_the_field(client, upstream, admin, path, payload, message, field):
    body = assert_error(client.post(path, json=payload, headers=bearer(admin)), 400, "VALIDATION_ERROR")

    assert body["message"] == message
    assert [f["field"] for f in body["fields"]] == [field]
    assert_plain_sentence(body["message"])
    assert all(not INTERNALS.search(f["description"]) for f in body["fields"])
    assert upstream.calls == []


@pytest.mark.parametrize(
    ("path", "params", "role", "message", "field"),
    [
        (AVAILABILITY, {**DAY, "type": "SPACE_WALK"}, None, "Field 'type' has an unknown value.", "type"),
        ("/v1/admin/appointments", {"page": "abc"}, Role.ADMIN, "Field 'page' has the wrong type.", "page"),
    ],
    ids=["unknown-enum", "not-a-number"],
)  # fmt: skip
def test_bad_query_values_are_400_with_the_field(client, upstream, keys, path, params, role, message, field):
    headers = bearer(issue_token(keys, "someone", role)) if role else {}

    body = assert_error(client.get(path, params=params, headers=headers), 400, "VALIDATION_ERROR")

    assert body["message"] == message
    assert [f["field"] for f in body["fields"]] == [field]
    assert "SPACE_WALK" not in body["message"]
    assert upstream.calls == []


def test_an_oversized_body_is_413_json(client, upstream):
    response = client.post("/v1/brochures", json={**BROCHURE_FORM, "address": "x" * 2_000_000})

    assert_error(response, 413, "VALIDATION_ERROR")
    assert upstream.calls == []


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        (AVAILABILITY, {"x-padding": "a" * 70_000}),
        (AVAILABILITY, {f"x-padding-{i}": "a" for i in range(200)}),
        (f"{AVAILABILITY}?type=HOME_MEASUREMENT&date={'a' * 70_000}", {}),
    ],
    ids=["one-huge-header", "too-many-headers", "huge-query-string"],
)
def test_oversized_headers_or_query_strings_are_400(gateway, upstream, target, headers):
    # Envoy's codec answers 431, which the contract's table does not have.
    response = raw_get(gateway, target, headers)

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body == {"code": "VALIDATION_ERROR", "message": "The request headers or query string are too large.", "fields": []}
    assert upstream.methods_seen == []


def test_a_malformed_request_is_400_without_detail(gateway, upstream):
    response = raw_get(gateway, AVAILABILITY, {"bad header": SECRET_INPUT})

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body == {"code": "VALIDATION_ERROR", "message": "The request is invalid.", "fields": []}
    assert upstream.methods_seen == []
