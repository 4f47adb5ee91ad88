"""GET /v1/appointments/availability through Envoy: cache hit, cache miss, and the empty-handler baseline.

    python bench/availability.py [--requests 5000] [--concurrency 16] [--warmup 300] [--json]

- baseline: the same Envoy config in front of an empty gRPC handler (returns no slots at once);
- cache hit: one query, repeated (4 demo consultants, the reply lists 9 slots);
- cache hit, 1 client: the same, one request at a time, next to the baseline at concurrency 1
  (the latency a single visitor sees, without queueing behind others);
- cache miss: every request is a different (day, type, category) key over ~1 year of seeded
  demo slots, after deleting every availability key, so each one reads PostgreSQL; the script
  checks with Valkey's keyspace_hits/keyspace_misses counters that hits and misses were real.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import sys
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    Mesh,
    Result,
    add_processes_option,
    http_request,
    json_rows,
    load,
    machine_note,
    running_mesh,
    say,
    table,
    warm_up,
)

PATH = "/v1/appointments/availability"
TYPES = ("HOME_MEASUREMENT", "SHOWROOM_VISIT", "VIDEO_CONSULTATION")
CATEGORIES = (None, "KITCHEN", "BEDROOM")


def query(day: date, kind: str, category: str | None) -> bytes:
    params = {"type": kind, "date": day.isoformat(), **({"category": category} if category else {})}
    return http_request("GET", PATH, params=params)


def working_days(count: int) -> list[date]:
    """Mon–Sat from tomorrow on: the days the demo seed fills with slots."""
    days = (date.today() + timedelta(days=n) for n in itertools.count(1))
    return list(itertools.islice((d for d in days if d.weekday() != 6), count))


def cache_counters(redis_url: str) -> tuple[int, int]:
    from redis import Redis

    with Redis.from_url(redis_url) as client:
        stats = client.info("stats")
    return stats["keyspace_hits"], stats["keyspace_misses"]


def flush_availability_cache(redis_url: str) -> int:
    from redis import Redis

    with Redis.from_url(redis_url) as client:
        keys = list(client.scan_iter("slot:availability:*", count=1000))
        return client.delete(*keys) if keys else 0


async def measure_with_counters(mesh: Mesh, scenario: str, requests: list[bytes], concurrency: int) -> tuple[Result, int, int]:
    hits, misses = cache_counters(mesh.redis_url)
    result = await load(scenario, mesh.url, requests, concurrency)
    hits_after, misses_after = cache_counters(mesh.redis_url)
    return result, hits_after - hits, misses_after - misses


async def run(mesh: Mesh, n: int, concurrency: int, warmup: int) -> dict[str, Result]:
    """Every scenario by the name `--json` reports it under."""
    keys_needed = n + warmup
    days = working_days(math.ceil(keys_needed / (len(TYPES) * len(CATEGORIES))))
    hot = query(days[0], "SHOWROOM_VISIT", "KITCHEN")
    cold = [query(d, t, c) for d, t, c in itertools.product(days, TYPES, CATEGORIES)][:keys_needed]
    results: dict[str, Result] = {}

    say(f"baseline: {warmup} warm-up + {n} GETs, concurrency {concurrency}")
    await warm_up(mesh.baseline_url, [hot] * warmup, concurrency)
    results["baseline"] = await load("baseline: Envoy + empty gRPC handler", mesh.baseline_url, [hot] * n, concurrency)

    say(f"cache hit: {warmup} warm-up + {n} GETs of one query")
    await warm_up(mesh.url, [hot] * warmup, concurrency)
    result, hits, misses = await measure_with_counters(mesh, "availability, cache hit", [hot] * n, concurrency)
    results["cache_hit"] = result
    say(f"  Valkey during the hit run: {hits} hits, {misses} misses (one cache GET per request)")

    single = max(1, n // 5)  # one at a time is slow; a fifth of the requests gives a steady p50
    say(f"baseline and cache hit, 1 client: {single} GETs each")
    results["baseline_1_client"] = await load("baseline: Envoy + empty gRPC handler, 1 client", mesh.baseline_url, [hot] * single, 1)
    results["cache_hit_1_client"] = await load("availability, cache hit, 1 client", mesh.url, [hot] * single, 1)

    say(f"cache miss: deleted {flush_availability_cache(mesh.redis_url)} availability keys; "
        f"{warmup} warm-up + {n} GETs, each a distinct key over {len(days)} days")
    await warm_up(mesh.url, cold[n:], concurrency)  # other keys than the measured ones
    result, hits, misses = await measure_with_counters(mesh, "availability, cache miss", cold[:n], concurrency)
    results["cache_miss"] = result
    say(f"  Valkey during the miss run: {hits} hits, {misses} misses")
    if hits:
        say("  WARNING: some 'miss' requests were served from the cache")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=5000, help="measured requests per scenario")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections sending at once")
    parser.add_argument("--warmup", type=int, default=300, help="unmeasured requests before each scenario")
    parser.add_argument("--json", action="store_true", help="also print the rows as one JSON object, the last line")
    add_processes_option(parser)
    args = parser.parse_args()

    from appointment_svc.seed import seed_if_empty

    note = machine_note()
    with running_mesh(args.processes) as mesh:
        days_needed = math.ceil((args.requests + args.warmup) / 9 * 7 / 6) + 3
        say(f"seeded {seed_if_empty(mesh.database_url, days=days_needed)} demo slots over {days_needed} days")
        results = asyncio.run(run(mesh, args.requests, args.concurrency, args.warmup))
    print(f"\nGET {PATH} through Envoy — {note}\n")
    print(table(list(results.values())))
    if args.json:
        print(json_rows(results))


if __name__ == "__main__":
    main()
