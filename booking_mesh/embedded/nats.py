from __future__ import annotations

import json

from booking_mesh.embedded.binaries import nats_server_binary
from booking_mesh.embedded.ports import LOCALHOST, read_banner
from booking_mesh.embedded.process import EmbeddedServer


class EmbeddedNats(EmbeddedServer):
    name = "nats"

    def _make_url(self) -> str:
        return f"nats://{LOCALHOST}:{self.port}"

    def _command(self) -> list[str]:
        return [
            nats_server_binary(), "-a", LOCALHOST, "-p", self.port,
            "-n", "booking-mesh", "-js", "-sd", self.data_dir,
        ]  # fmt: skip

    def _probe(self) -> bool:
        # Clients are accepted only after JetStream has recovered its streams.
        banner = read_banner(self.port)
        if not banner.startswith("INFO "):
            return False
        return bool(json.loads(banner[5:]).get("jetstream"))
