"""The notification service against real NATS JetStream, SMTP sink and S3: which emails each event sends."""
from __future__ import annotations

import re

from tests.integration.notification_fixtures import (  # noqa: F401 - fixtures
    booking_cancelled,
    booking_created,
    brochure_fixture,
    brochure_requested,
    bus_fixture,
    calendar,
    notifier_fixture,
    plain,
    uid,
)
from tests.polling import eventually


async def test_a_booking_emails_the_customer_and_each_requested_team_once(bus, notifier):
    both = booking_created(bus, kitchen=True, bedroom=True)
    kitchen_only = booking_created(bus, kitchen=True, bedroom=False)
    await bus.publish("booking.created", both)
    await bus.publish("booking.created", kitchen_only)
    await bus.mailbox.wait_for(5)
    await eventually(bus.idle)

    customer_mail = bus.mailbox.to(bus.customer())
    kitchen, bedroom = bus.mailbox.to(bus.team("kitchen")), bus.mailbox.to(bus.team("bedroom"))
    assert (len(customer_mail), len(kitchen), len(bedroom)) == (2, 2, 1)
    assert len(bus.mailbox.messages()) == 5

    ref = both.appointment.reference_code
    (confirmation,) = [m for m in customer_mail if ref in m["Subject"]]
    assert confirmation["To"] == bus.customer()
    body = plain(confirmation)
    for fact in (ref, "Wednesday 1 July 2026, 10:00", "Home measurement visit", "10 Downing Street, London", "SW1A 1AA"):
        assert fact in body
    ics = calendar(confirmation)
    assert "METHOD:REQUEST" in ics and uid(ics) == f"{both.appointment.booking_id}@booking-mesh"
    assert "DTSTART:20260701T090000Z" in ics

    (bedroom_alert,) = bedroom
    assert bedroom_alert["To"] == bus.team("bedroom") and ref in bedroom_alert["Subject"]
    for fact in ("Jane Doe", bus.customer(), "07700900123", "10 Downing Street, London", "Wednesday 1 July 2026, 10:00"):
        assert fact in plain(bedroom_alert)
    assert {ref, kitchen_only.appointment.reference_code} == {
        next(r for r in (ref, kitchen_only.appointment.reference_code) if r in m["Subject"]) for m in kitchen
    }


async def test_a_cancellation_cancels_the_calendar_entry_of_the_confirmation(bus, notifier):
    created = booking_created(bus)
    await bus.publish("booking.created", created)
    await bus.publish("booking.cancelled", booking_cancelled(bus, created))
    await bus.mailbox.wait_for(3)
    await eventually(bus.idle)
    mail = bus.mailbox.to(bus.customer())
    (confirmation,) = [m for m in mail if "Cancelled" not in m["Subject"]]
    (cancellation,) = [m for m in mail if "Cancelled" in m["Subject"]]
    assert created.appointment.reference_code in cancellation["Subject"]
    assert "Moving house" in plain(cancellation)
    invite, cancel = calendar(confirmation), calendar(cancellation)
    assert "METHOD:CANCEL" in cancel and uid(cancel) == uid(invite)
    sequence = lambda ics: int(re.search(r"SEQUENCE:(\d+)", ics).group(1))  # noqa: E731
    assert sequence(cancel) > sequence(invite)


async def test_a_brochure_request_emails_the_pdf_stored_in_s3(bus, notifier, brochure):
    await bus.publish("brochure.requested", brochure_requested(bus))
    (message,) = await bus.mailbox.wait_for(1)
    assert message["To"] == bus.customer("john")
    assert "brochure" in message["Subject"].lower() and "John" in plain(message)
    (pdf,) = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_content() == brochure[2]


async def test_an_event_published_twice_sends_its_emails_once(bus, notifier):
    event = booking_created(bus, kitchen=True, bedroom=True)
    await bus.publish("booking.created", event)
    await bus.mailbox.wait_for(3)
    # A second copy beyond JetStream's duplicate window (another Nats-Msg-Id), e.g. a relay re-publish.
    await bus.publish("booking.created", event, msg_id=f"{event.event_id}-again")
    await eventually(bus.idle)
    info = await bus.js.consumer_info(bus.topology.stream, bus.values["notification_durable"])
    assert info.delivered.stream_seq == 2
    assert len(bus.mailbox.messages()) == 3
