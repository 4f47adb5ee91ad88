"""Admin table at 100,000 bookings: how fast is one page (the page query + the count)?

Starts a throw-away embedded PostgreSQL in a temporary directory, migrates it, seeds consultants,
slots and bookings with plain SQL, then times the real adapter call
(`SqlUnitOfWork.bookings.table`: one transaction, one page query, one count) for a set of
filters, sorts and pages, next to a `SELECT 1` through the same path as the floor. Prints p50/p99
latency and sequential calls per second, calls per second with several clients at once, then the
EXPLAIN ANALYZE of every query so you can see which index each one walks.

    python bench/admin_table.py [--bookings 100000] [--iterations 300] [--concurrency 8] [--verbose]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appointment_svc.adapters.bookings import table_count_statement, table_page_statement
from appointment_svc.adapters.migrate import upgrade_to_head
from appointment_svc.adapters.unit_of_work import SqlUnitOfWork
from appointment_svc.domain.model import BookingStatus
from appointment_svc.domain.staff import AppointmentTableQuery, TableSort
from booking_mesh.embedded.postgres import EmbeddedPostgres
from mesh_common.config import sqlalchemy_url

CONSULTANTS = 40
SLOTS_PER_DAY = 5  # per consultant: 09:00, 10:30, 12:00, 13:30, 15:00 London
CUSTOMERS = 30_000

SEED_SQL = """
INSERT INTO consultants (id, name, avatar_url, categories)
SELECT gen_random_uuid(), 'Consultant ' || i, 'https://avatars.example/' || i || '.png',
       CASE i %% 3 WHEN 0 THEN ARRAY['KITCHEN'] WHEN 1 THEN ARRAY['BEDROOM'] ELSE ARRAY['KITCHEN','BEDROOM'] END
FROM generate_series(1, %(consultants)s) AS i;

-- Enough working days for every booking plus ~20%% free slots, centred a little before today.
INSERT INTO time_slots (id, consultant_id, type, starts_at, ends_at)
SELECT gen_random_uuid(), c.id, (ARRAY['HOME_MEASUREMENT','SHOWROOM_VISIT','VIDEO_CONSULTATION'])[1 + (d + k) %% 3],
       ((%(first_day)s::date + d)::timestamp + time '09:00' + k * interval '90 minutes') AT TIME ZONE 'Europe/London',
       ((%(first_day)s::date + d)::timestamp + time '10:00' + k * interval '90 minutes') AT TIME ZONE 'Europe/London'
FROM consultants c, generate_series(0, %(days)s - 1) AS d, generate_series(0, %(per_day)s - 1) AS k;

-- One booking on each of a random %(bookings)s slots. Past ones mostly finished, future ones mostly live.
WITH chosen AS (
  SELECT s.id AS slot_id, s.type, s.starts_at,
         -- Booked 1-41 days ahead; a booking for a slot further out than that was made in the last 90 days.
         CASE WHEN s.starts_at - interval '41 days' < now() - interval '1 hour'
              THEN least(s.starts_at - (1 + random() * 40) * interval '1 day', now() - random() * interval '1 hour')
              ELSE now() - random() * interval '90 days' END AS created_at,
         random() AS r, (random() * %(customers)s)::int AS customer
  -- Not ORDER BY random(): PostgreSQL would sort by the same expression as r, skewing the statuses.
  FROM time_slots s ORDER BY md5(s.id::text) LIMIT %(bookings)s
), numbered AS (
  SELECT *, row_number() OVER (PARTITION BY (created_at AT TIME ZONE 'Europe/London')::date ORDER BY created_at) AS seq,
         CASE WHEN starts_at < now() THEN
                CASE WHEN r < 0.75 THEN 'COMPLETED' WHEN r < 0.83 THEN 'NO_SHOW' ELSE 'CANCELLED' END
              ELSE
                CASE WHEN r < 0.40 THEN 'PENDING' WHEN r < 0.85 THEN 'CONFIRMED' ELSE 'CANCELLED' END
         END AS status
  FROM chosen
)
INSERT INTO bookings (id, reference_code, user_id, type, for_kitchen, for_bedroom, first_name, last_name, email, phone,
                      postcode, address, slot_id, status, created_at, updated_at, cancelled_at, cancel_reason)
SELECT gen_random_uuid(),
       'BK-' || to_char(created_at AT TIME ZONE 'Europe/London', 'YYYYMMDD') || '-' || lpad(seq::text, 4, '0'),
       'user-' || customer, type, r < 0.7, r >= 0.5, 'First' || customer, 'Last' || customer,
       CASE WHEN customer %% 7 = 0 THEN 'Customer' || customer || '@Example.com'
            ELSE 'customer' || customer || '@example.com' END,
       '07700900' || lpad((customer %% 1000)::text, 3, '0'), 'SW1A 1AA', customer || ' High Street, London', slot_id, status,
       created_at, created_at, CASE WHEN status = 'CANCELLED' THEN created_at + interval '1 hour' END,
       CASE WHEN status = 'CANCELLED' THEN 'changed plans' ELSE '' END
FROM numbered;

UPDATE time_slots s SET is_booked = true FROM bookings b WHERE b.slot_id = s.id AND b.status <> 'CANCELLED';
"""


@dataclass(frozen=True)
class Scenario:
    name: str
    query: AppointmentTableQuery


def scenarios(today: date, sample_email: str, sample_reference: str, bookings: int) -> list[Scenario]:
    week = (today + timedelta(days=7), today + timedelta(days=13))
    year_ago = (today - timedelta(days=365), today - timedelta(days=359))
    last_page = -(-bookings // 25)
    return [
        Scenario("default: all, -createdAt, page 1", AppointmentTableQuery()),
        Scenario("status=PENDING, -createdAt, page 1", AppointmentTableQuery(status=BookingStatus.PENDING)),
        Scenario(
            "status=CONFIRMED, startsAt, page 1", AppointmentTableQuery(status=BookingStatus.CONFIRMED, sort=TableSort.STARTS_ASC)
        ),
        Scenario("all, -startsAt, page 1, limit 100", AppointmentTableQuery(sort=TableSort.STARTS_DESC, limit=100)),
        Scenario(
            "from/to one week, startsAt", AppointmentTableQuery(first_day=week[0], last_day=week[1], sort=TableSort.STARTS_ASC)
        ),
        Scenario("from/to one week, -createdAt", AppointmentTableQuery(first_day=week[0], last_day=week[1])),
        Scenario("from/to a week a year ago, -createdAt", AppointmentTableQuery(first_day=year_ago[0], last_day=year_ago[1])),
        Scenario("from a year ago on (open-ended), -createdAt", AppointmentTableQuery(first_day=year_ago[0])),
        Scenario(
            "status=CONFIRMED + one week, startsAt",
            AppointmentTableQuery(status=BookingStatus.CONFIRMED, first_day=week[0], last_day=week[1], sort=TableSort.STARTS_ASC),
        ),
        Scenario("email (case-insensitive)", AppointmentTableQuery(email=sample_email)),
        Scenario("reference code", AppointmentTableQuery(reference_code=sample_reference)),
        Scenario("all, -createdAt, page 40 (offset 975)", AppointmentTableQuery(page=40)),
        Scenario(f"all, -createdAt, last page ({last_page})", AppointmentTableQuery(page=last_page)),
        Scenario("page past the end", AppointmentTableQuery(page=last_page + 10)),
    ]


def say(message: str) -> None:
    """Progress goes to stderr, so stdout is only the results."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def time_calls(call, iterations: int) -> dict:
    for _ in range(min(20, iterations)):
        await call()
    samples = []
    started = time.perf_counter()
    for _ in range(iterations):
        t0 = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    return {"p50": statistics.median(samples), "p99": percentile(samples, 0.99), "qps": iterations / elapsed}


async def concurrent_calls(url: str, query: AppointmentTableQuery, clients: int, seconds: float) -> dict:
    engine = create_async_engine(sqlalchemy_url(url), pool_size=clients, max_overflow=0)
    samples: list[float] = []

    async def client(deadline: float) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            async with SqlUnitOfWork(engine) as uow:
                await uow.bookings.table(query)
            samples.append((time.perf_counter() - t0) * 1000)

    try:
        await asyncio.gather(*(client(time.perf_counter() + 0.5) for _ in range(clients)))  # warm the pool
        samples.clear()
        started = time.perf_counter()
        await asyncio.gather(*(client(started + seconds) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    return {"qps": len(samples) / elapsed, "p50": statistics.median(samples), "p99": percentile(samples, 0.99)}


async def explain(engine: AsyncEngine, statement) -> dict:
    compiled = statement.compile(dialect=engine.dialect)
    async with engine.connect() as conn:
        raw = (
            await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + str(compiled), compiled.params)
        ).scalar_one()
    return (raw if isinstance(raw, list) else json.loads(raw))[0]


def plan_lines(node: dict, depth: int = 0) -> list[str]:
    what = node["Node Type"]
    if "Index Name" in node:
        what += f" using {node['Index Name']}"
    elif "Relation Name" in node:
        what += f" on {node['Relation Name']}"
    if node.get("Sort Key"):
        what += f" (key: {', '.join(node['Sort Key'])})"
    line = f"{'  ' * depth}{what}  rows={node.get('Actual Rows')} time={node.get('Actual Total Time')}ms"
    return [line, *(sub for child in node.get("Plans", []) for sub in plan_lines(child, depth + 1))]


def scans(node: dict) -> list[str]:
    name = node.get("Index Name") or node.get("Relation Name") or node.get("CTE Name")
    found = [f"{node['Node Type']}:{name}"] if "Scan" in node["Node Type"] else []
    return found + [s for child in node.get("Plans", []) for s in scans(child)]


def seed(url: str, bookings: int) -> tuple[str, str]:
    days = -(-int(bookings * 1.2) // (CONSULTANTS * SLOTS_PER_DAY))
    first_day = date.today() - timedelta(days=int(days * 0.7))
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            params = {"consultants": CONSULTANTS, "first_day": first_day, "days": days, "per_day": SLOTS_PER_DAY,
                      "bookings": bookings, "customers": CUSTOMERS}  # fmt: skip
            for statement in SEED_SQL.split(";\n\n"):
                conn.execute(statement, params)
        conn.execute("VACUUM ANALYZE")
        email, reference = conn.execute(
            "SELECT email, reference_code FROM bookings ORDER BY created_at OFFSET %s LIMIT 1", (bookings // 2,)
        ).fetchone()
        counts = dict(conn.execute("SELECT status, count(*) FROM bookings GROUP BY status").fetchall())
        slots = conn.execute("SELECT count(*) FROM time_slots").fetchone()[0]
        server = conn.execute("SHOW server_version").fetchone()[0]
        shared_buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
    say(f"seeded {sum(counts.values())} bookings on {slots} slots in {time.perf_counter() - started:.1f}s")
    load = os.getloadavg()
    print(
        f"PostgreSQL {server} (embedded, shared_buffers={shared_buffers}), {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average before the run {load[0]:.2f} (1 min) / {load[1]:.2f} (5 min)"
    )
    print(f"{sum(counts.values())} bookings on {slots} slots: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return email.upper(), reference


async def run(url: str, args) -> None:
    engine = create_async_engine(sqlalchemy_url(url), pool_size=1, max_overflow=0)
    today = date.today()
    try:
        email, reference = seed(url, args.bookings)
        cases = scenarios(today, email.lower(), reference, args.bookings)

        async def select_one():
            async with SqlUnitOfWork(engine) as uow:
                await uow.conn.execute(text("SELECT 1"))

        print()
        print(f"| query ({args.iterations} sequential calls, one connection) | p50 ms | p99 ms | calls/s | rows | total |")
        print("|---|---:|---:|---:|---:|---:|")
        floor = await time_calls(select_one, args.iterations)
        print(f"| baseline: `SELECT 1` in a unit of work | {floor['p50']:.2f} | {floor['p99']:.2f} | {floor['qps']:.0f} | | |")
        totals = {}
        for case in cases:

            async def page(query=case.query):
                async with SqlUnitOfWork(engine) as uow:
                    return await uow.bookings.table(query)

            rows, total = totals[case.name] = await page()
            figures = await time_calls(page, args.iterations)
            print(f"| {case.name} | {figures['p50']:.2f} | {figures['p99']:.2f} | {figures['qps']:.0f} | {len(rows)} | {total} |")

        print(f"\n| {args.concurrency} clients at once, {args.seconds:.0f} s each | calls/s | p50 ms | p99 ms |")
        print("|---|---:|---:|---:|")
        for case in [cases[0], cases[1], cases[4]]:
            figures = await concurrent_calls(url, case.query, args.concurrency, args.seconds)
            print(f"| {case.name} | {figures['qps']:.0f} | {figures['p50']:.2f} | {figures['p99']:.2f} |")

        print("\nEXPLAIN ANALYZE (count, then page query):")
        for case in cases:
            total = totals[case.name][1]
            count_plan = await explain(engine, table_count_statement(case.query))
            print(f"\n## {case.name}")
            plans = [("count", count_plan)]
            if case.query.offset < total:
                plans.append(("page ", await explain(engine, table_page_statement(case.query, total))))
            for label, plan in plans:
                timing = f"{plan['Execution Time']:.2f} ms (planning {plan['Planning Time']:.2f} ms)"
                print(f"{label} {timing}  scans: {', '.join(scans(plan['Plan']))}")
                if args.verbose:
                    print("\n".join("    " + line for line in plan_lines(plan["Plan"])))
            if case.query.offset >= total:
                print("page  not run: the count says the page is past the end")
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=100_000)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8, help="clients for the throughput runs")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each throughput run")
    parser.add_argument("--verbose", action="store_true", help="print every plan node")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="admin-bench-") as tmp:
        postgres = EmbeddedPostgres(Path(tmp) / "postgres", log_dir=Path(tmp) / "logs")
        say(f"starting PostgreSQL in {tmp}")
        postgres.start()
        try:
            url = postgres.create_database("bench")
            upgrade_to_head(url)
            say(f"migrated; seeding {args.bookings} bookings")
            asyncio.run(run(url, args))
        finally:
            postgres.stop()


if __name__ == "__main__":
    main()
