"""SMTP adapter (aiosmtplib). Each event's emails go over one connection."""
from __future__ import annotations

import asyncio
import contextlib
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
    def __init__(self, url: str, timeout: float = 10.0):
        self._endpoint = SmtpEndpoint.from_url(url)
        self._timeout = timeout

    @contextlib.asynccontextmanager
    async def session(self):
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
        try:
            yield SmtpSession(client)
        finally:
            with contextlib.suppress(Exception):
                await client.quit()
