"""Wiring and lifecycle of the notification service (start, graceful stop, optional health and metrics port)."""
from __future__ import annotations

import asyncio
import contextlib
import signal

from mesh_common.config import NotificationSettings
from mesh_common.events import EventTopology, connect, ensure_streams
from mesh_common.lifecycle import stop_tasks
from mesh_common.logging import get_logger
from mesh_common.metrics import exposition
from mesh_common.s3 import s3_client
from notification_svc.brochure import BrochureSource
from notification_svc.consumer import NotificationConsumer
from notification_svc.emails import EmailComposer
from notification_svc.ledger import SentLedger
from notification_svc.mailer import SmtpMailer
from notification_svc.metrics import CONSUMER_ACK_PENDING, CONSUMER_PENDING
from notification_svc.ordering import BookingOrder

log = get_logger(__name__)


class NotificationService:
    def __init__(self, settings: NotificationSettings):
        self.settings = settings
        self.topology = EventTopology.from_settings(settings)
        self.consumer: NotificationConsumer | None = None
        self._mailer: SmtpMailer | None = None
        self._nc = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._health: asyncio.AbstractServer | None = None
        self.health_port: int | None = None

    async def start(self) -> None:
        s = self.settings
        self._nc = await connect(s.nats_url, "notification-svc")
        js = self._nc.jetstream(timeout=5.0)
        await ensure_streams(js, self.topology)
        ledger = await SentLedger.open(js, s.notification_sent_bucket, s.notification_sent_ttl_seconds)
        order = await BookingOrder.open(
            js, s.notification_order_bucket, s.notification_order_ttl_seconds,
            retry_seconds=s.notification_order_retry_seconds, max_wait_seconds=s.notification_order_max_wait_seconds,
        )  # fmt: skip
        self._mailer = SmtpMailer(s.smtp_url, timeout=s.smtp_timeout_seconds)
        self.consumer = NotificationConsumer(
            js,
            self.topology,
            s.notification_durable,
            EmailComposer(
                mail_from=s.mail_from, brand_name=s.brand_name, team_address=s.team_address,
                change_notice_hours=s.change_notice_hours, showroom_address=s.showroom_address, booking_url=s.booking_url,
            ),
            self._mailer,
            BrochureSource(
                s3_client(s.s3_endpoint_url, s.s3_access_key, s.s3_secret_key, s.s3_region), s.brochure_bucket, s.brochure_key
            ),
            ledger,
            order,
            max_deliveries=s.notification_max_deliveries,
            retry_base_seconds=s.notification_retry_base_seconds,
            retry_max_seconds=s.notification_retry_max_seconds,
            ack_wait_seconds=s.notification_ack_wait_seconds,
            batch_size=s.notification_fetch_batch,
        )
        await self.consumer.ensure_consumer()
        self._task = asyncio.create_task(self.consumer.run(self._stopping), name="notification-consumer")
        if s.health_port:
            self._health = await asyncio.start_server(self._health_check, s.health_host, s.health_port)
            self.health_port = self._health.sockets[0].getsockname()[1]
        log.info("notification service started", stream=self.topology.stream, durable=s.notification_durable)

    async def _health_check(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """GET /metrics: Prometheus' text format; any other path: the health answer."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                head = await reader.readuntil(b"\r\n\r\n")
            if head.split(b" ", 2)[1:2] == [b"/metrics"]:
                await self._refresh_lag()
                body, content_type = exposition()
                status = b"200 OK"
            else:
                healthy = self._nc is not None and self._nc.is_connected and self._task is not None and not self._task.done()
                status = b"200 OK" if healthy else b"503 Service Unavailable"
                body, content_type = (b"ok\n" if healthy else b"unhealthy\n"), "text/plain"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: " + content_type.encode()
                + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
            )  # fmt: skip
            await writer.drain()
        writer.close()

    async def _refresh_lag(self) -> None:
        """The consumer's lag, asked of JetStream when scraped (a failure leaves the last values)."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1):
                info = await self._nc.jetstream().consumer_info(self.topology.stream, self.settings.notification_durable)
            CONSUMER_PENDING.set(info.num_pending or 0)
            CONSUMER_ACK_PENDING.set(info.num_ack_pending or 0)

    async def stop(self) -> None:
        """Stop fetching; let the message in hand finish (within the grace period), release the rest."""
        self._stopping.set()
        if self._health is not None:
            self._health.close()
        if self._task is not None:
            await stop_tasks([self._task], grace=self.settings.notification_shutdown_grace_seconds)
        if self._mailer is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self._mailer.close()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self._nc.drain()
        log.info("notification service stopped")

    async def wait(self) -> None:
        """Until the consumer task ends (it only ends on stop, or on a fatal error)."""
        if self._task is not None:
            await self._task


async def serve(settings: NotificationSettings) -> None:
    service = NotificationService(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({stopper, asyncio.ensure_future(service.wait())}, return_when=asyncio.FIRST_COMPLETED)
    if stopper not in done:
        log.error("notification consumer ended unexpectedly; stopping")
    stopper.cancel()
    await service.stop()
