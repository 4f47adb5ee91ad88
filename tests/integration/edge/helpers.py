"""What the edge tests share: the contract's request bodies and the assertions on its JSON errors."""
from __future__ import annotations

import http.client
import json
import re
import socket

from booking_mesh.embedded.envoy import EnvoyGateway

ALLOWED_ORIGIN = "https://shop.example.co.uk"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
AVAILABILITY = "/v1/appointments/availability"
DAY = {"type": "HOME_MEASUREMENT", "date": "2030-01-01"}
BOOKING_FORM = {
    "type": "HOME_MEASUREMENT",
    "forKitchen": True,
    "firstName": "Jane",
    "lastName": "Doe",
    "email": "jane@example.test",
    "phone": "07700900123",
    "postcode": "SW1A 1AA",
    "address": "1 High Street",
    "slotId": "0b7d9a52-5a0e-4f3a-8a8e-6c1f2e3d4b50",
}
BROCHURE_FORM = {k: BOOKING_FORM[k] for k in ("firstName", "lastName", "email", "phone", "postcode", "address")}


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_no_grpc_headers(response) -> None:
    leaked = [name for name in response.headers if name.lower().startswith("grpc-")]
    assert not leaked, f"grpc headers leaked: {leaked}"


def assert_error(response, status: int, code: str) -> dict:
    """The contract: JSON {"code","message"[,"fields"]} with the table's status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert_no_grpc_headers(response)
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"].strip()
    if code == "VALIDATION_ERROR":
        assert set(body) == {"code", "message", "fields"}
        assert all(set(f) == {"field", "description"} for f in body["fields"])
    else:
        assert set(body) == {"code", "message"}
    return body


class RawResponse:
    """What http.client got back, shaped enough like httpx's response for assert_error."""

    def __init__(self, response: http.client.HTTPResponse):
        self.status_code = response.status
        self.headers = {k.lower(): v for k, v in response.getheaders()}
        self.text = response.read().decode()

    def json(self):
        return json.loads(self.text)


def raw_request(gateway: EnvoyGateway, method: str, target: str, headers: dict[str, str] | None = None,
                body: bytes | None = None) -> RawResponse:
    """A request with the target sent byte for byte (httpx would normalise it)."""
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        return RawResponse(connection.getresponse())
    finally:
        connection.close()


def raw_get(gateway: EnvoyGateway, target: str, headers: dict[str, str] | None = None) -> RawResponse:
    return raw_request(gateway, "GET", target, headers)


# What the transcoder's own error text contained: parser state, protobuf names, echoed input.
INTERNALS = re.compile(r"TYPE_[A-Z0-9]+|type\.googleapis\.com|booking\.v1|google\.protobuf|Invalid request|"
                       r"Unexpected|Root element|Proto field|invalid value|\^|\n")  # fmt: skip


def assert_plain_sentence(message: str) -> None:
    assert not INTERNALS.search(message), message
    assert message[0].isupper() and message.endswith("."), message
