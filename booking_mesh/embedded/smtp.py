from __future__ import annotations

import os
import sys
from pathlib import Path

from booking_mesh.embedded.binaries import smtp_sink_available
from booking_mesh.embedded.ports import LOCALHOST, read_banner
from booking_mesh.embedded.process import EmbeddedServer
from booking_mesh.mailsink import read_messages

# The project root: the child must import this very copy of booking_mesh, installed or not.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SmtpSink(EmbeddedServer):
    """Accepts all mail and stores each message as an .eml file (see booking_mesh.mailsink)."""

    name = "smtp"

    def __init__(self, maildir: Path, port: int | None = None, log_dir: Path | None = None):
        super().__init__(maildir, port, log_dir)

    @property
    def maildir(self) -> Path:
        return self.data_dir

    def read_messages(self):
        return read_messages(self.maildir)

    def _make_url(self) -> str:
        return f"smtp://{LOCALHOST}:{self.port}"

    def _prepare(self) -> None:
        smtp_sink_available()
        super()._prepare()

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "booking_mesh.mailsink", "--host", LOCALHOST, "--port", self.port,
                "--dir", self.maildir]  # fmt: skip

    def _spawn_options(self) -> dict:
        pythonpath = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
        return {"env": {**os.environ, "PYTHONPATH": pythonpath}}

    def _probe(self) -> bool:
        return read_banner(self.port).startswith("220")
