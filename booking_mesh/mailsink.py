"""Development SMTP sink: accepts every message and stores it as one ``.eml`` file.

Run as ``python -m booking_mesh.mailsink --host 127.0.0.1 --port 2525 --dir MAILDIR``.
Each file holds the raw message as received, with the SMTP envelope prepended as
``X-Envelope-From`` / ``X-Envelope-To`` headers, because Bcc recipients and
bounce senders are visible only in the envelope.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path


def write_message(maildir: Path, mail_from: str | None, rcpt_tos: list[str], raw: bytes) -> Path:
    """Store one message; readers never see a half-written file (write tmp, fsync, rename)."""
    envelope = f"X-Envelope-From: {mail_from or '<>'}\r\nX-Envelope-To: {', '.join(rcpt_tos)}\r\n"
    ns = time.time_ns()
    # Name sorts chronologically; the uuid keeps concurrent deliveries apart.
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(ns // 10**9))
    name = f"{stamp}.{ns % 10**9:09d}-{uuid.uuid4().hex}"
    tmp = maildir / f".{name}.tmp"
    final = maildir / f"{name}.eml"
    with open(tmp, "wb") as fh:
        fh.write(envelope.encode("utf-8") + raw)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    return final


def read_messages(maildir: Path) -> list[EmailMessage]:
    """All stored messages, oldest first."""
    parser = BytesParser(policy=policy.default)
    messages = []
    for path in sorted(Path(maildir).glob("*.eml")):
        with open(path, "rb") as fh:
            messages.append(parser.parse(fh))
    return messages


class MaildirHandler:
    """aiosmtpd handler that writes each accepted message to the maildir."""

    def __init__(self, maildir: Path):
        self.maildir = maildir

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or envelope.content
        # fsync can take milliseconds; keep the event loop free for other sessions.
        await asyncio.to_thread(write_message, self.maildir, envelope.mail_from, envelope.rcpt_tos, raw)
        return "250 Message accepted for delivery"


async def serve(host: str, port: int, maildir: Path) -> None:
    from aiosmtpd.smtp import SMTP  # imported late so read_messages works without aiosmtpd

    maildir.mkdir(parents=True, exist_ok=True)
    handler = MaildirHandler(maildir)
    loop = asyncio.get_running_loop()
    # An explicit hostname avoids a (possibly slow) reverse-DNS lookup per connection.
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="booking-mesh-mailsink", enable_SMTPUTF8=True), host, port
    )
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    print(f"mailsink listening on {host}:{port}, storing mail in {maildir}", flush=True)
    await stopping.wait()
    server.close()
    await server.wait_closed()
    print("mailsink stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True, help="directory for the .eml files")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, args.dir.resolve()))


if __name__ == "__main__":
    main()
