"""The OpenAPI document the gateway serves, and a fuzzer that runs it against the real mesh.

Schemathesis generates requests for every operation of gateway/openapi.json, valid and invalid
ones, sends them through the real Envoy with a customer's and an admin's token, and checks that
nothing answers 5xx and that every answer is one the document describes (status, content type,
schema, headers), errors in the contract shape. CI runs a fixed, small number of cases per
operation, derandomized with a fixed seed; a larger random run (README), FUZZ_SEED=N to replay one:

    FUZZ_MAX_EXAMPLES=200 FUZZ_RANDOM=1 python -m pytest tests/e2e/test_fuzz_api.py -q -p no:cacheprovider
"""
from __future__ import annotations

import json
import os
import random
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis.configuration import set_hypothesis_home_dir
from jsonschema import Draft202012Validator
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from booking_mesh.embedded.envoy import EnvoyGateway
from gateway.config import DEFAULT_OPENAPI, OPENAPI_ROUTE
from mesh_common.auth import Role
from mesh_common.errors import ERRORS
from tests.e2e.admin.api import a_far_monday, new_slot
from tests.e2e.helpers import london
from tests.integration.booking_fixtures import appointment_has_started, booking_form

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "8"))
RANDOM = os.environ.get("FUZZ_RANDOM", "") not in ("", "0")
# CI replays one fixed seed; a random run draws a new one unless FUZZ_SEED replays a given one.
SEED = int(os.environ.get("FUZZ_SEED") or (random.SystemRandom().randrange(1, 2**32) if RANDOM else 20261129))

# No example database (a CI run replays only what its seed generates), and Hypothesis's other
# caches go to the temp directory instead of .hypothesis/ in the repository.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "booking-mesh-hypothesis")
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": not RANDOM, "database": "none"},
        # One request per case: the stateful phase chains calls, which no check here needs.
        "phases": {"stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_path(DEFAULT_OPENAPI, config=CONFIG)
DOCUMENT = json.loads(DEFAULT_OPENAPI.read_text())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@contextmanager
def own_gateway(mesh, workdir: Path):
    """Another Envoy, same config and services: its per-client limits (brochures) are its own,
    so many generated requests cannot use up the budget of the other tests' gateway."""
    gateway = EnvoyGateway(workdir, upstreams=[("127.0.0.1", s.port) for s in mesh.appointment], jwks_path=mesh.home / "keys" / "jwks.json")
    gateway.start()
    try:
        yield gateway.url
    finally:
        gateway.stop()


@pytest.fixture(scope="module")
def fuzz_url(mesh, tmp_path_factory) -> str:
    with own_gateway(mesh, tmp_path_factory.mktemp("fuzz-gateway")) as url:
        yield url


def test_the_gateway_serves_the_committed_openapi_document_without_a_token(http):
    response = http.get(OPENAPI_ROUTE[1])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == DEFAULT_OPENAPI.read_bytes()
    assert response.json()["openapi"] == "3.1.0"


def test_a_token_sent_for_the_openapi_document_is_still_verified(http, mesh):
    assert http.get(OPENAPI_ROUTE[1], headers=mesh.auth("reader")).status_code == 200
    response = http.get(OPENAPI_ROUTE[1], headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


def assert_error_contract(response) -> None:
    """An error answer is {"code","message"[,"fields"]} with the status of its code."""
    assert response.headers.get("content-type") == ["application/json"], response.headers
    body = json.loads(response.content)
    assert set(body) <= {"code", "message", "fields"}, body
    assert body["code"] in ERRORS and ERRORS[body["code"]].http_status == response.status_code, body
    assert isinstance(body["message"], str) and body["message"], body
    if body["code"] == "VALIDATION_ERROR":
        assert all(set(f) == {"field", "description"} for f in body["fields"]), body


@schema.parametrize()
# A random run names its seed in every test id, so a failure says how to replay it.
@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.ADMIN], ids=[f"customer-seed{SEED}", f"admin-seed{SEED}"] if RANDOM else ["customer", "admin"])
def test_no_generated_request_breaks_the_api_or_gets_an_undocumented_answer(case, role, mesh, fuzz_url):
    headers = {"Authorization": f"Bearer {mesh.token(f'fuzz-{role.value.lower()}', role)}"}
    response = case.call_and_validate(base_url=fuzz_url, headers=headers, checks=CHECKS, timeout=30)
    if response.status_code >= 400:
        assert_error_contract(response)


class Documented:
    """Checks real answers against the document, remembering which operations it has seen succeed."""

    def __init__(self) -> None:
        self.succeeded: set[tuple[str, str]] = set()

    def __call__(self, response, template: str):
        verb = response.request.method
        operation = DOCUMENT["paths"][template][verb.lower()]
        assert str(response.status_code) in operation["responses"], (verb, template, response.status_code, response.text)
        answer = operation["responses"][str(response.status_code)]
        while "$ref" in answer:
            answer = DOCUMENT["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
        assert response.headers["content-type"] == "application/json"
        # The document's schemas are JSON Schema 2020-12; their refs resolve against this root.
        root = {**answer["content"]["application/json"]["schema"], "components": DOCUMENT["components"]}
        Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(response.json())
        if response.is_success:
            self.succeeded.add((verb, template))
        return response.json()


@pytest.fixture
def own_http(mesh, tmp_path):
    with own_gateway(mesh, tmp_path / "gateway") as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def test_every_operation_succeeds_with_an_answer_the_document_describes(mesh, own_http):
    http = own_http
    documented = Documented()
    staff = mesh.auth(f"staff-{uuid.uuid4().hex[:6]}", Role.ADMIN)
    customer = f"customer-{uuid.uuid4().hex[:8]}"
    email = f"{customer}@example.com"
    mine = mesh.auth(customer)

    name = f"Consultant {uuid.uuid4().hex[:8]}"
    consultant = {"name": name, "avatarUrl": "https://avatars.example/c.png", "categories": ["KITCHEN"]}
    consultant_id = documented(http.post("/v1/admin/consultants", json=consultant, headers=staff), "/v1/admin/consultants")["consultantId"]
    documented(http.get("/v1/admin/consultants", headers=staff), "/v1/admin/consultants")
    areas = {"postcodeAreas": ["SW1", "M"]}  # showroom visits below: nobody travels, the areas do not matter
    documented(
        http.post(f"/v1/admin/consultants/{consultant_id}:setAreas", json=areas, headers=staff), "/v1/admin/consultants/{consultantId}:setAreas"
    )
    monday = a_far_monday()
    pattern = {
        "consultantId": consultant_id, "type": "SHOWROOM_VISIT", "fromDate": monday.isoformat(),
        "toDate": monday.isoformat(), "weekdays": [1], "dayStart": "09:00", "dayEnd": "12:00", "slotMinutes": 60,
        "bufferMinutes": 0,
    }  # fmt: skip
    assert documented(http.post("/v1/admin/slots:generate", json=pattern, headers=staff), "/v1/admin/slots:generate")["created"] == 3
    extra = documented(new_slot(http, staff, consultant_id, london(monday, 15)), "/v1/admin/slots")["slotId"]
    documented(http.post(f"/v1/admin/slots/{extra}/block", json={}, headers=staff), "/v1/admin/slots/{slotId}/block")
    documented(http.post(f"/v1/admin/slots/{extra}/unblock", json={}, headers=staff), "/v1/admin/slots/{slotId}/unblock")

    grid = documented(
        http.get("/v1/appointments/availability", params={"type": "SHOWROOM_VISIT", "date": monday.isoformat(), "category": "KITCHEN"}),
        "/v1/appointments/availability",
    )
    slots = [slot["slotId"] for slot in grid["slots"] if slot["consultant"]["name"] == name]
    assert len(slots) == 4

    # The first booking is made under a hold (issue 14), taken after one held and let go of.
    holds = "/v1/appointments/holds"
    held = documented(http.post(holds, json={"slotId": slots[0]}, headers=mine), holds)
    documented(http.delete(f"{holds}/{held['holdId']}", headers=mine), holds + "/{holdId}")
    held = documented(http.post(holds, json={"slotId": slots[0]}, headers=mine), holds)
    # One customer per booking: a customer may only hold a few active bookings.
    bookings = [
        documented(
            http.post(
                "/v1/appointments",
                json=booking_form(slot, email=email, **({"holdId": held["holdId"]} if i == 0 else {})),
                headers=mine if i == 0 else mesh.auth(f"{customer}-{i}"),
            ),
            "/v1/appointments",
        )["bookingId"]
        for i, slot in enumerate(slots)
    ]
    documented(http.get(f"/v1/appointments/{bookings[0]}", headers=mine), "/v1/appointments/{bookingId}")
    documented(http.get("/v1/appointments", params={"page": 1, "limit": 10}, headers=mine), "/v1/appointments")
    later = documented(new_slot(http, staff, consultant_id, london(monday, 16)), "/v1/admin/slots")["slotId"]
    moved = documented(
        http.post(f"/v1/appointments/{bookings[0]}:reschedule", json={"slotId": later}, headers=mine),
        "/v1/appointments/{bookingId}:reschedule",
    )
    assert moved["slot"]["slotId"] == later
    documented(http.patch(f"/v1/appointments/{bookings[0]}/cancel", json={"reason": "moved"}, headers=mine), "/v1/appointments/{bookingId}/cancel")
    calendar = documented(
        http.get("/v1/admin/slots", params={"date": monday.isoformat(), "consultantId": consultant_id}, headers=staff), "/v1/admin/slots"
    )
    assert [s["state"] for s in calendar["slots"]] == ["FREE", "BOOKED", "BOOKED", "BOOKED", "FREE"]

    admin = "/v1/admin/appointments/{bookingId}"
    table = documented(http.get("/v1/admin/appointments", params={"email": email, "sort": "startsAt"}, headers=staff), "/v1/admin/appointments")
    assert table["total"] == 4
    for booking in bookings[1:3]:
        documented(http.post(f"/v1/admin/appointments/{booking}/confirm", json={}, headers=staff), admin + "/confirm")
    for slot in slots[1:3]:  # an appointment can be completed or missed only once it has started
        appointment_has_started(mesh.database_url, uuid.UUID(slot))
    documented(http.post(f"/v1/admin/appointments/{bookings[1]}/complete", json={}, headers=staff), admin + "/complete")
    documented(http.post(f"/v1/admin/appointments/{bookings[2]}/no-show", json={}, headers=staff), admin + "/no-show")
    documented(http.post(f"/v1/admin/appointments/{bookings[3]}/cancel", json={"reason": "ill"}, headers=staff), admin + "/cancel")
    details = documented(http.get(f"/v1/admin/appointments/{bookings[0]}", headers=staff), admin)
    assert [h["toStatus"] for h in details["history"]] == ["PENDING", "PENDING", "CANCELLED"]

    brochure = {k: v for k, v in booking_form(None, email=email).items() if k in ("firstName", "lastName", "email", "phone", "postcode", "address")}
    documented(http.post("/v1/brochures", json=brochure), "/v1/brochures")
    documented(http.get(OPENAPI_ROUTE[1]), OPENAPI_ROUTE[1])
    # Personal data (issue 15): the export, then the erasures, last (they blank what is above).
    assert documented(http.get("/v1/me/data", headers=mine), "/v1/me/data")["userId"] == customer
    assert documented(http.delete("/v1/me", headers=mine), "/v1/me")["erased"]["bookingsAnonymised"] == 1
    erased = documented(http.post("/v1/admin/erasures", json={"email": email}, headers=staff), "/v1/admin/erasures")["erased"]
    assert erased["bookingsAnonymised"] == 3 and erased["brochureRequestsAnonymised"] == 0  # the customer's erasure took it

    everything = {(verb.upper(), path) for path, item in DOCUMENT["paths"].items() for verb in item}
    assert documented.succeeded == everything


def test_error_answers_are_the_ones_the_document_describes(mesh, http):
    documented = Documented()
    unknown = str(uuid.uuid4())
    documented(http.get(f"/v1/appointments/{unknown}", headers=mesh.auth("someone")), "/v1/appointments/{bookingId}")
    documented(http.get("/v1/appointments"), "/v1/appointments")
    documented(http.get("/v1/admin/consultants", headers=mesh.auth("someone")), "/v1/admin/consultants")
    documented(http.post("/v1/appointments", json={"nope": 1}, headers=mesh.auth("someone")), "/v1/appointments")
    assert not documented.succeeded
