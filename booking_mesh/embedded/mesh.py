"""The five backing servers at once, started and stopped in parallel."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from booking_mesh.embedded.errors import ServiceError
from booking_mesh.embedded.nats import EmbeddedNats
from booking_mesh.embedded.postgres import EmbeddedPostgres
from booking_mesh.embedded.process import EmbeddedServer
from booking_mesh.embedded.s3 import EmbeddedS3
from booking_mesh.embedded.smtp import SmtpSink
from booking_mesh.embedded.valkey import EmbeddedValkey

log = logging.getLogger(__name__)

SERVICE_NAMES = ("postgres", "valkey", "nats", "smtp", "s3")


def start_all(home: Path, only: set[str] | None = None) -> dict[str, EmbeddedServer]:
    """Start the servers (all five, or `only` those) in parallel under `home`."""
    home = Path(home).absolute()
    unknown = set(only or ()) - set(SERVICE_NAMES)
    if unknown:
        raise ServiceError(f"unknown service(s) {sorted(unknown)}; known: {', '.join(SERVICE_NAMES)}")
    data, logs = home / "data", home / "logs"
    factories = {
        "postgres": lambda: EmbeddedPostgres(data / "postgres", log_dir=logs),
        "valkey": lambda: EmbeddedValkey(data / "valkey", log_dir=logs),
        "nats": lambda: EmbeddedNats(data / "nats", log_dir=logs),
        "smtp": lambda: SmtpSink(home / "mail", log_dir=logs),
        "s3": lambda: EmbeddedS3(data / "s3", log_dir=logs),
    }
    servers = {name: factories[name]() for name in SERVICE_NAMES if only is None or name in only}
    errors = []
    with ThreadPoolExecutor(max_workers=max(1, len(servers))) as pool:
        futures = {name: pool.submit(server.start) for name, server in servers.items()}
        for name, future in futures.items():
            try:
                future.result()
            except Exception as exc:  # noqa: BLE001 - every server's failure is reported, not just the first
                errors.append(str(exc) if isinstance(exc, ServiceError) else f"{name}: {exc!r}")
    if errors:
        stop_all(servers)
        raise ServiceError("\n".join(errors))
    return servers


def stop_all(servers: dict[str, EmbeddedServer]) -> None:
    with ThreadPoolExecutor(max_workers=max(1, len(servers))) as pool:
        for name, future in [(name, pool.submit(server.stop)) for name, server in servers.items()]:
            try:
                future.result()
            except Exception:
                log.exception("stopping %s failed", name)
