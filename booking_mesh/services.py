"""Our own services as supervised child processes (same lifecycle as the embedded servers)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from booking_mesh.embedded.ports import LOCALHOST, PROBE_TIMEOUT, free_port
from booking_mesh.embedded.process import EmbeddedServer

PROCESSES_ENV = "APPOINTMENT_SVC_PROCESSES"


def service_processes(environ: dict[str, str] = os.environ) -> int:
    """How many appointment-service processes the dev mesh runs behind Envoy: one per core unless
    APPOINTMENT_SVC_PROCESSES says otherwise. One Python process uses one core (the GIL, and an
    asyncio loop per process), so on an N-core machine one process leaves N - 1 of them idle."""
    configured = environ.get(PROCESSES_ENV, "").strip()
    if not configured:
        return max(1, os.cpu_count() or 1)
    if not configured.isdigit() or int(configured) < 1:
        raise ValueError(f"{PROCESSES_ENV} must be a whole number of at least 1, got {configured!r}")
    return int(configured)


class PythonService(EmbeddedServer):
    """`python -m <module> <args>` with its configuration in the environment."""

    module = ""
    args: tuple[str, ...] = ()

    def __init__(self, workdir: Path, env: dict[str, str], port: int | None = None, log_dir: Path | None = None, name: str | None = None):
        self.env = env
        if name:
            self.name = name
        super().__init__(workdir, port=port, log_dir=log_dir)

    def _command(self) -> list[str]:
        return [sys.executable, "-m", self.module, *self.args]

    def _spawn_options(self) -> dict:
        return {"env": {**os.environ, **self.env}}


class AppointmentService(PythonService):
    name = "appointment_svc"
    module = "appointment_svc"
    args = ("serve",)

    def __init__(self, workdir: Path, env: dict[str, str], port: int | None = None, **kwargs):
        port = port if port is not None else free_port()
        # Chosen once, so a restarted process serves its metrics where the endpoints file says.
        self.metrics_port = free_port()
        super().__init__(
            workdir,
            {**env, "GRPC_HOST": LOCALHOST, "GRPC_PORT": str(port), "METRICS_HOST": LOCALHOST, "METRICS_PORT": str(self.metrics_port)},
            port=port,
            **kwargs,
        )

    def _make_url(self) -> str:
        return f"{LOCALHOST}:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{LOCALHOST}:{self.metrics_port}/metrics"

    def _probe(self) -> bool:
        try:
            with grpc.insecure_channel(self.url) as channel:
                reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=PROBE_TIMEOUT)
            return reply.status == health_pb2.HealthCheckResponse.SERVING
        except grpc.RpcError:
            return False


class NotificationService(PythonService):
    name = "notification_svc"
    module = "notification_svc"
    args = ("run",)

    def __init__(self, workdir: Path, env: dict[str, str], port: int | None = None, **kwargs):
        port = port if port is not None else free_port()
        super().__init__(workdir, {**env, "HEALTH_PORT": str(port)}, port=port, **kwargs)

    def _make_url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}/healthz"

    @property
    def metrics_url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}/metrics"  # served beside the health answer

    def _probe(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(self.url, timeout=PROBE_TIMEOUT) as reply:
                return reply.status == 200
        except OSError:
            return False
