"""The emails' header policy caches its header classes without changing a byte of any email."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email import policy
from email.headerregistry import UniqueUnstructuredHeader

from aiosmtplib.email import flatten_message

from booking.v1 import events_pb2
from booking.v1 import resources_pb2 as res
from mesh_common.events import BOOKING_CREATED
from notification_svc import emails
from notification_svc.emails import POLICY, EmailComposer

STARTS = datetime(2026, 7, 1, 9, tzinfo=timezone.utc)


def created() -> events_pb2.BookingCreated:
    appointment = res.Appointment(
        booking_id="b-1", reference_code="BK-20260701-0001", status=res.PENDING, type=res.HOME_MEASUREMENT,
        for_kitchen=True, for_bedroom=True, first_name="Zoë", last_name="O'Brien", email="zoe@example.com",
        phone="07700 900123", postcode="SW1A 1AA", address="Flat 2, 10 Downing Street, Westminster, London, a long line to fold",
    )  # fmt: skip
    appointment.slot.starts_at.FromDatetime(STARTS)
    appointment.slot.ends_at.FromDatetime(STARTS + timedelta(hours=1))
    appointment.slot.consultant.name = "Amelia Hart"
    event = events_pb2.BookingCreated(event_id="4c1f9a8e-0000-4000-8000-000000000001", appointment=appointment)
    event.occurred_at.FromDatetime(STARTS)
    return event


def wire_bytes() -> list[bytes]:
    composer = EmailComposer(
        mail_from="Bookings <bookings@example.co.uk>", brand_name="Fitted Kitchens & Bedrooms",
        team_address=lambda team: f"{team}-team@example.co.uk", clock=lambda: STARTS,
    )  # fmt: skip
    event = created()
    sent = [flatten_message(composer.render(BOOKING_CREATED, event, d)) for d in composer.plan(BOOKING_CREATED, event)]
    return [re.sub(rb"={15}\d+==", b"BOUNDARY", raw) for raw in sent]


def test_emails_are_byte_for_byte_those_of_the_standard_policy(monkeypatch):
    cached = wire_bytes()
    monkeypatch.setattr(emails, "POLICY", policy.default)
    assert cached == wire_bytes() and len(cached) == 3


def test_a_header_class_is_made_once_per_name_and_remade_after_a_remapping():
    registry = type(POLICY.header_factory)()
    assert registry["Subject"] is registry["subject"]
    assert UniqueUnstructuredHeader not in registry["X-Custom"].__mro__
    registry.map_to_type("x-custom", UniqueUnstructuredHeader)
    assert UniqueUnstructuredHeader in registry["X-Custom"].__mro__
