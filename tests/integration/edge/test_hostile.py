"""Hostile input at the edge (issue 9): the real Envoy in front of the fake gRPC upstream.

Bad input is always a 4xx in the contract's JSON and never reaches the upstream: bytes that
are not UTF-8 text, odd framing, oversized headers, lenient JSON, sloppy query strings,
tokens breaking the token rule. The brochure route is rate limited per client and in all.
"""
from __future__ import annotations

import json
import socket
import time

import jwt
import pytest

from booking_mesh.embedded.envoy import EnvoyGateway
from mesh_common.auth import CLOCK_SKEW_SECONDS, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, KeyPair, Role, issue_token
from tests.integration.edge.helpers import (
    AVAILABILITY,
    BOOKING_FORM,
    BROCHURE_FORM,
    assert_error,
    assert_plain_sentence,
    bearer,
    raw_request,
)
from tests.integration.gateway_fakes import BOOKING_ID, CONSULTANT_ID, SLOT_ID

# ------------------------------------------------------------------------------- class 1: no 5xx


@pytest.mark.parametrize(
    ("method", "target", "role"),
    [
        ("GET", f"{AVAILABILITY}?type=HOME_MEASUREMENT&date=%ff", None),
        ("GET", "/v1/appointments/%ff", Role.CUSTOMER),
        ("GET", "/v1/admin/appointments?email=%ff", Role.ADMIN),
        ("POST", "/v1/admin/slots/%ff/block", Role.ADMIN),
        ("GET", f"{AVAILABILITY}?type=HOME_MEASUREMENT&date=%c0%af", None),
        ("GET", f"{AVAILABILITY}?type=HOME_MEASUREMENT&date=%ed%a0%80", None),
        ("GET", f"{AVAILABILITY}?type=HOME_MEASUREMENT&date=2030-01-01%00", None),
        ("GET", f"{AVAILABILITY}?type=HOME_MEASUREMENT&%ff=1", None),
        ("GET", "/v1/appointments/%f4%90%80%80", Role.CUSTOMER),
        ("GET", f"{AVAILABILITY}?type=HOME_MEASUREMENT&date=%zz", None),
        ("GET", f"{AVAILABILITY}?type=HOME_MEASUREMENT&date=2030-01-01%", None),
        ("GET", "/v1/appointments/%zz", Role.CUSTOMER),
    ],
    ids=["query-value", "path-variable", "admin-query", "admin-path", "overlong", "surrogate", "nul", "query-name",
         "past-unicode", "broken-escape-in-query", "lone-percent", "broken-escape-in-path"],
)  # fmt: skip
def test_bytes_that_are_not_utf8_text_are_400_not_500(gateway, upstream, keys, method, target, role):
    headers = {"content-type": "application/json", **(bearer(issue_token(keys, "someone", role)) if role else {})}

    response = raw_request(gateway, method, target, headers, b"{}" if method == "POST" else None)

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert "UTF-8" in body["message"]
    assert_plain_sentence(body["message"])
    assert upstream.methods_seen == []


def _raw_exchange(gateway: EnvoyGateway, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (http.client would fix the framing) and read one response."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict((k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:]))
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return int(lines[0].split()[1]), headers, rest[:length]


@pytest.mark.parametrize("encoding", ["gzip", "identity", "chunked, gzip", "x-unknown", "compress"])
def test_an_odd_transfer_encoding_is_400_json(gateway, upstream, encoding):
    request = (f"POST /v1/brochures HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n"
               f"Transfer-Encoding: {encoding}\r\n\r\n2\r\n{{}}\r\n0\r\n\r\n").encode()  # fmt: skip

    status, headers, body = _raw_exchange(gateway, request)

    assert status == 400, body
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["code"] == "VALIDATION_ERROR"
    assert upstream.methods_seen == []


def test_an_http_1_0_client_is_served(gateway, upstream):
    status, headers, body = _raw_exchange(gateway, f"GET {AVAILABILITY}?type=HOME_MEASUREMENT&date=2030-01-01 HTTP/1.0\r\n\r\n".encode())

    assert status == 200, body
    assert len(json.loads(body)["slots"]) == 2


@pytest.mark.parametrize("size", [9_000, 20_000, 30_000, 34_000, 45_000, 59_000])
def test_large_headers_are_served_or_400_but_never_a_429(gateway, upstream, size):
    # gRPC's default metadata limit (8 KB) used to turn 9-60 KB of headers into RESOURCE_EXHAUSTED,
    # a 429 telling clients to back off; now the gateway's 32 KB limit decides first.
    response = raw_request(gateway, "GET", f"{AVAILABILITY}?type=HOME_MEASUREMENT&date=2030-01-01", {"x-padding": "a" * size})

    if size <= 30_000:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, 400, "VALIDATION_ERROR")
        assert upstream.methods_seen == []


@pytest.mark.parametrize(
    "header",
    [("grpc-timeout", "garbage"), ("grpc-timeout", "1n"), ("grpc-encoding", "gzip"), ("x-trace-bin", "***"),
     ("grpc-accept-encoding", "bogus"), ("x!y", "1"), ("x~tilde", "1"), ("x-latin", "caf\u00e9"), ("x-tab", "a\tb")],
    ids=["bad-timeout", "tiny-timeout", "compressed", "bad-binary-metadata", "odd-accept-encoding",
         "name-gRPC-cannot-carry", "another-such-name", "non-ascii-value", "tab-in-value"],
)  # fmt: skip
def test_grpc_headers_from_a_rest_client_are_not_forwarded(gateway, upstream, header):
    # Forwarded, the upstream would fail to parse them (500) or obey them (a 1 ns deadline); HTTP
    # allows names and values that gRPC metadata cannot carry (found by the fuzzer: a 500).
    response = raw_request(gateway, "GET", f"{AVAILABILITY}?type=HOME_MEASUREMENT&date=2030-01-01", dict([header]))

    assert response.status_code == 200, response.text
    assert header[0] not in upstream.calls[0].metadata


# ------------------------------------------------------------------------------- class 2: strict JSON

CANCEL = f"/v1/appointments/{BOOKING_ID}/cancel"
GOOD_BOOKING = json.dumps(BOOKING_FORM)


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (json.dumps({**BOOKING_FORM, "forKitchen": "yes"}), "forKitchen"),
        (json.dumps({**BOOKING_FORM, "forKitchen": 1}), "forKitchen"),
        (json.dumps({**BOOKING_FORM, "type": 1}), "type"),
        (json.dumps({**BOOKING_FORM, "firstName": None, "isAdmin": True}), "isAdmin"),
        (json.dumps({**BOOKING_FORM, "userId": "someone-else"}), "userId"),
        (json.dumps({**BOOKING_FORM, "status": "CONFIRMED"}), "status"),
        (json.dumps({**BOOKING_FORM, "first_name": "Mallory"}), "first_name"),
        (GOOD_BOOKING[:-1] + ', "firstName": "Mallory"}', "firstName"),
        (GOOD_BOOKING[:-1] + ', "first\\u004eame": "Mallory"}', "firstName"),
        (json.dumps({**BOOKING_FORM, "firstName": "Jane\u0000"}), None),
        (GOOD_BOOKING.replace('"Jane"', '"\\ud800"'), None),
        (GOOD_BOOKING.replace('"firstName"', "'firstName'"), None),
        (GOOD_BOOKING.replace('"firstName"', "firstName"), None),
        (GOOD_BOOKING[:-1] + ",}", None),
        (GOOD_BOOKING[:-1] + ', "requestId": "a",}', None),
        ("/* note */ " + GOOD_BOOKING, None),
        (GOOD_BOOKING[:-1] + ', "requestId": NaN}', None),
        (GOOD_BOOKING.replace('"Jane"', '"Ja\tne"'), None),
    ],
    ids=["string-for-bool", "number-for-bool", "numeric-enum", "isAdmin", "userId", "status", "snake-case-name",
         "duplicate-key", "duplicate-key-escaped", "nul-character", "lone-surrogate", "single-quotes", "unquoted-key",
         "trailing-comma", "trailing-comma-after-value", "comment", "nan", "raw-tab-in-string"],
)  # fmt: skip
def test_bodies_must_be_strict_json_of_the_request_message(client, upstream, customer, content, field):
    response = client.post("/v1/appointments", content=content.encode(), headers={**bearer(customer), "content-type": "application/json"})

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert_plain_sentence(body["message"])
    if field is None:
        # Not JSON (or not text) at all: nothing to name.
        assert body == {"code": "VALIDATION_ERROR", "message": "The request body is not valid JSON.", "fields": []}
    else:
        assert [f["field"] for f in body["fields"]] == [field]
        assert body["message"].startswith(f"Field '{field}' ")
    assert upstream.calls == []


@pytest.mark.parametrize(
    ("number", "ok"),
    [("30", True), ("-0", True), ("0", True), ("030", False), ("30.", False), (".5", False), ("1e1", False), ("+3", False),
     ("2147483648", False), ("30.0", False), ("Infinity", False)],
)  # fmt: skip
def test_whole_number_fields_take_plain_json_integers(client, upstream, admin, number, ok):
    content = f'{{"consultantId": "{CONSULTANT_ID}", "slotMinutes": {number}}}'

    response = client.post("/v1/admin/slots:generate", content=content.encode(), headers={**bearer(admin), "content-type": "application/json"})

    if ok:
        assert response.status_code == 200, response.text
        assert upstream.calls[0].request.slot_minutes == int(number)
    else:
        assert_error(response, 400, "VALIDATION_ERROR")
        assert upstream.calls == []


def test_the_problems_of_several_fields_are_all_named(client, upstream, customer):
    response = client.post("/v1/appointments", json={**BOOKING_FORM, "forKitchen": "yes", "type": 2, "isAdmin": True},
                           headers=bearer(customer))  # fmt: skip

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert {f["field"]: f["description"] for f in body["fields"]} == {
        "forKitchen": "has the wrong type",
        "type": "has an unknown value",
        "isAdmin": "is not a known field",
    }


def test_a_body_with_thousands_of_bad_fields_gets_a_short_answer(client, upstream, customer):
    content = "{" + ", ".join(f'"field{n}": 1' for n in range(20_000)) + "}"

    response = client.post("/v1/appointments", content=content.encode(), headers={**bearer(customer), "content-type": "application/json"})

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert len(body["fields"]) == 20 and len(response.content) < 4096


def test_a_proto_field_name_gets_a_hint_to_the_json_name(client, upstream):
    body = assert_error(client.post("/v1/brochures", json={**BROCHURE_FORM, "last_name": "Doe"}), 400, "VALIDATION_ERROR")

    assert body["fields"] == [{"field": "last_name", "description": "is not a known field (the name is lastName)"}]


def test_strict_but_valid_json_still_books(client, upstream, customer):
    content = ('{ "type" : "HOME_MEASUREMENT", "forKitchen": true, "forBedroom": false, "firstName": "J\\u00e9r\\u00f4me",'
               ' "lastName": "D\\"o\\\\e", "email": "j@example.test", "phone": "07700900123", "postcode": "SW1A 1AA",'
               f' "address": "1 High St\\nFlat 2\\/B\x7f", "slotId": "{SLOT_ID}", "requestId": null }}\r\n')  # fmt: skip

    response = client.post("/v1/appointments", content=content.encode(), headers={**bearer(customer), "content-type": "application/json"})

    assert response.status_code == 201, response.text
    request = upstream.calls[0].request
    assert (request.first_name, request.last_name, request.address) == ("Jérôme", 'D"o\\e', "1 High St\nFlat 2/B\x7f")


@pytest.mark.parametrize(
    ("target", "role", "field", "description"),
    [
        (f"{AVAILABILITY}?type=HOME_MEASUREMENT&date", None, "date", "needs a value (name=value)"),
        (f"{AVAILABILITY}?type=HOME_MEASUREMENT&date=2030-01-01&type=SHOWROOM_VISIT", None, "type", "is given more than once"),
        (f"{AVAILABILITY}?type=1&date=2030-01-01", None, "type", "has an unknown value"),
        (f"{AVAILABILITY}?type=HOME_MEASUREMENT&date=2030-01-01&category=2", None, "category", "has an unknown value"),
        ("/v1/admin/appointments?status=1", Role.ADMIN, "status", "has an unknown value"),
        ("/v1/admin/appointments?page=1&page=2", Role.ADMIN, "page", "is given more than once"),
        ("/v1/admin/appointments?reference_code=BK-1", Role.ADMIN, "reference_code", "is not a known parameter"),
    ],
    ids=["no-equals", "repeated-scalar", "numeric-enum", "numeric-category", "numeric-status", "repeated-int", "snake-case"],
)  # fmt: skip
def test_query_strings_are_strict_too(gateway, upstream, keys, target, role, field, description):
    headers = bearer(issue_token(keys, "someone", role)) if role else {}

    body = assert_error(raw_request(gateway, "GET", target, headers), 400, "VALIDATION_ERROR")

    assert body["fields"] == [{"field": field, "description": description}]
    assert_plain_sentence(body["message"])
    assert upstream.calls == []


# ------------------------------------------------------------------------------- class 3: brochure rate limit


def _limited_gateway(tmp_path, fake, jwks_path, **limits) -> EnvoyGateway:
    gw = EnvoyGateway(tmp_path / "envoy", upstreams=[("127.0.0.1", fake.port)], jwks_path=jwks_path,
                      access_log_path=str(tmp_path / "access.log"), brochure_limit_window_seconds=3600, **limits)  # fmt: skip
    gw.start()
    return gw


def _brochure(gw: EnvoyGateway, client_address: str | None = None):
    headers = {"content-type": "application/json", **({"x-forwarded-for": client_address} if client_address else {})}
    return raw_request(gw, "POST", "/v1/brochures", headers, json.dumps(BROCHURE_FORM).encode())


def test_brochure_requests_over_the_per_client_limit_are_429_with_retry_after(tmp_path, fake, jwks_path):
    gw = _limited_gateway(tmp_path, fake, jwks_path, brochure_limit_per_client=3, brochure_limit_global=100)
    try:
        statuses = [_brochure(gw).status_code for _ in range(3)]
        refused = _brochure(gw)
        other_route = raw_request(gw, "GET", f"{AVAILABILITY}?type=HOME_MEASUREMENT&date=2030-01-01")
    finally:
        gw.stop()

    assert statuses == [201, 201, 201]
    assert_error(refused, 429, "RATE_LIMIT_EXCEEDED")
    assert refused.headers["retry-after"] == "3600"
    assert other_route.status_code == 200


def test_each_client_behind_a_trusted_proxy_has_its_own_budget_under_a_global_ceiling(tmp_path, fake, jwks_path):
    gw = _limited_gateway(tmp_path, fake, jwks_path, brochure_limit_per_client=2, brochure_limit_global=3,
                          xff_num_trusted_hops=1)  # fmt: skip
    try:
        first = [_brochure(gw, "203.0.113.7").status_code for _ in range(3)]
        second = [_brochure(gw, "198.51.100.9").status_code for _ in range(2)]
    finally:
        gw.stop()

    assert first == [201, 201, 429]  # its own limit
    assert second == [201, 429]  # its own budget, then the ceiling for everyone


def test_a_forged_forwarded_for_does_not_buy_a_new_budget_without_trusted_proxies(tmp_path, fake, jwks_path):
    gw = _limited_gateway(tmp_path, fake, jwks_path, brochure_limit_per_client=2, brochure_limit_global=100)
    try:
        statuses = [_brochure(gw, f"198.51.100.{n}").status_code for n in range(3)]
    finally:
        gw.stop()

    assert statuses == [201, 201, 429]


# ------------------------------------------------------------------------------- class 4: one token rule


def _token(keys: KeyPair, **changes) -> str:
    now = int(time.time())
    claims = {"sub": "user-1", "role": "ADMIN", "iss": "booking-mesh", "aud": "booking-api", "iat": now, "exp": now + 600}
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, keys.private_pem, algorithm="ES256", headers={"kid": keys.kid})


def _rule_breakers(keys: KeyPair) -> dict[str, str]:
    now = int(time.time())
    return {
        "no-sub": _token(keys, sub=None),
        "empty-sub": _token(keys, sub=""),
        "number-sub": _token(keys, sub=7),
        "no-iat": _token(keys, iat=None),
        "future-iat": _token(keys, iat=now + 3600, exp=now + 4000),
        "hundred-years": _token(keys, exp=now + 100 * 365 * 86400),
        "over-max-lifetime": _token(keys, iat=now - 10, exp=now - 10 + DEFAULT_MAX_TOKEN_LIFETIME_SECONDS + 60),
        "expired-beyond-skew": _token(keys, iat=now - 900, exp=now - CLOCK_SKEW_SECONDS - 120),
        "unknown-kid": jwt.encode({"sub": "x", "iss": "booking-mesh", "aud": "booking-api", "iat": now, "exp": now + 60},
                                  KeyPair.generate().private_pem, algorithm="ES256", headers={"kid": "nope"}),
    }  # fmt: skip


RULE_CASES = ["no-sub", "empty-sub", "number-sub", "no-iat", "future-iat", "hundred-years", "over-max-lifetime",
              "expired-beyond-skew", "unknown-kid"]  # fmt: skip
ROUTES = [("GET", "/v1/appointments", None), ("GET", "/v1/admin/appointments", None),
          ("GET", f"{AVAILABILITY}?type=HOME_MEASUREMENT&date=2030-01-01", None), ("POST", "/v1/brochures", BROCHURE_FORM)]  # fmt: skip


@pytest.mark.parametrize("case", RULE_CASES)
@pytest.mark.parametrize(("method", "target", "payload"), ROUTES, ids=["customer", "admin", "public-get", "public-post"])
def test_every_token_breaking_the_rule_is_401_on_every_route(gateway, upstream, keys, case, method, target, payload):
    headers = {"Authorization": f"Bearer {_rule_breakers(keys)[case]}", "content-type": "application/json"}

    response = raw_request(gateway, method, target, headers, json.dumps(payload).encode() if payload else None)

    body = assert_error(response, 401, "UNAUTHENTICATED")
    assert_plain_sentence(body["message"])
    assert not any(word in body["message"] for word in ("Jwks", "kid", "Jwt", "jwt"))
    assert upstream.methods_seen == []


@pytest.mark.parametrize("path", ["/v1/appointments", "/v1/admin/appointments"])
def test_a_token_expired_within_the_allowed_clock_skew_is_accepted_on_every_route(gateway, upstream, keys, path):
    now = int(time.time())
    token = _token(keys, iat=now - 900, exp=now - 2)  # past, but well within the skew

    response = raw_request(gateway, "GET", path, bearer(token))

    assert response.status_code == 200, response.text


def test_the_cli_style_token_is_valid(client, upstream, keys):
    assert client.get("/v1/admin/appointments", headers=bearer(issue_token(keys, "staff-1", Role.ADMIN))).status_code == 200


def test_the_rate_limited_gateway_renders_its_limits(jwks_path):
    from gateway.config import DEFAULT_DESCRIPTOR, render_envoy_config

    text = render_envoy_config(listen_port=0, admin_port=0, upstreams=[("127.0.0.1", 1)], descriptor_path=DEFAULT_DESCRIPTOR,
                               jwks_path=jwks_path, issuer="booking-mesh", audience="booking-api", cors_origins=[],
                               access_log_path=None, brochure_limit_per_client=7, xff_num_trusted_hops=2)  # fmt: skip
    assert "max_tokens: 7" in text and "max_tokens: 300" in text and "xff_num_trusted_hops: 2" in text
