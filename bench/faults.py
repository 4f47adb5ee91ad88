"""Booking latency while a dependency hangs (SIGSTOP: it accepts connections and answers nothing).

    python bench/faults.py [--bookings 400] [--concurrency 8] [--freeze-seconds 10]

Four streams of POST /v1/appointments on distinct fresh slots, through Envoy and two appointment
services, at the same concurrency:
- baseline: the same POSTs to the same Envoy config in front of an empty gRPC handler;
- normal: every dependency healthy;
- Valkey frozen for the whole stream: the Redis circuit breaker should keep latency within 2x of
  normal (a few 0.5 s timeouts, then no Redis calls for 5 s at a time); every answer must be 201;
- PostgreSQL frozen for --freeze-seconds while the stream runs: every request answers 503
  UNAVAILABLE within the 2.4 s deadline + 0.3 s wind-down (max latency shows it), none waits for
  Envoy's 15 s route timeout; after the thaw the mesh books again.
Afterwards PostgreSQL is audited: no slot with two active bookings, slot flags match.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Mesh, Result, add_slots, http_request, load, machine_note, report, running_mesh, say, warm_up
from tests.faults import frozen
from tests.integration.booking_fixtures import add_consultant, booking_form

PATH = "/v1/appointments"


def bookings(mesh: Mesh, slots: list[UUID], prefix: str) -> list[bytes]:
    return [http_request("POST", PATH, body=booking_form(slot), token=mesh.token(f"{prefix}-{i}")) for i, slot in enumerate(slots)]


def audit(database_url: str) -> str:
    import psycopg

    with psycopg.connect(database_url) as conn:
        doubled = conn.execute(
            "SELECT count(*) FROM (SELECT slot_id FROM bookings WHERE status IN ('PENDING','CONFIRMED') GROUP BY slot_id HAVING count(*) > 1) d"
        ).fetchone()[0]
        mismatched = conn.execute(
            "SELECT count(*) FROM time_slots s WHERE s.is_booked <> EXISTS "
            "(SELECT 1 FROM bookings b WHERE b.slot_id = s.id AND b.status IN ('PENDING','CONFIRMED'))"
        ).fetchone()[0]
    verdict = "OK" if doubled == mismatched == 0 else "FAILED"
    return f"audit: {doubled} doubly booked slots, {mismatched} slot flags out of step — {verdict}"


async def run(mesh: Mesh, slots: list[UUID], n: int, concurrency: int, freeze_seconds: float) -> tuple[list[Result], list[str]]:
    chunks = [slots[i * n : (i + 1) * n] for i in range(5)]
    results, checks = [], []
    await warm_up(mesh.url, bookings(mesh, chunks[0][: n // 4], "warm"), concurrency)
    await warm_up(mesh.baseline_url, bookings(mesh, chunks[0][: n // 4], "warm"), concurrency)
    results.append(await load("baseline: Envoy + empty gRPC handler", mesh.baseline_url, bookings(mesh, chunks[1], "base"), concurrency))
    normal = await load("normal", mesh.url, bookings(mesh, chunks[1], "normal"), concurrency)
    results.append(normal)

    say("Valkey frozen for the whole stream")
    with frozen(mesh.servers["valkey"]):
        redis_frozen = await load("Valkey frozen", mesh.url, bookings(mesh, chunks[2], "valkey"), concurrency)
    results.append(redis_frozen)
    ratio = redis_frozen.percentile(50) / normal.percentile(50)
    all_booked = redis_frozen.responses == {201: n}
    checks.append(
        f"Valkey frozen: {dict(redis_frozen.responses)}, p50 {ratio:.1f}x normal — {'OK' if all_booked and ratio <= 2 else 'FAILED'}"
    )

    say(f"PostgreSQL frozen for {freeze_seconds:g} s while a stream runs")
    thawed = threading.Event()

    def thaw_later(context) -> None:
        thawed.wait(freeze_seconds)
        context.__exit__(None, None, None)

    freeze = frozen(mesh.servers["postgres"])
    freeze.__enter__()
    thaw = threading.Thread(target=thaw_later, args=(freeze,))
    thaw.start()
    try:
        pg_frozen = await load("PostgreSQL frozen", mesh.url, bookings(mesh, chunks[3][: max(concurrency * 4, n // 4)], "pg"), concurrency)
    finally:
        thawed.set()
        thaw.join()
    results.append(pg_frozen)
    bounded = max(pg_frozen.latencies) < 3.5
    checks.append(
        f"PostgreSQL frozen: {dict(pg_frozen.responses)}, max latency {max(pg_frozen.latencies):.2f} s — {'OK' if bounded else 'FAILED'}"
    )
    after = await load("after the thaw", mesh.url, bookings(mesh, chunks[4], "after"), concurrency)
    results.append(after)
    checks.append(f"after the thaw: {dict(after.responses)} — {'OK' if after.responses == {201: n} else 'FAILED'}")
    checks.append(audit(mesh.database_url))
    return results, checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bookings", type=int, default=400, help="bookings per stream")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--freeze-seconds", type=float, default=10.0)
    args = parser.parse_args()
    note = machine_note()
    with running_mesh() as mesh:
        consultant = add_consultant(mesh.database_url, "Fault Bench")
        first = datetime.combine(date.today() + timedelta(days=20), time(0), tzinfo=timezone.utc)
        slots = add_slots(mesh.database_url, consultant, [first + timedelta(hours=i) for i in range(5 * args.bookings)])
        results, checks = asyncio.run(run(mesh, slots, args.bookings, args.concurrency, args.freeze_seconds))
    report(f"POST {PATH} with a hung dependency — {note}", results, checks)


if __name__ == "__main__":
    main()
