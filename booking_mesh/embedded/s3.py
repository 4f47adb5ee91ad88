from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from booking_mesh.embedded.binaries import weed_binary
from booking_mesh.embedded.ports import LOCALHOST, PROBE_TIMEOUT, free_port_pair, unused_free_port
from booking_mesh.embedded.process import EmbeddedServer

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
            flag: unused_free_port(taken)
            for flag in ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
                         "filer.port", "filer.port.grpc", "s3.port.grpc")
        }  # fmt: skip
        admin = free_port_pair(_WEED_GRPC_OFFSET, taken)
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
        return [weed_binary(), "mini", *(f"-{k}={v}" for k, v in flags.items())]

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
