"""The notification service when SMTP, S3 or a payload fails: mail waits, poison is dead-lettered and replayed."""
from __future__ import annotations

import asyncio
import uuid

import psutil

from booking_mesh.brochure_pdf import provision_brochure
from notification_svc.service import NotificationService
from tests.integration.notification_fixtures import (  # noqa: F401 - fixtures
    booking_created,
    brochure_fixture,
    brochure_requested,
    bus_fixture,
    close_bus,
    notifier_fixture,
    open_bus,
    service_with_scripted_smtp,
)
from tests.polling import eventually


async def test_an_smtp_outage_delays_mail_without_losing_it(bus, notifier, backing):
    sink = backing["smtp"]
    sink.stop()
    try:
        await bus.publish("booking.created", booking_created(bus))
        await bus.publish("brochure.requested", brochure_requested(bus))

        async def retried() -> bool:
            info = await bus.js.consumer_info(bus.topology.stream, bus.values["notification_durable"])
            return info.num_redelivered > 0

        await eventually(retried)
        assert bus.mailbox.messages() == []
        assert await bus.dead_letters() == 0
    finally:
        sink.start()
    await bus.mailbox.wait_for(3)
    await eventually(bus.idle)
    assert len(bus.mailbox.messages()) == 3
    assert await bus.dead_letters() == 0


async def test_a_poison_message_is_dead_lettered_with_its_reason_and_listed(bus, notifier):
    await bus.publish("booking.created", b"\xff\xfe definitely not protobuf", msg_id="poison-1")
    await bus.publish("brochure.requested", brochure_requested(bus))  # the stream keeps flowing
    await bus.mailbox.wait_for(1)
    await eventually(lambda: bus.dead_letters())
    await eventually(bus.idle)
    raw = await bus.js.get_msg(bus.topology.dlq_stream, 1)
    assert "undecodable" in raw.headers["Dlq-Reason"]
    assert raw.headers["Dlq-Original-Subject"] == "booking.created"
    assert raw.headers["Dlq-Original-Msg-Id"] == "poison-1"
    listing = bus.cli("dlq", "list")
    assert listing.returncode == 0, listing.stderr
    assert "undecodable" in listing.stdout and "booking.created" in listing.stdout

    # Replaying poison only poisons again: it comes back as a new dead letter, nothing is lost.
    assert bus.cli("dlq", "replay", "--all").returncode == 0

    async def dead_lettered_again():
        info = await bus.js.stream_info(bus.topology.dlq_stream)
        return info.state.messages == 1 and info.state.first_seq == 2

    await eventually(dead_lettered_again)
    assert len(bus.mailbox.messages()) == 1


async def test_a_dead_letter_replays_once_its_cause_is_fixed(backing, brochure):
    bucket, _, pdf = brochure
    s3 = backing["s3"]
    missing_key = f"missing-{uuid.uuid4().hex[:8]}.pdf"
    bus = await open_bus(backing, brochure, brochure_key=missing_key)
    service = NotificationService(bus.settings)
    await service.start()
    try:
        await bus.publish("brochure.requested", brochure_requested(bus))
        await eventually(lambda: bus.dead_letters())
        raw = await bus.js.get_msg(bus.topology.dlq_stream, 1)
        assert "NoSuchKey" in raw.headers["Dlq-Reason"] and raw.headers["Dlq-Deliveries"] == "3"
        assert bus.mailbox.messages() == []

        provision_brochure(s3.url, s3.access_key, s3.secret_key, bucket, missing_key)
        replayed = bus.cli("dlq", "replay", "1")
        assert replayed.returncode == 0, replayed.stderr
        (message,) = await bus.mailbox.wait_for(1)
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_content() == pdf
        await eventually(bus.idle)
        assert await bus.dead_letters() == 0
        assert "empty" in bus.cli("dlq", "list").stdout
        assert bus.cli("dlq", "replay", "1").returncode == 1  # already replayed: nothing to do
    finally:
        await service.stop()
        await close_bus(bus)


async def test_a_send_slower_than_the_ack_wait_is_not_redelivered_meanwhile(backing, brochure):
    async def slow(_count: int) -> None:
        await asyncio.sleep(5)  # 2.5 times the ack wait below: only the heartbeat keeps the message ours

    # An ack wait of 2 s leaves the heartbeat (every 2/3 s) more than a second of slack on a busy machine.
    overrides = dict(notification_ack_wait_seconds=2.0, smtp_timeout_seconds=15.0)
    async with service_with_scripted_smtp(backing, brochure, slow, **overrides) as (bus, smtp, _):
        await bus.publish("booking.created", booking_created(bus, kitchen=False, bedroom=True))
        await eventually(lambda: len(smtp.received) == 2, timeout=30, message="both emails")
        await eventually(bus.idle, timeout=30)
        info = await bus.js.consumer_info(bus.topology.stream, bus.values["notification_durable"])
    assert info.num_redelivered == 0 and len(smtp.received) == 2


async def test_nats_lost_between_smtp_accepting_and_the_ledger_write_repeats_that_one_email_only(backing, brochure):
    nats_server = backing["nats"]

    async def freeze_nats_after_the_first(count: int) -> None:
        # Frozen, the ledger write goes into the socket and times out; killed afterwards, the
        # server takes that write with it. (A plain stop would not do: the client buffers writes
        # while disconnected and the ledger write lands after the reconnect.)
        if count == 1:
            psutil.Process(nats_server.pid).suspend()

    scripted = service_with_scripted_smtp(backing, brochure, freeze_nats_after_the_first, notification_ack_wait_seconds=1.0)
    async with scripted as (bus, smtp, service):
        await bus.publish("booking.created", booking_created(bus, kitchen=False, bedroom=True))
        try:
            await eventually(lambda: service.consumer.nats_troubles > 0, timeout=30, message="the failed ledger write")
        finally:
            await asyncio.to_thread(nats_server.kill)
            await asyncio.to_thread(nats_server.start)
        await eventually(lambda: len(smtp.received) == 3, timeout=30, message="the redelivered event's emails")
        await eventually(bus.idle, timeout=30)
    first, *rest = smtp.received
    assert [m["Message-ID"] for m in rest].count(first["Message-ID"]) == 1  # that one email, once more
    assert len({m["Message-ID"] for m in smtp.received}) == 2  # and the other email only once
