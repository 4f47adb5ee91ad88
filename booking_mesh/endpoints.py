"""`$BOOKING_MESH_HOME/endpoints.json`: where everything a running `up` started can be reached.

Scripts read it instead of copying ports from the output; `booking-mesh status` prints it. It is
written once the mesh answers and removed when it stops; the `pid` in it tells a crashed mesh's
leftover file from a running one.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

FILE_NAME = "endpoints.json"
# The keys scripts rely on (ARCHITECTURE.md, issue 16), in the order `status` prints them.
SINGLE = ("gateway", "postgres", "redis", "nats", "smtp", "s3")
LISTS = ("grpc", "metrics")


@dataclass
class Endpoints:
    gateway: str
    postgres: str
    redis: str
    nats: str
    smtp: str
    s3: str
    grpc: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    pid: int = field(default_factory=os.getpid)

    def as_json(self) -> dict:
        return {**{k: getattr(self, k) for k in SINGLE + LISTS}, "pid": self.pid}

    def rows(self) -> list[tuple[str, str]]:
        singles = [(name, getattr(self, name)) for name in SINGLE]
        lists = [(name, url) for name in LISTS for url in getattr(self, name) or ["(none)"]]
        return singles[:1] + lists + singles[1:]


class NoRunningMesh(Exception):
    """A sentence saying why no running mesh was found in a home directory."""


def write(home: Path, endpoints: Endpoints) -> Path:
    path = home / FILE_NAME
    temporary = path.with_suffix(".tmp")
    # The database URL may carry a password: readable by the mesh's user only.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(endpoints.as_json(), out, indent=2)
        out.write("\n")
    temporary.replace(path)  # readers never see half a file
    return path


def remove(home: Path) -> None:
    (home / FILE_NAME).unlink(missing_ok=True)


def read(home: Path) -> Endpoints:
    """The running mesh's endpoints; NoRunningMesh with the reason otherwise."""
    path = home / FILE_NAME
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise NoRunningMesh(f"no running mesh in {home} (no {FILE_NAME}): start one with `booking-mesh up`, "
                            "or set BOOKING_MESH_HOME to the directory it runs in") from None  # fmt: skip
    except (OSError, ValueError) as exc:
        raise NoRunningMesh(f"cannot read {path}: {exc}") from None
    endpoints = Endpoints(**{k: data[k] for k in SINGLE + LISTS + ("pid",) if k in data})
    if not _running(endpoints.pid):
        raise NoRunningMesh(f"the mesh that wrote {path} (pid {endpoints.pid}) is no longer running; "
                            "start it again with `booking-mesh up`")  # fmt: skip
    return endpoints


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def table(endpoints: Endpoints) -> str:
    width = max(len(name) for name, _ in endpoints.rows())
    return "\n".join(f"{name:<{width}}  {url}" for name, url in endpoints.rows())
