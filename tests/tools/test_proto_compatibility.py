"""Clients of today keep working whatever the protos become.

protos/baseline/booking-v1.binpb is the image of the protos as clients first used them
(`buf build protos --exclude-source-info -o protos/baseline/booking-v1.binpb`, before issue 12).
`buf breaking` with buf.yaml's WIRE_JSON rules holds every field number, wire type and JSON
name to it; buf does not read google.api.http options, so the REST routes are compared here.
Rebuild the baseline only to add to it, never to make a break pass.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

from gateway.config import DEFAULT_DESCRIPTOR
from tests.tools.runner import ROOT, run

BASELINE = ROOT / "protos" / "baseline" / "booking-v1.binpb"
PACKAGE = "booking.v1"


def breaking(buf: str, against: Path) -> subprocess.CompletedProcess:
    # The `protos` module only: the vendored googleapis module is not ours to keep stable.
    return run(buf, "breaking", "protos", "--against", str(against))


def descriptor_set(path: Path) -> descriptor_pb2.FileDescriptorSet:
    # A buf image is a FileDescriptorSet on the wire (plus fields this parser keeps as unknown).
    return descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())


def routes(path: Path) -> set[tuple[str, str, str, str, str]]:
    """(RPC, HTTP verb, path template, body, response_body) of every google.api.http rule of booking.v1."""
    found = set()
    for file in descriptor_set(path).file:
        if file.package != PACKAGE:
            continue
        for service in file.service:
            for method in service.method:
                rule = method.options.Extensions[annotations_pb2.http]
                for binding in [rule, *rule.additional_bindings]:
                    kind = binding.WhichOneof("pattern")
                    if kind == "custom":
                        verb, template = binding.custom.kind, binding.custom.path
                    else:
                        verb, template = kind.upper(), getattr(binding, kind)
                    found.add((f"{PACKAGE}.{service.name}.{method.name}", verb, template, binding.body, binding.response_body))
    return found


def json_spellings(path: Path) -> dict[tuple[str, int], set[str]]:
    """(message, field number) -> the names a proto3 JSON parser takes for the field: its proto
    name and its JSON name."""
    found = {}

    def walk(prefix: str, messages) -> None:
        for message in messages:
            name = f"{prefix}.{message.name}"
            for field in message.field:
                found[(name, field.number)] = {field.name, field.json_name}
            walk(name, message.nested_type)

    for file in descriptor_set(path).file:
        if file.package == PACKAGE:
            walk(PACKAGE, file.message_type)
    return found


def test_the_protos_keep_every_wire_field_and_json_name_of_the_baseline(buf):
    result = breaking(buf, BASELINE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_buf_breaking_refuses_a_changed_json_name(buf, tmp_path):
    # Today's protos against a baseline whose `referenceCode` query parameter was spelt `ref`:
    # exactly the change a client would notice, so the rules must catch it.
    baseline = descriptor_set(BASELINE)
    (file,) = [f for f in baseline.file if f.name == "booking/v1/admin_service.proto"]
    (message,) = [m for m in file.message_type if m.name == "ListAppointmentsRequest"]
    (field,) = [f for f in message.field if f.name == "reference_code"]
    field.json_name = "ref"
    changed = tmp_path / "changed.binpb"
    changed.write_bytes(baseline.SerializeToString())

    result = breaking(buf, changed)

    assert result.returncode != 0
    assert "json" in result.stdout.lower() and "reference_code" in result.stdout, result.stdout + result.stderr


def test_every_json_spelling_of_a_baseline_field_still_parses():
    # buf.yaml lets admin_service.proto rename fields (`from` is a Python keyword) as long as the
    # old proto name lives on as the JSON name; this holds every field to that.
    new = json_spellings(DEFAULT_DESCRIPTOR)
    lost = {key: names - new.get(key, set()) for key, names in json_spellings(BASELINE).items()}
    assert not {key: names for key, names in lost.items() if names}


def test_every_http_route_of_the_baseline_is_still_served_unchanged():
    missing = routes(BASELINE) - routes(DEFAULT_DESCRIPTOR)
    assert not missing, f"routes clients use were changed or removed: {sorted(missing)}"


def test_the_baseline_holds_the_fixed_rest_contract():
    # Guards the comparison above: an empty or foreign baseline would let any change through.
    assert {
        ("booking.v1.AppointmentService.ListAvailableSlots", "GET", "/v1/appointments/availability", "", ""),
        ("booking.v1.AppointmentService.CreateAppointment", "POST", "/v1/appointments", "*", ""),
        ("booking.v1.AppointmentService.CancelAppointment", "PATCH", "/v1/appointments/{booking_id}/cancel", "*", ""),
        ("booking.v1.AdminService.ListAppointments", "GET", "/v1/admin/appointments", "", ""),
        ("booking.v1.BrochureService.RequestBrochure", "POST", "/v1/brochures", "*", ""),
    } <= routes(BASELINE)
    spellings = json_spellings(BASELINE)
    assert spellings[("booking.v1.ListAppointmentsRequest", 5)] == {"from"}
    assert spellings[("booking.v1.ListAppointmentsRequest", 7)] == {"reference_code", "referenceCode"}
