"""Loopback ports for the servers, and the banner probe of the line-based ones."""

from __future__ import annotations

import random
import socket

from booking_mesh.embedded.errors import ServiceError

LOCALHOST = "127.0.0.1"
PROBE_TIMEOUT = 0.5


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


def unused_free_port(taken: set[int]) -> int:
    """A free port not already handed out to another listener of the same server."""
    while (port := free_port()) in taken:
        pass
    taken.add(port)
    return port


def free_port_pair(offset: int, taken: set[int]) -> int:
    """A free port p for which p + offset is free as well."""
    for _ in range(500):
        port = random.randint(20000, 65535 - offset)
        pair = (port, port + offset)
        if not taken.intersection(pair) and all(port_is_free(p) for p in pair):
            taken.update(pair)
            return port
    raise ServiceError(f"no free pair of ports {offset} apart found on {LOCALHOST}")


def read_banner(port: int) -> str:
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
