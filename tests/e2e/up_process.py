"""A running `booking-mesh up`, as a newcomer starts it, for the tests that drive it."""
from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from booking_mesh.embedded.ports import LOCALHOST, port_is_free

URL_VARIABLES = ("DATABASE_URL", "REDIS_URL", "NATS_URL", "SMTP_URL", "S3_ENDPOINT_URL")


def gateway_port() -> int:
    """A free port for `up`'s gateway, below the kernel's ephemeral range.

    `up` starts its backing servers on ports the kernel hands out (bind to 0) before it binds
    the gateway; a gateway port taken from that same range can be handed to one of them first.
    A user's GATEWAY_PORT (8080 by default) lies below the range too.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    start = 10000 + os.getpid() % max(1, low - 10000)
    for offset in range(low - 10000):
        port = 10000 + (start - 10000 + offset) % (low - 10000)
        if port_is_free(port, LOCALHOST):
            return port
    raise RuntimeError("no free port below the ephemeral range")


def command() -> list[str]:
    script = shutil.which("booking-mesh") or str(Path(sys.executable).parent / "booking-mesh")
    return [script] if Path(script).exists() else [sys.executable, "-m", "booking_mesh.cli"]


class Up:
    """A running `booking-mesh up` whose output we read line by line."""

    def __init__(self, home: Path, port: int, user: str | None = None, args: tuple[str, ...] = (), **settings: str):
        self.env = {k: v for k, v in os.environ.items() if k not in URL_VARIABLES}
        self.home = home
        self.env.update(BOOKING_MESH_HOME=str(home), GATEWAY_PORT=str(port), **settings)
        self.process = subprocess.Popen(
            [*command(), "up", *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, user=user, group=user and "nogroup"
        )
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not printed; output so far:\n" + "\n".join(self.lines))

    def stop(self, timeout: float = 60) -> int:
        children = psutil.Process(self.process.pid).children(recursive=True)
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"left running: {[p.info if hasattr(p, 'info') else p.pid for p in alive]}"
        return code

    def listening_addresses(self) -> set[str]:
        """Where every process of the mesh listens: a dev mesh must not be reachable from the network."""
        processes = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]
        addresses = set()
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                addresses |= {c.laddr.ip for c in process.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}
        return addresses

    def token(self, sub: str) -> str:
        return subprocess.run([*command(), "token", "--sub", sub], env=self.env, capture_output=True, text=True, check=True).stdout.strip()
