"""What the gateway renders: filter order, Lua tables from the error table and the protos, limits."""
from __future__ import annotations

import re

import pytest

from gateway.config import DEFAULT_DESCRIPTOR, JSON_LUA_MODULE, LUA_SCRIPT, lua_code
from mesh_common.errors import ERRORS
from tests.gateway_rendering import endpoints, http_filters, jwks_file, render  # noqa: F401 (jwks_file is the jwks_path fixture)


def test_filter_chain_order(jwks_path):
    text = render(jwks_path)
    assert http_filters(text) == ["compressor", "cors", "local_ratelimit", "jwt_authn", "lua.token_rule", "rbac", "lua", "buffer",
                                  "grpc_json_transcoder", "router"]
    for setting in ("normalize_path: true", "merge_slashes: true", "path_with_escaped_slashes_action: REJECT_REQUEST"):
        assert setting in text


def test_lua_status_table_is_rendered_from_the_error_table():
    code = lua_code()
    table = dict(re.findall(r'\["([A-Z_]+)"\] = (\d+),', code.split("GRPC_FALLBACK")[0]))
    assert {name: int(status) for name, status in table.items()} == {k.code: k.http_status for k in ERRORS.values()}


def test_at_least_one_upstream_is_required(jwks_path):
    with pytest.raises(ValueError):
        render(jwks_path, upstreams=[])


def test_every_rest_route_is_under_the_authenticated_prefix():
    from gateway.config import API_PREFIX, CREATE_ROUTES, PUBLIC_ROUTES, check_routes, http_rules

    rules = http_rules(DEFAULT_DESCRIPTOR)
    assert len(rules) == 26  # 19 + SetConsultantAreas + RescheduleAppointment + CreateSlotHold + ReleaseSlotHold (issue 14) + ExportMyData + EraseMyData + ErasePersonalData (issue 15)
    assert all(path.startswith(API_PREFIX) for _, path in rules)
    assert set(PUBLIC_ROUTES) <= set(rules) and set(CREATE_ROUTES) <= set(rules)
    assert all(path.startswith("/v1/admin/") for _, path in http_rules(DEFAULT_DESCRIPTOR, ["booking.v1.AdminService"]))
    check_routes(DEFAULT_DESCRIPTOR)


def test_tokens_without_exp_are_refused(jwks_path):
    provider = render(jwks_path).split("providers:", 1)[1].split("rules:", 1)[0]
    assert "require_expiration: true" in provider


def test_431_is_mapped_to_the_contracts_400(jwks_path):
    mappers = render(jwks_path).split("mappers:", 1)[1].split("route_config:", 1)[0]
    block = mappers.split("default_value: 431", 1)[1].split("- filter:", 1)[0]
    assert "status_code: 400" in block and "code: VALIDATION_ERROR" in block and "fields: []" in block


@pytest.mark.parametrize(
    ("template", "pattern", "fields"),
    [
        ("/v1/appointments/{booking_id}/cancel", "^%/v1%/appointments%/[^/]+%/cancel$", ["booking_id"]),
        ("/v1/admin/appointments/{booking_id}/no-show", "^%/v1%/admin%/appointments%/[^/]+%/no%-show$", ["booking_id"]),
        ("/v1/Shelves/{shelf.id=*}/books/{name=books/**}:get", "^%/v1%/shelves%/[^/]+%/books%/books%/.*%:get$",
         ["shelf.id", "name"]),
        ("/v1/appointments", "^%/v1%/appointments$", []),
    ],
)  # fmt: skip
def test_path_templates_become_lua_patterns(template, pattern, fields):
    from gateway.config import path_template_pattern

    assert path_template_pattern(template) == (pattern, fields)


def test_every_path_variable_of_the_descriptor_is_guarded():
    from gateway.config import http_rules, path_bindings

    bindings = path_bindings(DEFAULT_DESCRIPTOR)
    templated = [(method, path) for method, path in http_rules(DEFAULT_DESCRIPTOR) if "{" in path]
    assert len(bindings) == len(templated) == 12  # 9 + SetConsultantAreas + RescheduleAppointment + ReleaseSlotHold (issue 14)
    assert ("PATCH", "^%/v1%/appointments%/[^/]+%/cancel$", ["booking_id"]) in bindings
    assert ("POST", "^%/v1%/appointments%/[^/]+%:reschedule$", ["booking_id"]) in bindings
    assert ("POST", "^%/v1%/admin%/slots%/[^/]+%/block$", ["slot_id"]) in bindings
    code = lua_code()
    assert 'method = "PATCH", pattern = "^%/v1%/appointments%/[^/]+%/cancel$", fields = { "booking_id" }' in code


def test_the_lua_knows_the_descriptors_enums():
    from gateway.config import enum_types

    assert enum_types(DEFAULT_DESCRIPTOR) == [
        "booking.v1.AppointmentType", "booking.v1.BookingStatus", "booking.v1.Category", "booking.v1.HistoryEntryKind",
        "booking.v1.SlotState",
    ]  # fmt: skip
    assert '["booking.v1.Category"] = true' in lua_code()


def test_the_request_schema_comes_from_the_protos():
    from gateway.config import request_schemas

    generated = request_schemas(DEFAULT_DESCRIPTOR)
    booking = generated["REQUEST_SCHEMAS"]["booking.v1.CreateAppointmentRequest"]
    assert booking["forKitchen"] == {"kind": "bool", "repeated": False}
    assert booking["type"] == {"kind": "enum", "type": "booking.v1.AppointmentType", "repeated": False}
    assert "for_kitchen" not in booking  # one spelling: the JSON name
    generate = generated["REQUEST_SCHEMAS"]["booking.v1.GenerateSlotsRequest"]
    assert generate["weekdays"] == {"kind": "int32", "repeated": True}
    assert generated["REQUEST_SCHEMAS"]["booking.v1.CreateSlotRequest"]["startsAt"]["kind"] == "timestamp"
    assert set(generated["ENUM_VALUES"]["booking.v1.Category"]) == {"CATEGORY_UNSPECIFIED", "KITCHEN", "BEDROOM"}
    cancel = [r for r in generated["REQUEST_ROUTES"] if r["method"] == "PATCH"]
    assert cancel == [{"method": "PATCH", "pattern": "^%/v1%/appointments%/[^/]+%/cancel$",
                       "message": "booking.v1.CancelAppointmentRequest", "body": True, "bound": {"bookingId": True}}]  # fmt: skip
    # Literal paths come before templated ones, as the transcoder matches them.
    patterns = [r["pattern"] for r in generated["REQUEST_ROUTES"] if r["method"] == "GET"]
    assert patterns.index("^%/v1%/appointments%/availability$") < patterns.index("^%/v1%/appointments%/[^/]+$")


def test_the_gateway_renders_the_token_rule_of_mesh_common_auth(jwks_path):
    from mesh_common.auth import CLOCK_SKEW_SECONDS, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS

    text = render(jwks_path)
    assert f"clock_skew_seconds: {CLOCK_SKEW_SECONDS}\n" in text
    assert f"CLOCK_SKEW_SECONDS = {CLOCK_SKEW_SECONDS}\n" in text
    assert f"MAX_TOKEN_LIFETIME_SECONDS = {DEFAULT_MAX_TOKEN_LIFETIME_SECONDS}\n" in text
    assert "MAX_TOKEN_LIFETIME_SECONDS = 600\n" in render(jwks_path, max_token_lifetime_seconds=600)
    # Envoy's own reason ("Jwks doesn't have key to match kid") never reaches a client.
    mappers = text.split("mappers:", 1)[1].split("route_config:", 1)[0].split("- filter:")
    assert all("%LOCAL_REPLY_BODY%" not in block for block in mappers if "code: UNAUTHENTICATED" in block)


@pytest.mark.parametrize("limits", [{"brochure_limit_per_client": 0}, {"brochure_limit_global": -1},
                                    {"brochure_limit_window_seconds": 0}, {"xff_num_trusted_hops": -1}])  # fmt: skip
def test_nonsense_limits_are_refused(jwks_path, limits):
    with pytest.raises(ValueError):
        render(jwks_path, **limits)


def test_the_lua_filter_reads_json_with_the_one_shared_reader():
    code = lua_code()
    reader = JSON_LUA_MODULE.read_text()
    assert code.count(reader) == 1
    # Before the script that uses it, and the script has no reader of its own.
    assert code.index(reader) < code.index(LUA_SCRIPT.read_text())
    assert "json.decode(" in LUA_SCRIPT.read_text()
    assert not [line for line in LUA_SCRIPT.read_text().splitlines() if "_string(s, i" in line or "skip_ws" in line]
