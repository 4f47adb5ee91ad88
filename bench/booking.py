"""POST /v1/appointments through Envoy: bookings on distinct slots, and N racers on one slot.

    python bench/booking.py [--bookings 2000] [--concurrency 16] [--warmup 100] [--racers 50 200] [--json]

- baseline: the same POSTs (token, body) to the same Envoy config in front of an empty gRPC
  handler, as a stream at the same concurrency and as bursts of as many requests as there are racers;
- distinct slots: every POST, by a customer token, books its own fresh slot (expects 201 each);
- racers: N customers POST for one slot at once over N open connections; the wall time is the
  time until all are answered; exactly one 201 (the rest 409) is checked, in PostgreSQL too.

`--json` adds one JSON line after the table (bench.common.json_rows): `baseline`, `distinct_slots`,
and `race_<N>` per racer count with `answered_s`, `created` and `conflicts`.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    Mesh,
    Result,
    add_processes_option,
    add_slots,
    http_request,
    json_rows,
    load,
    machine_note,
    report,
    running_mesh,
    say,
    warm_up,
)
from tests.integration.booking_fixtures import active_bookings, add_consultant, booking_form

PATH = "/v1/appointments"


def book(mesh: Mesh, slot: UUID, customer: str) -> bytes:
    return http_request("POST", PATH, body=booking_form(slot), token=mesh.token(customer))


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    named: dict[str, Result] = field(default_factory=dict)  # the --json rows
    extra: dict[str, dict] = field(default_factory=dict)


async def run(mesh: Mesh, slots: list[UUID], n: int, concurrency: int, warmup: int, racers: list[int]) -> Run:
    customers = [f"bench-customer-{i}" for i in range(concurrency)]
    stream = [book(mesh, slot, customers[i % concurrency]) for i, slot in enumerate(slots[: warmup + n])]
    warm, measured, contested = stream[:warmup], stream[warmup:], slots[warmup + n :]  # every slot is used once
    out = Run()
    results, checks = out.results, out.checks

    say(f"baseline: {warmup} warm-up + {n} POSTs, concurrency {concurrency}, then bursts of {racers}")
    await warm_up(mesh.baseline_url, warm, concurrency)
    out.named["baseline"] = await load("baseline: Envoy + empty gRPC handler", mesh.baseline_url, measured, concurrency)
    results.append(out.named["baseline"])
    for count in racers:
        burst = [book(mesh, contested[0], f"racer-{i}") for i in range(count)]
        results.append(await load(f"baseline: burst of {count}", mesh.baseline_url, burst, count))

    say(f"distinct slots: {warmup} warm-up + {n} bookings, concurrency {concurrency}")
    await warm_up(mesh.url, warm, concurrency)
    out.named["distinct_slots"] = await load("booking, distinct slots", mesh.url, measured, concurrency)
    results.append(out.named["distinct_slots"])

    for count, slot in zip(racers, contested, strict=True):
        say(f"race: {count} customers for slot {slot}")
        race = await load(f"race: {count} racers, one slot", mesh.url, [book(mesh, slot, f"racer-{i}") for i in range(count)], count)
        results.append(race)
        won, lost, stored = race.responses[201], race.responses[409], active_bookings(mesh.database_url, slot)
        verdict = "OK" if (won, lost, stored) == (1, count - 1, 1) else "FAILED"
        checks.append(f"race of {count}: {won}×201, {lost}×409, {stored} active booking in PostgreSQL — {verdict}")
        out.named[f"race_{count}"] = race
        out.extra[f"race_{count}"] = {"answered_s": round(race.wall, 3), "created": won, "conflicts": lost}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bookings", type=int, default=2000, help="measured bookings on distinct slots")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections booking at once")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured requests before each stream")
    parser.add_argument("--racers", type=int, nargs="+", default=[50, 200], help="racers per contested slot")
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON object as the last line")
    add_processes_option(parser)
    args = parser.parse_args()

    note = machine_note()
    with running_mesh(args.processes) as mesh:
        consultant = add_consultant(mesh.database_url, "Bench Consultant")
        first = datetime.combine(date.today() + timedelta(days=30), time(0), tzinfo=timezone.utc)
        count = args.warmup + args.bookings + len(args.racers)
        slots = add_slots(mesh.database_url, consultant, [first + timedelta(hours=i) for i in range(count)])
        say(f"added {count} one-hour SHOWROOM_VISIT slots from {first:%Y-%m-%d}")
        out = asyncio.run(run(mesh, slots, args.bookings, args.concurrency, args.warmup, args.racers))
    heading = f"POST {PATH} through Envoy (two appointment services) — {note}"
    if args.json:  # the JSON line stays last even when a check fails (report exits then)
        report(heading, out.results, [c for c in out.checks if not c.endswith("FAILED")])
        print(json_rows(out.named, out.extra))
        if any(c.endswith("FAILED") for c in out.checks):
            print("\n".join(c for c in out.checks if c.endswith("FAILED")), file=sys.stderr)
            sys.exit(1)
    else:
        report(heading, out.results, out.checks)


if __name__ == "__main__":
    main()
