from __future__ import annotations

import redis

from booking_mesh.embedded.binaries import valkey_binary
from booking_mesh.embedded.ports import LOCALHOST, PROBE_TIMEOUT
from booking_mesh.embedded.process import EmbeddedServer


class EmbeddedValkey(EmbeddedServer):
    name = "valkey"

    def _make_url(self) -> str:
        return f"redis://{LOCALHOST}:{self.port}/0"

    def _command(self) -> list[str]:
        return [
            valkey_binary(), "--port", self.port, "--bind", LOCALHOST, "--dir", self.data_dir,
            "--daemonize", "no", "--appendonly", "yes",  # AOF (plus default RDB snapshots) in data_dir
        ]  # fmt: skip

    def _probe(self) -> bool:
        try:
            with redis.Redis(host=LOCALHOST, port=self.port, socket_timeout=PROBE_TIMEOUT) as client:
                return bool(client.ping())
        except redis.RedisError:  # refused, or still loading the AOF
            return False
