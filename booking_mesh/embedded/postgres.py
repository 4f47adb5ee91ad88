from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

import psycopg
from psycopg import sql

from booking_mesh.embedded.binaries import postgres_bindir
from booking_mesh.embedded.errors import ServiceError
from booking_mesh.embedded.ports import LOCALHOST
from booking_mesh.embedded.process import EmbeddedServer


class EmbeddedPostgres(EmbeddedServer):
    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: end sessions, checkpoint, exit
    death_signal = signal.SIGINT
    refuses_root = True

    def __init__(self, data_dir: Path, port: int | None = None, log_dir: Path | None = None):
        super().__init__(data_dir, port, log_dir)
        self.socket_dir = self.data_dir.parent / "pg-socket"
        # Unix socket paths are limited to 107 bytes.
        if len(str(self.socket_dir / f".s.PGSQL.{self.port}")) > 107:
            self.socket_dir = Path(tempfile.gettempdir()) / f"booking-mesh-pg-{os.geteuid()}"

    def database_url(self, dbname: str) -> str:
        return f"postgresql://postgres@{LOCALHOST}:{self.port}/{urllib.parse.quote(dbname, safe='')}"

    def _make_url(self) -> str:
        return self.database_url("postgres")

    def _prepare(self) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _paths_to_reach(self) -> list[Path]:
        return [postgres_bindir()]

    def _dirs_to_own(self) -> list[Path]:
        return [self.data_dir, self.socket_dir]

    def _initialise(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        argv = [str(postgres_bindir() / "initdb"), "-D", str(self.data_dir), "--auth=trust", "-U", "postgres",
                "--encoding=UTF8", "--no-locale"]  # fmt: skip
        self._log_line(f"running: {shlex.join(argv)}")
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                cwd=self.data_dir, **self._process_options())  # fmt: skip
        if result.returncode != 0:
            raise ServiceError(f"postgres: initdb failed with code {result.returncode}; {self._log_tail()}")

    def _command(self) -> list[str]:
        return [
            postgres_bindir() / "postgres", "-D", self.data_dir, "-h", LOCALHOST, "-p", self.port,
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
