"""SMTP adapter (aiosmtplib). Connections are kept open and reused across events.

A new connection per event cost a TCP handshake, the banner, EHLO and QUIT, several times the
cost of the one message it then carried. A connection is reused only after a session that went
through without an error: after any failure (refused recipient, timeout, dropped connection) its
state is unknown, so it is closed and the next session opens a fresh one.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from notification_svc.failures import Outage, PermanentFailure, RetryableFailure

_OUTAGE = (
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPTimeoutError,
    aiosmtplib.SMTPConnectTimeoutError,
    OSError,
    asyncio.TimeoutError,
)


@dataclass(frozen=True)
class SmtpEndpoint:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpEndpoint:
        """`smtp://[user:pass@]host[:port][?starttls=true|false]` or `smtps://...` (implicit TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"SMTP_URL must look like smtp://host:port, got scheme {parts.scheme!r}")
        query = parse_qs(parts.query)
        start_tls = None
        if "starttls" in query:
            start_tls = query["starttls"][0].lower() in ("1", "true", "yes")
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=parts.scheme == "smtps",
            start_tls=start_tls,
        )


def _classify(exc: aiosmtplib.SMTPException) -> Exception:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        if codes and all(code >= 500 for code in codes):
            return PermanentFailure(f"SMTP refused the recipient ({', '.join(map(str, codes))})")
        return RetryableFailure(f"SMTP deferred the recipient ({', '.join(map(str, codes))})")
    code = getattr(exc, "code", 0) or 0
    if code == 421:  # service not available: the server, not this message
        return Outage(f"SMTP {code}")
    if code >= 500:
        return PermanentFailure(f"SMTP rejected the message ({code})")
    return RetryableFailure(f"SMTP deferred the message ({code or type(exc).__name__})")


class SmtpSession:
    def __init__(self, client: aiosmtplib.SMTP):
        self._client = client

    async def send(self, message: EmailMessage) -> None:
        """Returns once the server accepted the message (250); raises a failures.* otherwise."""
        try:
            await self._client.send_message(message)
        except _OUTAGE as exc:
            raise Outage(f"SMTP connection failed: {type(exc).__name__}") from exc
        except aiosmtplib.SMTPException as exc:
            raise _classify(exc) from exc


class SmtpMailer:
    # A server may drop a connection that sat idle (RFC 5321 allows 5 minutes); one idle longer
    # than this is probed with NOOP before use, so a dropped one is replaced instead of failing a send.
    IDLE_PROBE_SECONDS = 30.0

    def __init__(self, url: str, timeout: float = 10.0, *, clock=time.monotonic):
        self._endpoint = SmtpEndpoint.from_url(url)
        self._timeout = timeout
        self._clock = clock
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []  # (connection, last used), most recent last
        self.connections_opened = 0

    @contextlib.asynccontextmanager
    async def session(self):
        client = await self._take_idle() or await self._connect()
        try:
            yield SmtpSession(client)
        except Exception:
            await self._close(client)
            raise
        except BaseException:  # cancelled: no time for a polite QUIT
            client.close()
            raise
        if client.is_connected:
            self._idle.append((client, self._clock()))

    async def close(self) -> None:
        """QUIT every idle connection (at shutdown)."""
        idle, self._idle = self._idle, []
        for client, _ in idle:
            await self._close(client)

    async def _take_idle(self) -> aiosmtplib.SMTP | None:
        while self._idle:
            client, last_used = self._idle.pop()
            if not client.is_connected:
                continue
            if self._clock() - last_used > self.IDLE_PROBE_SECONDS:
                try:
                    await client.noop()
                except (aiosmtplib.SMTPException, *_OUTAGE):
                    await self._close(client)
                    continue
            return client
        return None

    async def _connect(self) -> aiosmtplib.SMTP:
        endpoint = self._endpoint
        client = aiosmtplib.SMTP(
            hostname=endpoint.host,
            port=endpoint.port,
            username=endpoint.username,
            password=endpoint.password,
            use_tls=endpoint.use_tls,
            start_tls=endpoint.start_tls,
            timeout=self._timeout,
        )
        try:
            await client.connect()
        except _OUTAGE as exc:
            raise Outage(f"SMTP connection failed: {type(exc).__name__}") from exc
        except aiosmtplib.SMTPException as exc:
            raise _classify(exc) from exc
        self.connections_opened += 1
        return client

    @staticmethod
    async def _close(client: aiosmtplib.SMTP) -> None:
        with contextlib.suppress(Exception):
            if client.is_connected:
                await asyncio.wait_for(client.quit(), 2.0)
        client.close()
