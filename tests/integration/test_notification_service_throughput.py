"""What lets the notification service keep up: one SMTP connection for many events, batches under one heartbeat."""
from __future__ import annotations

import asyncio
from email.message import EmailMessage

import pytest

from notification_svc.failures import PermanentFailure
from notification_svc.mailer import SmtpMailer
from notification_svc.service import NotificationService
from tests.integration.notification_fixtures import (  # noqa: F401 - fixtures
    ScriptedSmtp,
    booking_created,
    brochure_fixture,
    close_bus,
    open_bus,
    service_with_scripted_smtp,
)
from tests.polling import eventually


async def accept(_count: int) -> None:
    return None


async def test_many_events_share_one_smtp_connection(backing, brochure):
    async with service_with_scripted_smtp(backing, brochure, accept) as (bus, smtp, _):
        for _ in range(5):
            await bus.publish("booking.created", booking_created(bus))
        await eventually(lambda: len(smtp.received) == 10, timeout=30, message="ten emails")
        await eventually(bus.idle, timeout=15)
    assert len(smtp.connections) == 1
    assert len({m["Message-ID"] for m in smtp.received}) == 10


async def test_events_waiting_in_a_fetched_batch_are_not_redelivered_meanwhile(backing, brochure):
    async def slow(_count: int) -> None:
        await asyncio.sleep(0.3)

    # Ten events (twenty emails at 0.3 s) in one fetch: the last waits ~6 s, three ack waits.
    bus = await open_bus(backing, brochure, notification_ack_wait_seconds=2.0)
    try:
        for _ in range(10):
            await bus.publish("booking.created", booking_created(bus))
        async with ScriptedSmtp(slow) as smtp:
            bus.values["smtp_url"] = smtp.url
            service = NotificationService(bus.settings)
            await service.start()
            try:
                await eventually(lambda: len(smtp.received) == 20, timeout=60, message="twenty emails")
                await eventually(bus.idle, timeout=15)
            finally:
                await service.stop()
        info = await bus.js.consumer_info(bus.topology.stream, bus.values["notification_durable"])
    finally:
        await close_bus(bus)
    assert info.num_redelivered == 0
    assert len({m["Message-ID"] for m in smtp.received}) == 20 == len(smtp.received)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def send(mailer: SmtpMailer, number: int) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", f"message {number}"
    message.set_content("hello")
    async with mailer.session() as session:
        await session.send(message)


async def test_a_connection_kept_open_is_probed_after_idling_and_replaced_once_the_server_dropped_it():
    async with ScriptedSmtp(accept) as smtp:
        clock = Clock()
        mailer = SmtpMailer(smtp.url, timeout=3.0, clock=clock)
        await send(mailer, 1)
        await send(mailer, 2)
        clock.now += SmtpMailer.IDLE_PROBE_SECONDS + 1  # idle for long: probed with NOOP, still good
        await send(mailer, 3)
        assert mailer.connections_opened == len(smtp.connections) == 1

        smtp.connections[0].transport.close()  # the server drops the idle connection
        await eventually(lambda: not mailer._idle[0][0].is_connected, timeout=5, message="the client to notice")
        await send(mailer, 4)
        assert mailer.connections_opened == len(smtp.connections) == 2
        await mailer.close()
    assert [m["Subject"] for m in smtp.received] == [f"message {n}" for n in (1, 2, 3, 4)]


async def test_a_connection_that_failed_a_send_is_not_reused():
    async def refuse_the_second(count: int) -> None:
        if count == 2:
            raise ValueError("a fault in the server: it answers 500 and keeps the connection")

    async with ScriptedSmtp(refuse_the_second) as smtp:
        mailer = SmtpMailer(smtp.url, timeout=3.0)
        await send(mailer, 1)
        with pytest.raises(PermanentFailure):  # the server answered 500 to the message
            await send(mailer, 2)
        await send(mailer, 3)
        await mailer.close()
    assert len(smtp.connections) == 2
    assert [m["Subject"] for m in smtp.received] == ["message 1", "message 2", "message 3"]
