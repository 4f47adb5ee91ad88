"""Every error code, status and default sentence comes from mesh_common.errors, and nothing else invents one."""
from __future__ import annotations

import json
import re
from http import HTTPStatus
from pathlib import Path

import grpc
import pytest
import yaml

from appointment_svc.domain import errors as domain_errors
from appointment_svc.entrypoints.errors import to_status
from gateway.config import (
    DEFAULT_DESCRIPTOR,
    GENERIC_MESSAGES,
    GRPC_FALLBACK,
    STATUS_FALLBACK,
    render_envoy_config,
    token_lua_code,
)
from gateway.config import HERE as GATEWAY
from mesh_common.errors import _KINDS, CONTRACT, ERRORS

HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def domain_error_classes() -> list[type[domain_errors.DomainError]]:
    found, pending = [], [domain_errors.DomainError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending += cls.__subclasses__()
    return found


def local_reply_bodies(config: str) -> list[tuple[int | None, dict]]:
    """(status_code the mapper sets or None, json_format body) of every local reply mapper."""
    document = yaml.safe_load(config)
    bodies = []
    for listener in document["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for http_filter in chain["filters"]:
                mappers = http_filter.get("typed_config", {}).get("local_reply_config", {}).get("mappers", [])
                for mapper in mappers:
                    body = mapper.get("body_format_override", {}).get("json_format")
                    if body is not None:
                        bodies.append((mapper.get("status_code"), body))
    return bodies


@pytest.fixture(scope="module")
def envoy_config() -> str:
    return render_envoy_config(
        listen_port=0, admin_port=0, upstreams=[("127.0.0.1", 50051)], descriptor_path=DEFAULT_DESCRIPTOR,
        jwks_path=Path("jwks.json"), issuer="booking-mesh", audience="booking-api", cors_origins=[],
        access_log_path=None, dev_sign_in=("127.0.0.1", 50052),
    )  # fmt: skip


def test_each_code_has_one_row():
    assert len(CONTRACT) == len(_KINDS)


@pytest.mark.parametrize("kind", _KINDS, ids=lambda kind: kind.code)
def test_every_row_has_an_error_status_and_a_real_grpc_code(kind):
    assert 400 <= HTTPStatus(kind.http_status) < 600
    assert kind.code.isupper() and kind.code.isidentifier()
    if kind.grpc_name is None:
        assert kind.code not in ERRORS and kind.gateway_message, "a gateway-only code needs the gateway's sentence"
    else:
        assert kind.grpc_code is grpc.StatusCode[kind.grpc_name] and kind.grpc_code is not grpc.StatusCode.OK


def test_fallbacks_name_each_grpc_code_and_http_status_once_and_only_api_codes():
    grpc_names = [name for kind in _KINDS for name in kind.fallback_for_grpc]
    http_statuses = [status for kind in _KINDS for status in kind.fallback_for_http]
    assert len(grpc_names) == len(set(grpc_names)) and len(http_statuses) == len(set(http_statuses))
    assert all(name in grpc.StatusCode.__members__ for name in grpc_names)
    assert {*GRPC_FALLBACK.values(), *STATUS_FALLBACK.values(), *GENERIC_MESSAGES} <= set(ERRORS)


@pytest.mark.parametrize("cls", domain_error_classes(), ids=lambda cls: cls.__name__)
def test_every_domain_error_takes_its_code_and_sentence_from_the_table(cls):
    assert cls.code in ERRORS
    assert cls.default_message == ERRORS[cls.code].message


@pytest.mark.parametrize("cls", domain_error_classes(), ids=lambda cls: cls.__name__)
def test_the_grpc_mapping_sends_the_tables_status_and_sentence(cls):
    if issubclass(cls, domain_errors.ValidationFailed):
        error = cls([])
    elif issubclass(cls, domain_errors.RateLimitExceeded):
        error = cls(retry_after_seconds=1)
    else:
        error = cls()
    status = to_status(error)
    assert status.code is ERRORS[cls.code].grpc_code
    assert status.details == ERRORS[cls.code].message


def test_a_domain_error_cannot_bring_its_own_sentence_or_an_unknown_code():
    with pytest.raises(TypeError, match="mesh_common.errors"):
        type("Chatty", (domain_errors.DomainError,), {"code": "NOT_FOUND", "default_message": "Gone."})
    with pytest.raises(TypeError, match="NOT_A_CODE"):
        type("Unknown", (domain_errors.DomainError,), {"code": "NOT_A_CODE"})
    with pytest.raises(TypeError, match="METHOD_NOT_ALLOWED"):
        type("GatewayOnly", (domain_errors.DomainError,), {"code": "METHOD_NOT_ALLOWED"})


def test_envoys_own_replies_use_only_table_codes_and_statuses(envoy_config):
    bodies = local_reply_bodies(envoy_config)
    codes = {body["code"] for _, body in bodies if body["code"] != "%LOCAL_REPLY_BODY%"}
    assert codes <= set(CONTRACT)
    assert "METHOD_NOT_ALLOWED" in codes
    for status, body in bodies:
        if status is not None:
            assert status == CONTRACT[body["code"]].http_status, body


def test_envoys_generic_replies_say_the_tables_gateway_sentence(envoy_config):
    sentences = {kind.gateway_message: kind.code for kind in CONTRACT.values() if kind.gateway_message}
    for _, body in local_reply_bodies(envoy_config):
        if body["message"] in sentences:
            assert sentences[body["message"]] == body["code"], body


def test_the_hand_written_lua_names_only_table_codes():
    literals = {code for script in GATEWAY.glob("*.lua") for code in re.findall(r'"([A-Z][A-Z_]+)"', script.read_text())}
    assert "INTERNAL" in literals
    assert literals - HTTP_METHODS <= set(ERRORS)


def test_the_token_scripts_refusal_is_a_table_code():
    refusal = re.search(r'UNAUTHENTICATED_JSON = "(.*)"\n', token_lua_code()).group(1)
    assert json.loads(json.loads(f'"{refusal}"'))["code"] in ERRORS
