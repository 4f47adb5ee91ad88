"""Several notification replicas on one durable consumer still mail each booking's events in order."""
from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from mesh_common.config import AppointmentSettings, NotificationSettings
from mesh_common.events import key_value_bucket
from notification_svc.emails import CANCELLATION, CONFIRMATION, RESCHEDULED
from notification_svc.metrics import ORDER_WAITS, ORDER_WAITS_EXPIRED
from notification_svc.service import NotificationService
from tests.integration.notification_fixtures import (  # noqa: F401 - fixtures
    Bus,
    booking_cancelled,
    booking_created,
    booking_rescheduled,
    brochure_fixture,
    bus_fixture,
    close_bus,
    email_kind,
    open_bus,
)
from tests.polling import eventually

CUSTOMER_KINDS = (CONFIRMATION, RESCHEDULED, CANCELLATION)


def lifecycle(bus: Bus):
    """created (1), rescheduled (2), cancelled (3) of one new booking."""
    created = booking_created(bus)
    moved = booking_rescheduled(bus, created)
    cancelled = booking_cancelled(bus, moved)
    for sequence, event in enumerate((created, moved, cancelled), start=1):
        event.sequence = sequence
    return created, moved, cancelled


def customer_kinds_by_booking(bus: Bus, booking_of: dict[str, str]) -> dict[str, list[str]]:
    """Per booking, the kinds of its customer emails in the order the SMTP sink stored them."""
    seen = defaultdict(list)
    for message in bus.mailbox.to(bus.customer()):
        seen[booking_of[message["X-Booking-Mesh-Event"]]].append(email_kind(message))
    return seen


async def replicas(bus: Bus, count: int) -> list[NotificationService]:
    started = [NotificationService(bus.settings) for _ in range(count)]
    for service in started:
        await service.start()
    return started


async def stop(services: list[NotificationService]) -> None:
    await asyncio.gather(*(s.stop() for s in services))


async def test_two_replicas_on_one_durable_mail_every_bookings_events_in_order(backing, brochure):
    # Small fetches so both replicas take turns at every booking's events; a third of the bookings'
    # events are even published backwards, as a consumer could see them after a redelivery.
    bus = await open_bus(backing, brochure, notification_fetch_batch=4, notification_order_retry_seconds=0.1)
    services = await replicas(bus, 2)
    try:
        booking_of: dict[str, str] = {}
        bookings = 40
        for n in range(bookings):
            events = lifecycle(bus)
            booking_of.update({e.event_id: e.appointment.booking_id for e in events})
            published = list(zip(("booking.created", "booking.rescheduled", "booking.cancelled"), events, strict=True))
            for subject, event in published[::-1] if n % 3 == 0 else published:
                await bus.publish(subject, event)
        await eventually(lambda: len(bus.mailbox.to(bus.customer())) >= 3 * bookings, timeout=60, message="every customer email")
        await eventually(bus.idle, timeout=15, message="consumer idle")
    finally:
        await stop(services)
    kinds = customer_kinds_by_booking(bus, booking_of)
    try:
        assert len(kinds) == bookings
        assert {booking: order for booking, order in kinds.items() if order != list(CUSTOMER_KINDS)} == {}
        assert all(s.consumer.emails_sent > 0 for s in services), "one replica did all the work: the test proved nothing"
    finally:
        await close_bus(bus)


async def test_an_event_whose_predecessor_is_late_is_held_back_until_it_is_handled(backing, brochure):
    bus = await open_bus(backing, brochure, notification_order_retry_seconds=0.1, notification_order_max_wait_seconds=60)
    services = await replicas(bus, 2)
    try:
        created, _moved, cancelled = lifecycle(bus)
        cancelled.sequence = 2  # this booking was never moved
        waits = ORDER_WAITS._value.get()
        await bus.publish("booking.cancelled", cancelled)
        await eventually(lambda: ORDER_WAITS._value.get() >= waits + 3, timeout=10, message="the cancellation held back")
        assert bus.mailbox.to(bus.customer()) == []
        await bus.publish("booking.created", created)
        messages = await bus.mailbox.wait_for(4, timeout=15)  # both customer emails, both team alerts
        await eventually(bus.idle, timeout=15, message="consumer idle")
    finally:
        await stop(services)
    try:
        assert [email_kind(m) for m in bus.mailbox.to(bus.customer())] == [CONFIRMATION, CANCELLATION]
        assert len(messages) == 4
    finally:
        await close_bus(bus)


async def test_a_predecessor_that_never_comes_delays_its_successor_only_for_the_bounded_wait(backing, brochure):
    bus = await open_bus(backing, brochure, notification_order_retry_seconds=0.1, notification_order_max_wait_seconds=1.5)
    services = await replicas(bus, 2)
    try:
        created, _moved, cancelled = lifecycle(bus)
        expired = ORDER_WAITS_EXPIRED._value.get()
        published = time.monotonic()
        await bus.publish("booking.cancelled", cancelled)  # number 3: 1 and 2 never come
        await eventually(lambda: bus.mailbox.to(bus.customer()), timeout=15, message="the cancellation email")
        waited = time.monotonic() - published
        assert 1.5 <= waited < 10, waited
        assert ORDER_WAITS_EXPIRED._value.get() == expired + 1
        # A predecessor that turns up after all is handled at once: late, but not lost.
        await bus.publish("booking.created", created)
        await eventually(lambda: len(bus.mailbox.to(bus.customer())) == 2, timeout=5, message="the late confirmation")
        await eventually(bus.idle, timeout=15, message="consumer idle")
        assert bus.values["notification_max_deliveries"] == 3 and await bus.dead_letters() == 0  # hand-backs are no failures
    finally:
        await stop(services)
        await close_bus(bus)


async def test_a_dead_lettered_predecessor_does_not_hold_its_successor_back(backing, brochure):
    bus = await open_bus(backing, brochure, notification_order_retry_seconds=0.1, notification_order_max_wait_seconds=60)
    services = await replicas(bus, 2)
    try:
        created, _moved, cancelled = lifecycle(bus)
        cancelled.sequence = 2
        created.appointment.email = ""  # a poison message: no email can be planned for it
        await bus.publish("booking.cancelled", cancelled)
        await bus.publish("booking.created", created)
        await eventually(lambda: bus.mailbox.to(bus.customer()), timeout=10, message="the cancellation email")
        assert await bus.dead_letters() == 1
    finally:
        await stop(services)
        await close_bus(bus)


async def test_a_bucket_made_with_another_ttl_is_brought_to_the_setting(backing, brochure):
    """An upgrade from the 90-day order bucket: a booking made months ahead must not find its number
    forgotten by the time its reminder or cancellation comes."""
    bus = await open_bus(backing, brochure)
    bucket = bus.values["notification_order_bucket"]
    try:
        await key_value_bucket(bus.js, bucket, 90 * 86400, "as an earlier version made it")
        kv = await key_value_bucket(bus.js, bucket, bus.settings.notification_order_ttl_seconds, "now")
        await kv.put("a-booking", b"3")
        status = await kv.status()
        assert status.ttl == bus.settings.notification_order_ttl_seconds
        assert (await kv.get("a-booking")).value == b"3"
    finally:
        await close_bus(bus)


def test_a_bookings_number_outlives_the_longest_gap_between_its_events():
    horizon = AppointmentSettings.model_fields["booking_horizon_days"].default * 86400
    assert NotificationSettings.model_fields["notification_order_ttl_seconds"].default > horizon
