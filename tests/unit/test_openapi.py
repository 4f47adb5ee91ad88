"""gateway/openapi.json: generated from the protos, valid OpenAPI 3.1, and saying what the gateway does."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import grpc_tools
import pytest
from grpc_tools import protoc
from openapi_spec_validator import validate

from gateway.config import (
    CREATE_ROUTES,
    DEFAULT_DESCRIPTOR,
    DEFAULT_OPENAPI,
    MAX_DIRECT_RESPONSE_BYTES,
    OPENAPI_ROUTE,
    PUBLIC_ROUTES,
    check_routes,
    http_rules,
)
from gateway.openapi import build, render
from mesh_common.errors import ERRORS

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(DEFAULT_OPENAPI.read_text())


def operations(document: dict) -> dict[tuple[str, str], dict]:
    return {(verb.upper(), path): op for path, item in document["paths"].items() for verb, op in item.items() if verb in METHODS}


def resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        _, kind, name = node["$ref"].lstrip("#/").split("/")
        node = document["components"][kind][name]
    return node


def as_openapi_path(template: str) -> str:
    """/v1/appointments/{booking_id}/cancel -> /v1/appointments/{bookingId}/cancel"""
    parts = template.split("{")
    return parts[0] + "".join("{" + part.split("_")[0] + "".join(w[:1].upper() + w[1:] for w in part.split("_")[1:]) for part in parts[1:])


def compile_proto(tmp_path: Path, source: str) -> Path:
    (tmp_path / "booking" / "v1").mkdir(parents=True)
    (tmp_path / "booking" / "v1" / "sample.proto").write_text(textwrap.dedent(source))
    out = tmp_path / "sample.pb"
    args = [
        "protoc", f"-I{tmp_path}", f"-I{ROOT / 'third_party' / 'googleapis'}", f"-I{Path(grpc_tools.__file__).parent / '_proto'}",
        "--include_imports", "--include_source_info", f"--descriptor_set_out={out}", "booking/v1/sample.proto",
    ]  # fmt: skip
    assert protoc.main(args) == 0
    return out


def test_the_committed_document_is_what_the_protos_generate():
    assert DEFAULT_OPENAPI.read_text() == render(DEFAULT_DESCRIPTOR), (
        "gateway/openapi.json is stale: run python scripts/gen_protos.py"
    )


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_the_document_fits_in_an_envoy_direct_response():
    assert len(DEFAULT_OPENAPI.read_bytes()) < MAX_DIRECT_RESPONSE_BYTES


def test_every_http_rule_of_the_protos_is_an_operation_and_so_is_the_document_itself(document):
    expected = {(verb, as_openapi_path(path)) for verb, path in http_rules(DEFAULT_DESCRIPTOR)} | {OPENAPI_ROUTE}
    assert set(operations(document)) == expected


def test_creates_answer_201_and_every_other_call_200(document):
    for (verb, path), op in operations(document).items():
        success = {status for status in op["responses"] if status.startswith("2")}
        assert success == ({"201"} if (verb, path) in CREATE_ROUTES else {"200"}), (verb, path)


def test_public_routes_need_no_token_and_every_other_route_a_bearer_jwt(document):
    assert document["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        **document["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
    }  # fmt: skip
    public = {route for route, op in operations(document).items() if op.get("security") == []}
    assert public == {*PUBLIC_ROUTES, OPENAPI_ROUTE}
    for op in operations(document).values():
        # Public routes too: a token that is sent must be valid.
        assert "401" in op["responses"]


def test_admin_routes_and_customer_routes_naming_a_booking_can_answer_forbidden(document):
    forbidden = {route for route, op in operations(document).items() if "403" in op["responses"]}
    assert forbidden == {route for route in operations(document) if route[1].startswith("/v1/admin/")} | {
        ("PATCH", "/v1/appointments/{bookingId}/cancel"),
        ("POST", "/v1/appointments/{bookingId}:reschedule"),
        ("GET", "/v1/appointments/{bookingId}"),
        ("DELETE", "/v1/appointments/holds/{holdId}"),
    }


def test_every_error_answer_is_the_contract_error_with_the_codes_of_its_status(document):
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message"} and set(error["properties"]) == {"code", "message", "fields"}
    assert error["properties"]["code"]["enum"] == list(ERRORS)
    for (verb, path), op in operations(document).items():
        for status, response in op["responses"].items():
            if status.startswith("2"):
                continue
            schema = resolve(document, response)["content"]["application/json"]["schema"]
            assert schema["allOf"][0] == {"$ref": "#/components/schemas/Error"}
            codes = schema["allOf"][1]["properties"]["code"]["enum"]
            assert codes == [kind.code for kind in ERRORS.values() if kind.http_status == int(status)], (verb, path, status)


def test_validation_errors_always_list_the_fields_and_rate_limits_say_when_to_retry(document):
    responses = document["components"]["responses"]
    assert responses["BadRequest"]["content"]["application/json"]["schema"]["allOf"][1]["required"] == ["fields"]
    retry = responses["TooManyRequests"]["headers"]["Retry-After"]
    assert retry["required"] is True and retry["schema"]["type"] == "integer"


def test_request_bodies_take_only_the_fields_by_their_json_names_and_not_the_path_ones(document):
    ops = operations(document)
    create = resolve(document, ops[("POST", "/v1/appointments")]["requestBody"]["content"]["application/json"]["schema"])
    assert create["additionalProperties"] is False
    assert {"firstName", "forKitchen", "slotId", "requestId"} <= set(create["properties"])
    assert "first_name" not in create["properties"] and "required" not in create
    cancel = resolve(document, ops[("PATCH", "/v1/appointments/{bookingId}/cancel")]["requestBody"]["content"]["application/json"]["schema"])
    assert set(cancel["properties"]) == {"reason"}
    assert [(p["name"], p["in"], p["required"]) for p in ops[("PATCH", "/v1/appointments/{bookingId}/cancel")]["parameters"]] == [
        ("bookingId", "path", True)
    ]


def test_gets_take_the_request_fields_the_path_does_not_bind_as_query_parameters(document):
    ops = operations(document)
    table = ops[("GET", "/v1/admin/appointments")]
    assert [p["name"] for p in table["parameters"]] == ["status", "page", "limit", "sort", "from", "to", "referenceCode", "email"]
    assert all(p["in"] == "query" and not p["required"] for p in table["parameters"])
    assert table["parameters"][0]["schema"] == {"$ref": "#/components/schemas/BookingStatus"}
    assert "requestBody" not in table
    assert [p["name"] for p in ops[("GET", "/v1/appointments/{bookingId}")]["parameters"]] == ["bookingId"]


def test_enums_are_their_names_and_responses_always_carry_the_fields_without_presence(document):
    schemas = document["components"]["schemas"]
    assert schemas["AppointmentType"]["enum"] == ["APPOINTMENT_TYPE_UNSPECIFIED", "HOME_MEASUREMENT", "SHOWROOM_VISIT", "VIDEO_CONSULTATION"]
    appointment = schemas["Appointment"]
    assert appointment["properties"]["createdAt"] == {**appointment["properties"]["createdAt"], "type": "string", "format": "date-time"}
    assert "bookingId" in appointment["required"] and "status" in appointment["required"]
    # Message fields are only printed when set (cancelledAt of a booking that is not cancelled).
    assert "slot" not in appointment["required"] and "cancelledAt" not in appointment["required"]


def test_descriptions_come_from_the_proto_comments_in_json_names(document):
    ops = operations(document)
    create = ops[("POST", "/v1/appointments")]
    assert create["description"].startswith("CreateAppointment books a slot for the calling customer.")
    assert create["summary"] == "CreateAppointment books a slot for the calling customer"
    body = document["components"]["schemas"]["CreateAppointmentRequest"]
    assert body["properties"]["firstName"]["description"] == "firstName is the customer's first name; required, at most 100 characters."
    # A field renamed in the proto (from_date: `from` is a Python keyword) is described by its JSON name.
    table = {p["name"]: p for p in ops[("GET", "/v1/admin/appointments")]["parameters"]}
    assert table["from"]["description"].startswith("from keeps bookings whose slot starts on or after this London day")
    assert "Booking mesh API" == document["info"]["title"] and "Package booking.v1" in document["info"]["description"]
    assert "HOME_MEASUREMENT` is a visit" in document["components"]["schemas"]["AppointmentType"]["description"]


SAMPLE = """\
    syntax = "proto3";
    package booking.v1;
    import "google/api/annotations.proto";
    import "google/protobuf/timestamp.proto";

    // AppointmentService is a sample.
    service AppointmentService {
      // GetThing returns a thing.
      rpc GetThing(GetThingRequest) returns (Thing) {
        option (google.api.http) = {get: "/v1/things/{thing_id}"};
      }
    }
    // Kind is a sample enum.
    enum Kind {
      // KIND_UNSPECIFIED is the default.
      KIND_UNSPECIFIED = 0;
      // BIG is big.
      BIG = 1;
    }
    // GetThingRequest is a sample request.
    message GetThingRequest {
      // thing_id names the thing.
      string thing_id = 1;
      // min_count filters.
      int64 min_count = 2;
      // limit is optional.
      optional int32 limit = 3;
      // kinds filter.
      repeated Kind kinds = 4;
      // after filters by time.
      google.protobuf.Timestamp after = 5;
    }
    // Thing is a sample response.
    message Thing {
      // Part is nested.
      message Part {
        // size is a size.
        uint64 size = 1;
      }
      // count is a 64-bit count.
      int64 count = 1;
      // limit is optional.
      optional int32 limit = 2;
      // tags map names to values.
      map<string, int64> tags = 3;
      // parts are nested messages.
      repeated Part parts = 4;
      // at is a time.
      google.protobuf.Timestamp at = 5;
      // data is bytes.
      bytes data = 6;
      // ratio is a double.
      double ratio = 7;
    }
"""


def test_proto_types_map_to_their_proto3_json_forms(tmp_path):
    document = build(compile_proto(tmp_path, SAMPLE))
    validate(document)
    thing = document["components"]["schemas"]["Thing"]
    props = thing["properties"]
    assert props["count"]["type"] == "string" and props["count"]["pattern"] == "^-?[0-9]+$"
    assert props["limit"]["type"] == "integer"
    assert props["tags"]["type"] == "object" and props["tags"]["additionalProperties"]["type"] == "string"
    assert props["parts"] == {**props["parts"], "type": "array", "items": {"$ref": "#/components/schemas/Part"}}
    assert document["components"]["schemas"]["Part"]["properties"]["size"]["pattern"] == "^[0-9]+$"
    assert props["at"]["format"] == "date-time" and props["data"]["contentEncoding"] == "base64"
    assert props["ratio"]["type"] == "number"
    # optional and message fields have presence: absent when unset, so not required.
    assert set(thing["required"]) == {"count", "tags", "parts", "data", "ratio"}
    (op,) = [item["get"] for item in document["paths"].values() if "get" in item and item["get"]["operationId"] == "GetThing"]
    params = {p["name"]: p for p in op["parameters"]}
    assert list(params) == ["thingId", "minCount", "limit", "kinds", "after"]
    assert params["kinds"]["schema"] == {"type": "array", "items": {"$ref": "#/components/schemas/Kind"}}
    assert params["kinds"]["explode"] is True and params["after"]["schema"]["format"] == "date-time"
    assert "/v1/things/{thingId}" in document["paths"]


def test_the_gateway_refuses_an_rpc_on_the_route_of_the_openapi_document(tmp_path):
    source = SAMPLE.replace('get: "/v1/things/{thing_id}"', f'get: "{OPENAPI_ROUTE[1]}"')
    with pytest.raises(ValueError, match="OpenAPI"):
        check_routes(compile_proto(tmp_path, source))
