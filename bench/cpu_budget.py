"""Where each request's CPU goes, process by process, and what the issue-13 targets leave for it.

    python bench/cpu_budget.py [--requests 4000] [--bookings 1500] [--json]

On two cores every scenario of bench/availability.py and bench/booking.py at 16 clients is
CPU-bound, so throughput is (CPU available) / (CPU per request, summed over every process that
works on it). This bench measures that sum, per process group (Envoy, the appointment services,
PostgreSQL, Valkey, NATS, the load generator), with psutil around each scenario, for:
baseline (Envoy + the empty handler), cache hit, cache miss, and a booking on a free slot.
A target "throughput >= r x baseline" then means "CPU per request <= baseline CPU / r": the last
table prints that budget next to what the gateway and the backing servers alone already use,
before any of our Python runs. Needs the test extra (psutil).
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil

from bench.availability import CATEGORIES, TYPES, flush_availability_cache, query, working_days
from bench.booking import book
from bench.common import add_processes_option, add_slots, load, machine_note, running_mesh, say, warm_up
from tests.integration.booking_fixtures import add_consultant

# Throughput targets of issue 13, as a share of the same run's baseline.
TARGETS = {"cache_hit": 0.80, "cache_miss": 0.40, "booking": 0.18}
GROUPS = (("gateway (Envoy)", "envoy"), ("baseline handler", "bench.common"), ("appointment services", "appointment_svc"),
          ("PostgreSQL", "postgres"), ("Valkey", "valkey"), ("NATS", "nats-server"))  # fmt: skip
BACKING = ("gateway (Envoy)", "PostgreSQL", "Valkey", "NATS")


def group_of(process: psutil.Process) -> str | None:
    try:
        command = " ".join(process.cmdline()) or process.name()
    except psutil.Error:
        return None
    return next((name for name, marker in GROUPS if marker in command), None)


def cpu_by_group() -> dict[int, tuple[str, float]]:
    seen = {}
    for process in psutil.Process().children(recursive=True):
        group = group_of(process)
        if group:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            seen[process.pid] = (group, times.user + times.system)
    return seen


async def measured(url: str, requests: list[bytes], concurrency: int) -> tuple[dict[str, float], float]:
    """CPU µs per request by group (the load generator's own included), and the req/s reached."""
    before, client = cpu_by_group(), time.process_time()
    result = await load("cpu", url, requests, concurrency)
    after, client = cpu_by_group(), time.process_time() - client
    spent: dict[str, float] = defaultdict(float)
    for pid, (group, seconds) in after.items():
        spent[group] += seconds - before.get(pid, (group, 0.0))[1]
    spent["load generator"] = client
    bad = set(result.responses) - {200, 201}
    if bad:
        say(f"  unexpected answers: {result.responses}")
    return {group: seconds / result.requests * 1e6 for group, seconds in spent.items()}, result.requests / result.wall


async def scenarios(mesh, n: int, bookings: int, concurrency: int) -> dict[str, tuple[dict[str, float], float]]:
    from appointment_svc.seed import seed_if_empty

    seed_if_empty(mesh.database_url, days=int(n / 9 * 7 / 6) + 400)
    days = working_days(int(n / 9) + 60)
    hot = query(days[0], "SHOWROOM_VISIT", "KITCHEN")
    cold = [query(d, t, c) for d, t, c in itertools.product(days, TYPES, CATEGORIES)]
    out = {}
    say("baseline")
    await warm_up(mesh.baseline_url, [hot] * 300, concurrency)
    out["baseline"] = await measured(mesh.baseline_url, [hot] * n, concurrency)
    say("cache hit")
    await warm_up(mesh.url, [hot] * 300, concurrency)
    out["cache_hit"] = await measured(mesh.url, [hot] * n, concurrency)
    say("cache miss")
    flush_availability_cache(mesh.redis_url)
    await warm_up(mesh.url, cold[n : n + 300], concurrency)
    out["cache_miss"] = await measured(mesh.url, cold[:n], concurrency)
    say("booking")
    consultant = add_consultant(mesh.database_url, "CPU Consultant")
    first = datetime.combine(date.today() + timedelta(days=40), clock_time(0), tzinfo=timezone.utc)
    slots = add_slots(mesh.database_url, consultant, [first + timedelta(hours=i) for i in range(bookings + 100)])
    stream = [book(mesh, slot, f"cpu-customer-{i % concurrency}") for i, slot in enumerate(slots)]
    await warm_up(mesh.url, stream[:100], concurrency)
    out["booking"] = await measured(mesh.url, stream[100:], concurrency)
    return out


def report(results: dict[str, tuple[dict[str, float], float]]) -> list[dict]:
    groups = [name for name, _ in GROUPS] + ["load generator"]
    print("\nCPU per request, µs, by process group (16 clients)\n")
    print("| scenario | req/s | " + " | ".join(groups) + " | total |")
    print("|---|---:|" + "---:|" * (len(groups) + 1))
    for scenario, (cpu, rate) in results.items():
        print(f"| {scenario} | {rate:.0f} | " + " | ".join(f"{cpu.get(g, 0):.0f}" for g in groups) + f" | {sum(cpu.values()):.0f} |")
    baseline_total = sum(results["baseline"][0].values())
    print("\nWhat each target leaves (budget = baseline total / target share), µs per request\n")
    print("| scenario | target | budget | gateway + backing servers + load generator | left for the appointment service | it uses |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = []
    for scenario, share in TARGETS.items():
        cpu = results[scenario][0]
        budget = baseline_total / share
        fixed = sum(cpu.get(g, 0) for g in BACKING) + cpu.get("load generator", 0)
        ours = cpu.get("appointment services", 0)
        print(f"| {scenario} | {share:.0%} | {budget:.0f} | {fixed:.0f} | {budget - fixed:.0f} | {ours:.0f} |")
        rows.append({"scenario": scenario, "target_share": share, "budget_us": round(budget), "fixed_us": round(fixed),
                     "left_us": round(budget - fixed), "service_us": round(ours)})  # fmt: skip
    empty = results["baseline"][0].get("baseline handler", 0)
    print(f"\nFor scale: the empty gRPC handler alone costs {empty:.0f} µs per request (Python's gRPC server, no work).")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000, help="requests per availability scenario")
    parser.add_argument("--bookings", type=int, default=1500, help="bookings on distinct slots")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="also print the budget rows as one JSON object, the last line")
    add_processes_option(parser)
    args = parser.parse_args()
    note = machine_note()
    with running_mesh(args.processes) as mesh:
        results = asyncio.run(scenarios(mesh, args.requests, args.bookings, args.concurrency))
    print(f"\n{note}")
    rows = report(results)
    if args.json:
        print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
