"""Confirmation emails after a burst of bookings: does the notification service keep up?

    python bench/emails.py [--bookings 2000] [--concurrency 16] [--warmup 100] [--processes 2] [--json]

The mesh of bench/booking.py plus the email half (SMTP sink, notification service). N customers'
bookings go through Envoy as fast as the booking bench sends them; each one causes two emails
(the customer's confirmation and the kitchen team's alert), relayed by the outbox to NATS and
sent by the notification service to the sink. A sampler counts the sink's files every 0.1 s, so
the run shows the booking rate, the drain rate (emails landed per second, from the first booking
sent to the last email landed) and the backlog (emails owed but not landed) as the bookings end.
The drain keeps up when it is at least the booking rate times the emails per booking.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time as clock
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    add_processes_option,
    add_slots,
    http_request,
    load,
    machine_note,
    running_mesh,
    running_notifications,
    say,
)
from tests.integration.booking_fixtures import add_consultant, booking_form

EMAILS_PER_BOOKING = 2  # booking_form books for the kitchen only: a confirmation and one team alert
DRAIN_BOUND_SECONDS = 600
STALL_SECONDS = 60


def landed(maildir: Path) -> int:
    return sum(1 for name in os.listdir(maildir) if name.endswith(".eml"))


class Sampler(threading.Thread):
    """(monotonic time, emails landed) every `every` seconds, off the event loop the load runs on."""

    def __init__(self, maildir: Path, every: float = 0.1):
        super().__init__(daemon=True)
        self.maildir, self.every = maildir, every
        self.samples: list[tuple[float, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.samples.append((clock.monotonic(), landed(self.maildir)))
            self.stopping.wait(self.every)

    def at(self, moment: float) -> int:
        return max((count for t, count in self.samples if t <= moment), default=0)

    def first_reaching(self, count: int) -> float | None:
        return next((t for t, c in self.samples if c >= count), None)


def where_the_backlog_is(database_url: str, nats_url: str) -> tuple[int, int]:
    """(events still in the outbox, events in JetStream the notification service has not acked)."""
    import nats
    import psycopg

    from mesh_common.config import EventBusSettings

    with psycopg.connect(database_url) as connection:
        (outbox,) = connection.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()

    async def unacked() -> int:
        client = await nats.connect(nats_url)
        try:
            stream = EventBusSettings(nats_url=nats_url).events_stream
            info = await client.jetstream().consumer_info(stream, "notification-svc")
            return info.num_pending + info.num_ack_pending
        finally:
            await client.close()

    return outbox, asyncio.run(unacked())


def wait_for_emails(maildir: Path, count: int, what: str) -> None:
    """Until `count` emails landed; gives up when none arrive for STALL_SECONDS or after the bound."""
    deadline, last, last_change = clock.monotonic() + DRAIN_BOUND_SECONDS, -1, clock.monotonic()
    while (now := landed(maildir)) < count:
        if now != last:
            last, last_change = now, clock.monotonic()
        if clock.monotonic() > deadline or clock.monotonic() - last_change > STALL_SECONDS:
            sys.exit(f"{what}: {now} of {count} emails landed, no progress; see the notification service's log")
        clock.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bookings", type=int, default=2000, help="measured bookings on distinct slots")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections booking at once")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured bookings (their emails land first)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    add_processes_option(parser)
    args = parser.parse_args()

    note = machine_note()
    with running_mesh(args.processes) as mesh, running_notifications(mesh) as (maildir, notifier_pid):
        consultant = add_consultant(mesh.database_url, "Bench Consultant")
        first = datetime.combine(date.today() + timedelta(days=30), time(0), tzinfo=timezone.utc)
        slots = add_slots(mesh.database_url, consultant, [first + timedelta(hours=i) for i in range(args.warmup + args.bookings)])
        customers = [f"bench-customer-{i}" for i in range(args.concurrency)]
        stream = [
            http_request("POST", "/v1/appointments", body=booking_form(slot), token=mesh.token(customers[i % args.concurrency]))
            for i, slot in enumerate(slots)
        ]
        say(f"warm-up: {args.warmup} bookings, then their {args.warmup * EMAILS_PER_BOOKING} emails")
        warm = asyncio.run(load("warm-up", mesh.url, stream[: args.warmup], args.concurrency))
        before = warm.responses[201] * EMAILS_PER_BOOKING
        wait_for_emails(maildir, before, "warm-up")

        say(f"{args.bookings} bookings, concurrency {args.concurrency}, counting emails as they land")
        notifier = psutil.Process(notifier_pid)
        cpu_before = sum(notifier.cpu_times()[:2])
        sampler = Sampler(maildir)
        sampler.start()
        started = clock.monotonic()
        booked = asyncio.run(load("bookings", mesh.url, stream[args.warmup :], args.concurrency))
        ended = started + booked.wall
        in_outbox, in_stream = where_the_backlog_is(mesh.database_url, mesh.servers["nats"].url)
        owed = booked.responses[201] * EMAILS_PER_BOOKING
        wait_for_emails(maildir, before + owed, "drain")
        cpu_ms_per_email = (sum(notifier.cpu_times()[:2]) - cpu_before) / max(1, owed) * 1000
        sampler.stopping.set()
        sampler.join()
        drained = (sampler.first_reaching(before + owed) or clock.monotonic()) - started

    booking_rate = booked.requests / booked.wall
    email_rate = owed / drained
    backlog = before + owed - sampler.at(ended)
    keeps_up = email_rate >= booking_rate * EMAILS_PER_BOOKING
    print(f"\nEmails after {booked.requests} bookings through Envoy — {note}\n")
    print("| bookings | 201s | booking req/s | emails | drained in s | emails/s | bookings drained/s | backlog as bookings end "
          "| notifier CPU ms/email |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {booked.requests} | {booked.responses[201]} | {booking_rate:.1f} | {owed} | {drained:.1f} | {email_rate:.1f} | "
          f"{email_rate / EMAILS_PER_BOOKING:.1f} | {backlog} | {cpu_ms_per_email:.1f} |")
    print(f"\nas the bookings ended: {in_outbox} events still in the outbox, {in_stream} in JetStream not yet handled")
    print(f"drain rate ≥ booking rate ({EMAILS_PER_BOOKING} emails per booking): {'OK' if keeps_up else 'NOT MET'}")
    if args.json:
        row = {"scenario": "emails", "bookings": booked.requests, "booking_req_per_s": round(booking_rate, 1),
               "emails_per_s": round(email_rate, 1), "emails": owed, "drained_s": round(drained, 2),
               "backlog_at_end": backlog, "outbox_at_end": in_outbox, "stream_at_end": in_stream,
               "notifier_cpu_ms_per_email": round(cpu_ms_per_email, 2)}  # fmt: skip
        print(json.dumps({"rows": [row]}))


if __name__ == "__main__":
    main()
