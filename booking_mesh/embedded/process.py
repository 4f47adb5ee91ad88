"""One supervised child process: spawned in its own session, dying with us, logging to a file.

EmbeddedServer is the base of every child of the mesh: the backing servers, our own services
(booking_mesh.services) and the Envoy gateway (booking_mesh.embedded.envoy).
"""

from __future__ import annotations

import ctypes
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from booking_mesh.embedded.errors import ServiceError
from booking_mesh.embedded.ports import LOCALHOST, free_port, port_is_free
from booking_mesh.embedded.users import Account, hand_over_to_system_user, running_as_root

log = logging.getLogger(__name__)

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
POLL_INTERVAL = 0.05


# --------------------------------------------------------------------------- process spawning

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None

# The kernel sends PR_SET_PDEATHSIG when the *thread* that forked the child exits, not
# the process. Forking from one long-lived thread keeps children alive when start() runs
# in a short-lived worker thread (start_all, asyncio.to_thread), yet still signals them
# when our process dies.
_spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="booking-mesh-spawner")


def _die_with_parent(death_signal: int, parent_pid: int):
    def setup() -> None:  # runs in the child between fork and exec (after setuid)
        if _libc is not None:
            _libc.prctl(_PR_SET_PDEATHSIG, death_signal)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), death_signal)

    return setup


def _spawn(argv: list[str], death_signal: int, **kwargs) -> subprocess.Popen:
    preexec = _die_with_parent(int(death_signal), os.getpid())
    # A new session keeps a terminal's Ctrl-C away from the children: the supervisor
    # decides how each one is stopped. It also makes the child a process-group leader.
    return _spawner.submit(subprocess.Popen, argv, preexec_fn=preexec, start_new_session=True, **kwargs).result()


def group_alive(pgid: int) -> bool:
    """Whether a process of the group is still running (zombies do not count)."""
    if not Path("/proc/self/stat").exists():
        try:
            os.killpg(pgid, 0)
            return True
        except ProcessLookupError:
            return False
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, pgrp = stat_file.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue
        if int(pgrp) == pgid and state != "Z":
            return True
    return False


def _kill_group(proc: subprocess.Popen) -> None:
    # Only while the leader is unreaped: its pid (= pgid) cannot have been reused yet.
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    # Orphaned helpers (e.g. postgres backends) must be gone before a restart, or the new
    # postmaster finds their shared memory still attached.
    deadline = time.monotonic() + 5
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)


# --------------------------------------------------------------------------- base class


class EmbeddedServer:
    """One supervised server process. Subclasses describe the command and the probe."""

    name = "server"
    stop_signal: int = signal.SIGTERM
    death_signal: int = signal.SIGTERM  # sent by the kernel if our process dies abruptly
    # A server that exits when started as root says so here; as root, it runs as a system user
    # instead (see run_as and booking_mesh.embedded.users).
    refuses_root = False

    def __init__(self, data_dir: Path, port: int | None = None, log_dir: Path | None = None):
        # Absolute paths: children may run with another cwd (and another user).
        self.data_dir = Path(data_dir).absolute()
        self.port = port if port is not None else free_port()
        self.log_dir = Path(log_dir).absolute() if log_dir is not None else self.data_dir.parent / "logs"
        self.url = self._make_url()
        self._proc: subprocess.Popen | None = None
        self._log = None
        self._account: Account | None = None

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<{type(self).__name__} {self.url} {state}>"

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.is_running() else None

    # -- what subclasses provide

    def _make_url(self) -> str:
        raise NotImplementedError

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _probe(self) -> bool:
        """One quick readiness check (short timeouts); start() calls it repeatedly."""
        raise NotImplementedError

    def _ports(self) -> list[int]:
        return [self.port]

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def _spawn_options(self) -> dict:
        return {}

    def _initialise(self) -> None:
        """One-time setup that must run as the server's own user, after run_as has chosen it."""

    def _paths_to_reach(self) -> list[Path]:
        """Paths outside data_dir that the server's user must be able to reach (its binary)."""
        return []

    def _dirs_to_own(self) -> list[Path]:
        return [self.data_dir]

    def _after_exit(self) -> None:
        """Clean up what the process leaves behind once it is gone."""

    # -- lifecycle

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> str:
        if self.is_running():
            return self.url
        self._proc = None
        for port in self._ports():
            if not port_is_free(port):
                raise ServiceError(
                    f"{self.name}: port {port} is taken (something already listens on {LOCALHOST}:{port}); "
                    "stop it or choose another port"
                )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        try:
            self._prepare()
            self._account = self.run_as()
            self._initialise()
            argv = [str(arg) for arg in self._command()]
            self._log_line(f"starting: {shlex.join(argv)}")
            self._proc = _spawn(
                argv,
                self.death_signal,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                **self._process_options(),
            )
            self._wait_ready()
        except OSError as exc:
            self.kill()
            raise ServiceError(f"{self.name}: {exc}") from exc
        except BaseException:
            self.kill()
            raise
        return self.url

    def run_as(self) -> Account | None:
        """The account the server's processes run as; None is our own.

        Only a server with refuses_root, started by root, is handed over to a system user: the
        dev mesh runs as root in containers and CI, and PostgreSQL will not.
        """
        if not (self.refuses_root and running_as_root()):
            return None
        return hand_over_to_system_user(self.name, reach=self._paths_to_reach(), own=self._dirs_to_own())

    def _process_options(self) -> dict:
        user = self._account.spawn_options() if self._account is not None else {}
        return {**self._spawn_options(), **user}

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            code = self._proc.poll()
            if code is not None:
                raise ServiceError(f"{self.name} exited with code {code} while starting; {self._log_tail()}")
            if self._probe():
                return
            if time.monotonic() > deadline:
                raise ServiceError(f"{self.name} was not ready after {START_TIMEOUT:.0f}s; {self._log_tail()}")
            time.sleep(POLL_INTERVAL)

    def stop(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(self.stop_signal)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0fs; killing it", self.name, STOP_TIMEOUT)
                _kill_group(proc)
            self._after_exit()
        self._close_log("stopped")

    def kill(self) -> None:
        if self._proc is not None:
            # The whole group, like a crash would: a postmaster's backends must not outlive it.
            _kill_group(self._proc)
            self._after_exit()
        self._close_log("killed")

    # -- log file

    def _log_line(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self._log.write(f"=== {stamp} booking-mesh: {text}\n".encode())
        self._log.flush()

    def _close_log(self, event: str) -> None:
        if self._log is not None:
            self._log_line(event)
            self._log.close()
            self._log = None

    def _log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(max(0, fh.seek(0, os.SEEK_END) - 4000))
                tail = fh.read().decode("utf-8", "replace").splitlines()[-lines:]
        except OSError:
            return f"no log at {self.log_path}"
        return f"last lines of {self.log_path}:\n" + "\n".join(tail)
