"""What both benchmarks share: the mesh, the empty-handler baseline, the load generator, the table.

The mesh is the one the end-to-end tests use (tests/e2e/conftest.py): real PostgreSQL, Valkey and
NATS from pip packages, two appointment-service processes behind the real Envoy gateway. Next to
it runs the BASELINE: a second Envoy with the same configuration in front of an empty gRPC handler
(`python -m bench.common empty-grpc`, its own process), so every run measures what the gateway
and the transport cost on this machine, right now.

The load generator is plain asyncio: C workers, each with one HTTP/1.1 keep-alive connection,
sending pre-encoded requests taken from one shared list (every request is sent exactly once).
It is a minimal HTTP/1.1 client rather than httpx, because on two cores the generator shares the
CPUs with Envoy and the services and must cost as little as possible.
"""
from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ first, not the project root
    sys.path.insert(0, str(ROOT))

from booking_mesh.embedded.mesh import start_all, stop_all  # noqa: E402
from booking_mesh.embedded.ports import LOCALHOST  # noqa: E402
from booking_mesh.services import AppointmentService  # noqa: E402
from mesh_common.auth import KeyPair, issue_token  # noqa: E402


def say(text: str) -> None:
    """Progress goes to stderr, so stdout is only the result table."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the mesh


class EmptyHandler(AppointmentService):
    """The baseline upstream: `python -m bench.common empty-grpc` (health-probed like the real one)."""

    name = "empty_grpc"
    module = "bench.common"
    args = ("empty-grpc",)


@dataclass
class Mesh:
    keys: KeyPair
    database_url: str
    redis_url: str
    url: str  # Envoy → two appointment services
    baseline_url: str  # the same Envoy config → the empty handler
    servers: dict = field(default_factory=dict)  # the backing servers, for fault injection

    def token(self, sub: str) -> str:
        return issue_token(self.keys, sub, ttl_seconds=3600)


def bench_processes() -> int:
    """Appointment-service processes behind the bench's Envoy: BENCH_PROCESSES, else 2 (one per core here)."""
    return int(os.environ.get("BENCH_PROCESSES", "2"))


def add_processes_option(parser) -> None:
    """`--processes N` for a bench's argparse parser; pass `args.processes` to running_mesh."""
    parser.add_argument("--processes", type=int, default=bench_processes(),
                        help="appointment-service processes behind Envoy (default: BENCH_PROCESSES or 2)")  # fmt: skip


@contextmanager
def running_mesh(processes: int | None = None) -> Iterator[Mesh]:
    """Everything in a temporary directory, everything stopped (and deleted) at the end."""
    processes = processes or bench_processes()
    from appointment_svc.adapters.migrate import upgrade_to_head
    from booking_mesh.embedded.envoy import EnvoyGateway

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="booking-bench-") as tmp, ExitStack() as stack:
        home = Path(tmp)
        say(f"starting PostgreSQL, Valkey, NATS, {processes} appointment services, the empty handler, 2 Envoys in {home}")
        backing = start_all(home, only={"postgres", "valkey", "nats"})
        stack.callback(stop_all, backing)
        database_url = backing["postgres"].create_database("bench")
        upgrade_to_head(database_url)
        keys = KeyPair.load_or_create(home / "keys")
        jwks = home / "keys" / "jwks.json"
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": backing["valkey"].url,
            "NATS_URL": backing["nats"].url,
            "JWT_JWKS_PATH": str(jwks),
            "LOG_LEVEL": "INFO",
            # A few bench customers make thousands of bookings: the per-customer and per-address
            # abuse limits (issue 9) would refuse all but the first few, measuring refusals.
            "MAX_ACTIVE_BOOKINGS": "1000000",
            "MAX_BOOKING_EMAILS_PER_DAY": "1000000",
            # bench/availability.py reads one distinct day per nine cold keys: its default run
            # already reaches ~690 days ahead, a longer one would pass the default 730-day horizon.
            "BOOKING_HORIZON_DAYS": "36500",
        }
        logs = home / "logs"
        services = [AppointmentService(home / "run", env, log_dir=logs, name=f"appointment_svc_{i}") for i in range(1, processes + 1)]
        pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        empty = EmptyHandler(home / "run", {"PYTHONPATH": pythonpath}, log_dir=logs)
        gateway = EnvoyGateway(home / "gateway", upstreams=[(LOCALHOST, s.port) for s in services], jwks_path=jwks, log_dir=logs)
        baseline = EnvoyGateway(home / "gateway-baseline", upstreams=[(LOCALHOST, empty.port)], jwks_path=jwks, log_dir=logs)
        baseline.name = "gateway_baseline"  # its own log file
        # One after the other, the gateways last (they health-check the services): a fork while
        # this process's gRPC health probe runs can abort the child before its exec
        # (grpc/grpc#43055), as `booking-mesh up` found (booking_mesh/cli.py).
        for server in [*services, empty, gateway, baseline]:
            stack.callback(server.stop)
            server.start()
        say(f"mesh up in {time.monotonic() - started:.1f}s: gateway {gateway.url}, baseline {baseline.url}")
        yield Mesh(keys, database_url, backing["valkey"].url, gateway.url, baseline.url, backing)
        report_service_log_problems(logs)
        say("stopping the mesh")


@contextmanager
def running_notifications(mesh: Mesh) -> Iterator[tuple[Path, int]]:
    """The email half next to a running mesh: the SMTP sink, S3 and one notification service on the
    mesh's NATS (its own temporary directory); yields the sink's maildir (one .eml file per email)
    and the notification service's pid (to read its CPU time)."""
    from booking_mesh.services import NotificationService

    with tempfile.TemporaryDirectory(prefix="booking-bench-mail-") as tmp, ExitStack() as stack:
        home = Path(tmp)
        backing = start_all(home, only={"smtp", "s3"})
        stack.callback(stop_all, backing)
        env = {
            "NATS_URL": mesh.servers["nats"].url,
            "SMTP_URL": backing["smtp"].url,
            "S3_ENDPOINT_URL": backing["s3"].url,
            "S3_ACCESS_KEY": backing["s3"].access_key,
            "S3_SECRET_KEY": backing["s3"].secret_key,
            "LOG_LEVEL": "INFO",
        }
        service = NotificationService(home / "run", env, log_dir=home / "logs")
        stack.callback(service.stop)
        service.start()
        say(f"notification service and SMTP sink up: {backing['smtp'].url}")
        yield backing["smtp"].maildir, service.pid
        report_service_log_problems(home / "logs", "notification_svc*.log")


def report_service_log_problems(logs: Path, pattern: str = "appointment_svc_*.log") -> None:
    """Warnings, errors and tracebacks the services logged during the run (the logs are deleted after)."""
    for path in sorted(logs.glob(pattern)) + [logs / "empty_grpc.log"]:
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        problems = [line for line in lines if any(m in line for m in ('"level": "warning"', '"level": "error"', "Traceback"))]
        if problems:
            say(f"{path.name}: {len(problems)} warning/error lines, e.g. {problems[0][:300]}")


def add_slots(database_url: str, consultant_id: uuid.UUID, starts: list[datetime], kind: str = "SHOWROOM_VISIT") -> list[uuid.UUID]:
    """Many one-hour slots in one round trip (tests/integration/booking_fixtures.add_slot does one)."""
    import psycopg

    rows = [(uuid.uuid4(), consultant_id, kind, start, start + timedelta(hours=1)) for start in starts]
    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO time_slots (id, consultant_id, type, starts_at, ends_at, is_blocked) VALUES (%s, %s, %s, %s, %s, false)",
            rows,
        )
    return [row[0] for row in rows]


# --------------------------------------------------------------------------- HTTP/1.1 load generator


def http_request(method: str, path: str, *, params: dict | None = None, body: dict | None = None, token: str | None = None) -> bytes:
    """One request, encoded once up front so sending it costs the generator almost nothing."""
    payload = json.dumps(body).encode() if body is not None else b""
    lines = [f"{method} {path}{'?' + urlencode(params) if params else ''} HTTP/1.1", "Host: bench", f"Content-Length: {len(payload)}"]
    if body is not None:
        lines.append("Content-Type: application/json")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Connection:
    """A keep-alive HTTP/1.1 connection: one request at a time, Content-Length or chunked replies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> "Connection":
        parts = urlsplit(url)
        return cls(*await asyncio.open_connection(parts.hostname, parts.port))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")  # the empty trailer
        else:
            body = b""
        return int(head[0].split()[1]), body

    def close(self) -> None:
        self.writer.close()


@dataclass
class Result:
    scenario: str
    concurrency: int
    latencies: list[float]  # seconds, one per answered request
    responses: Counter  # HTTP status (or exception name) → count
    wall: float  # seconds from the first request sent to the last answer
    client_cpu: float  # CPU the load generator itself used, as a share of one core

    @property
    def requests(self) -> int:
        return sum(self.responses.values())

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] if ordered else float("nan")


async def load(scenario: str, url: str, requests: list[bytes], concurrency: int) -> Result:
    """Send every request once through `concurrency` keep-alive connections; time each answer."""
    connections = await asyncio.gather(*(Connection.open(url) for _ in range(min(concurrency, len(requests)))))
    pending = iter(requests)  # shared: each worker takes the next request when it is free
    latencies: list[float] = []
    responses: Counter = Counter()

    async def worker(connection: Connection) -> None:
        for request in pending:
            sent = time.perf_counter()
            try:
                status, _ = await connection.send(request)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                responses[type(exc).__name__] += 1
                connection.close()
                connection = await Connection.open(url)
                continue
            latencies.append(time.perf_counter() - sent)
            responses[status] += 1
        connection.close()

    started, cpu = time.perf_counter(), time.process_time()  # connections are open: all workers send at once
    await asyncio.gather(*(worker(c) for c in connections))
    wall = time.perf_counter() - started
    return Result(scenario, len(connections), latencies, responses, wall, (time.process_time() - cpu) / wall)


async def warm_up(url: str, requests: list[bytes], concurrency: int) -> None:
    """Connection pools, caches, JIT-less Python paths: run some traffic that is not measured."""
    if requests:
        result = await load("warm-up", url, requests, concurrency)
        if result.responses.keys() - {200, 201, 409}:
            say(f"warm-up against {url} answered {describe(result.responses)}")


# --------------------------------------------------------------------------- the table

COLUMNS = ["scenario", "requests", "concurrency", "p50 ms", "p90 ms", "p99 ms", "max ms", "wall s", "req/s", "client CPU", "responses"]


def describe(responses: Counter) -> str:
    return " ".join(f"{status}×{count}" for status, count in sorted(responses.items(), key=lambda kv: str(kv[0])))


def table(results: list[Result]) -> str:
    """A Markdown table (paste it into bench/RESULTS.md as is)."""
    rows = [
        [r.scenario, str(r.requests), str(r.concurrency)]
        + [f"{r.percentile(q) * 1000:.1f}" for q in (50, 90, 99, 100)]
        + [f"{r.wall:.2f}", f"{r.requests / r.wall:.0f}", f"{r.client_cpu:.0%}", describe(r.responses)]
        for r in results
    ]
    widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    left = {0, len(COLUMNS) - 1}

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ("-" if i in left else ":")) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(COLUMNS), rule, *map(line, rows)])


def json_rows(named: dict[str, Result], extra: dict[str, dict] | None = None) -> str:
    """The `--json` form, printed as a bench's last line: {"rows": [{"scenario", "requests", ...}]}.

    `named` maps the stable scenario names other tools compare on (`baseline`, `cache_hit`, ...) to
    results; `extra` adds per-scenario fields (a race's `answered_s`, `created`, `conflicts`)."""
    rows = [
        {
            "scenario": name,
            "requests": r.requests,
            "concurrency": r.concurrency,
            "p50_ms": round(r.percentile(50) * 1000, 2),
            "p99_ms": round(r.percentile(99) * 1000, 2),
            "req_per_s": round(r.requests / r.wall, 1),
            **(extra or {}).get(name, {}),
        }
        for name, r in named.items()
    ]
    return json.dumps({"rows": rows})


def report(heading: str, results: list[Result], checks: list[str]) -> None:
    """The result table and the checks on stdout; a failed check fails the command."""
    print(f"\n{heading}\n")
    print(table(results))
    print("\n" + "\n".join(checks))
    if any(check.endswith("FAILED") for check in checks):
        sys.exit(1)


def machine_note() -> str:
    load1, load5, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average before the run {load1:.2f} (1 min) / {load5:.2f} (5 min), Python {sys.version.split()[0]}"


# --------------------------------------------------------------------------- the empty handler


async def serve_empty_handler(port: int) -> None:
    """AppointmentService answering ListAvailableSlots/CreateAppointment at once with constant replies."""
    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    from booking.v1 import appointment_service_pb2 as pb
    from booking.v1 import appointment_service_pb2_grpc as pb_grpc
    from booking.v1 import resources_pb2 as res

    created = pb.CreateAppointmentResponse(booking_id=str(uuid.uuid4()), reference_code="BK-20300101-0001", status=res.PENDING)

    class Empty(pb_grpc.AppointmentServiceServicer):
        async def ListAvailableSlots(self, request, context):
            return pb.ListAvailableSlotsResponse()

        async def CreateAppointment(self, request, context):
            return created

    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])  # as appointment_svc's server
    pb_grpc.add_AppointmentServiceServicer_to_server(Empty(), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    server.add_insecure_port(f"{LOCALHOST}:{port}")
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    await server.wait_for_termination()


if __name__ == "__main__":
    if sys.argv[1:] != ["empty-grpc"]:
        sys.exit("usage: python -m bench.common empty-grpc   (port from GRPC_PORT; started by the benchmarks)")
    asyncio.run(serve_empty_handler(int(os.environ["GRPC_PORT"])))
