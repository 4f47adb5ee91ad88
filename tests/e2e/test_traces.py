"""Issue 16: one booking is one trace, from the gateway through both services to the SMTP send."""
from __future__ import annotations

import json

from tests.e2e.helpers import a_future_day, an_email, london
from tests.integration.booking_fixtures import add_consultant, add_slot, booking_form
from tests.polling import wait_for

TRACEPARENT_VERSION = "00"


def test_a_booking_is_one_trace_across_the_gateway_the_services_and_the_email(mesh, http):
    slot = add_slot(mesh.database_url, add_consultant(mesh.database_url), london(a_future_day(), 14))
    email = an_email()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    # A caller that already traces (a browser SDK, a partner) sends its traceparent: the trace is its.
    headers = {**mesh.auth("traced-customer"), "traceparent": f"{TRACEPARENT_VERSION}-{trace_id}-00f067aa0ba902b7-01"}
    created = http.post("/v1/appointments", json=booking_form(slot, email=email), headers=headers)
    assert created.status_code == 201, created.text
    wait_for(lambda: mesh.mail_to(email), what="the confirmation")

    def of_the_booking():
        spans = [s for s in mesh.otlp.spans() if s["trace_id"] == trace_id]
        services = {s["service"] for s in spans}
        return spans if {"gateway", "appointment-svc", "notification-svc"} <= services and any(
            s["name"].startswith("smtp send") for s in spans) else None  # fmt: skip

    spans = wait_for(of_the_booking, timeout=30, what="the booking's spans from all three")
    by_id = {s["span_id"]: s for s in spans}
    rpc = next(s for s in spans if s["name"] == "booking.v1.AppointmentService/CreateAppointment")
    handled = next(s for s in spans if s["name"] == "handle booking.created")
    # The service's span hangs under Envoy's, the consumer's under the RPC's (via the outbox row
    # and the NATS header), the SMTP sends under the consumer's.
    assert by_id[rpc["parent_span_id"]]["service"] == "gateway"
    assert handled["parent_span_id"] == rpc["span_id"]
    sends = [s for s in spans if s["name"].startswith("smtp send")]
    assert sends and all(s["parent_span_id"] == handled["span_id"] for s in sends)


def test_every_log_line_inside_a_request_carries_its_trace_id(mesh, http):
    slot = add_slot(mesh.database_url, add_consultant(mesh.database_url), london(a_future_day(), 15))
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    headers = {**mesh.auth("logged-customer"), "traceparent": f"{TRACEPARENT_VERSION}-{trace_id}-b7ad6b7169203331-01"}
    created = http.post("/v1/appointments", json=booking_form(slot, email=an_email()), headers=headers)
    assert created.status_code == 201, created.text

    def logged():
        for path in (mesh.home / "logs").glob("appointment_svc_*.log"):
            for line in path.read_text(errors="replace").splitlines():
                if line.startswith("{") and created.json()["bookingId"] in line:
                    return json.loads(line)
        return None

    line = wait_for(logged, what="the service's log line of the booking")
    assert line["trace_id"] == trace_id
