"""The browser app's files, served by Envoy itself (direct responses), and its dev sign-in.

The app lives in the repository's flat ``web/`` folder: plain JavaScript modules, one
stylesheet, no build step. Every file becomes one gateway route, ``/`` being ``index.html``
(``/index.html`` redirects there); Envoy reads the files once at start, so an edited file shows
after a gateway restart. Each file's ETag is a hash of its content taken when the config is
rendered, and a route answers a matching ``If-None-Match`` with 304, so the revalidation that
``no-cache`` asks for costs a few hundred bytes. Only GET and HEAD are answered (else 405).

In the dev mesh, ``GET /dev/sign-in?sub=USER[&role=ADMIN]`` signs a browser in: Envoy cannot
sign an ES256 token, so it forwards that one route to ``DevSignIn``, a loopback HTTP handler
inside the process that already holds the mesh's private key (``booking-mesh up``, or the
test session). It answers with a cookie holding a token exactly like ``booking-mesh token``
prints, and a redirect to ``/``. A deployment renders no such route (deploy/README.md says
how a real identity provider supplies the token).
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from mesh_common.auth import DEFAULT_AUDIENCE, DEFAULT_ISSUER, KeyPair, Role, issue_token

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
INDEX = "index.html"
# Old links and habits: the file name of the start page sends the browser to "/".
REDIRECTS = {f"/{INDEX}": "/"}
WEB_METHODS = ("GET", "HEAD")
DEV_SIGN_IN_PATH = "/dev/sign-in"
# The cookie the app reads its token from (web/auth.js); not HttpOnly because the app sends the
# token as an Authorization header, as it would an access token from an OIDC provider.
TOKEN_COOKIE = "booking_token"
DEV_TOKEN_SECONDS = 8 * 3600

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}
# Same origin only: the app loads nothing from elsewhere (consultant avatars on other hosts are
# drawn as initials), and nothing may frame it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    # Nothing of another origin shares the page's window or embeds its files.
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    # Revalidate every load: a new release is seen at once (the files are small and gzipped).
    "cache-control": "no-cache",
}


@dataclass(frozen=True)
class Asset:
    route: str
    path: Path
    content_type: str
    # A weak validator: the gzip filter drops strong ETags from what it compresses, and the
    # gzipped and plain bodies are the same file anyway.
    etag: str

    @property
    def etag_value(self) -> str:
        """The quoted part of the ETag, which every If-None-Match that names it contains."""
        return self.etag.removeprefix("W/")


def content_etag(data: bytes) -> str:
    return f'W/"{hashlib.sha256(data).hexdigest()[:24]}"'


_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def web_assets(root: Path = WEB_ROOT, *, served_from: str | None = None) -> list[Asset]:
    """One route per file of ``root`` (flat: a Kubernetes ConfigMap holds no folders).

    ``served_from`` is the folder as Envoy sees it (a deployment's mount), default ``root``;
    the ETags hash the files of ``root``, which must be what Envoy will read.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"the web app folder {root} does not exist")
    base = Path(served_from) if served_from else root.resolve()
    assets = []
    for file in sorted(root.iterdir()):
        if file.name.startswith("."):
            continue
        if not file.is_file():
            raise ValueError(f"{file}: the web app folder must be flat (a ConfigMap holds no folders)")
        if not _FILE_NAME.match(file.name):
            raise ValueError(f"{file}: a web app file name is letters, digits and . _ - only (a ConfigMap key)")
        content_type = CONTENT_TYPES.get(file.suffix)
        if content_type is None:
            raise ValueError(f"{file}: no content type known for {file.suffix!r} files")
        route = "/" if file.name == INDEX else f"/{file.name}"
        assets.append(Asset(route, base / file.name, content_type, content_etag(file.read_bytes())))
    if not any(a.route == "/" for a in assets):
        raise FileNotFoundError(f"{root} has no {INDEX}")
    return assets


_SUB = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


class _SignInHandler(BaseHTTPRequestHandler):
    server: "_SignInServer"

    def do_GET(self) -> None:  # http.server's name
        url = urlsplit(self.path)
        if url.path != DEV_SIGN_IN_PATH:
            return self._error(404, "NOT_FOUND", "There is no such endpoint", None)
        query = parse_qs(url.query, keep_blank_values=True)
        sub = (query.get("sub") or [""])[0]
        role_text = (query.get("role") or ["CUSTOMER"])[0].upper()
        if not _SUB.match(sub):
            return self._error(400, "VALIDATION_ERROR", "The sign-in request is invalid",
                               ("sub", "must be 1 to 64 letters, digits or . _ @ -"))  # fmt: skip
        if role_text not in Role.__members__:
            return self._error(400, "VALIDATION_ERROR", "The sign-in request is invalid",
                               ("role", "must be CUSTOMER or ADMIN"))  # fmt: skip
        token = issue_token(self.server.keys, sub, Role[role_text], issuer=self.server.issuer,
                            audience=self.server.audience, ttl_seconds=DEV_TOKEN_SECONDS)  # fmt: skip
        self.send_response(303)
        self.send_header("Location", "/")
        self.send_header("Cache-Control", "no-store")
        self.send_header(
            "Set-Cookie", f"{TOKEN_COOKIE}={token}; Path=/; Max-Age={DEV_TOKEN_SECONDS}; SameSite=Strict"
        )
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _error(self, status: int, code: str, message: str, field: tuple[str, str] | None) -> None:
        doc = {"code": code, "message": message}
        if code == "VALIDATION_ERROR":
            doc["fields"] = [{"field": field[0], "description": field[1]}] if field else []
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # http.server's signature
        # The request line holds the user name; Envoy's access log already records the call.
        pass


class _SignInServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, keys: KeyPair, issuer: str, audience: str):
        super().__init__(("127.0.0.1", 0), _SignInHandler)
        self.keys, self.issuer, self.audience = keys, issuer, audience


class DevSignIn:
    """The dev mesh's sign-in endpoint on a loopback port, served from a thread of this process.

        sign_in = DevSignIn(keys); sign_in.start()
        EnvoyGateway(..., dev_sign_in=sign_in.address)
        ...
        sign_in.stop()
    """

    def __init__(self, keys: KeyPair, *, issuer: str = DEFAULT_ISSUER, audience: str = DEFAULT_AUDIENCE):
        self._server = _SignInServer(keys, issuer, audience)
        self._thread = threading.Thread(target=self._server.serve_forever, name="dev-sign-in", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> "DevSignIn":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


__all__ = ["Asset", "DevSignIn", "DEV_SIGN_IN_PATH", "REDIRECTS", "TOKEN_COOKIE", "WEB_METHODS", "WEB_ROOT", "web_assets"]
