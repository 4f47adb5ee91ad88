"""Render the Envoy configuration of the public REST gateway.

One Jinja2 template (envoy.yaml.j2) plus the response-shaping script (contract.lua). The
tables the script needs (contract code -> HTTP status, ...) are generated from
mesh_common.errors.ERRORS, so the gateway and the services share one error table.
"""
from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import jinja2

from gateway.web import DEV_SIGN_IN_PATH, REDIRECTS, SECURITY_HEADERS, WEB_METHODS, WEB_ROOT, web_assets
from mesh_common.auth import CLOCK_SKEW_SECONDS, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS
from mesh_common.errors import CONTRACT, ERRORS, gateway_messages, grpc_fallback, http_fallback

if TYPE_CHECKING:
    from google.protobuf import descriptor_pb2

HERE = Path(__file__).resolve().parent
TEMPLATE = "envoy.yaml.j2"
LUA_SCRIPT = HERE / "contract.lua"
TOKEN_LUA_SCRIPT = HERE / "token.lua"
JSON_LUA_MODULE = HERE / "json.lua"
DEFAULT_DESCRIPTOR = HERE / "booking.pb"
# The OpenAPI document (gateway/openapi.py, generated with the descriptor), served by Envoy.
DEFAULT_OPENAPI = HERE / "openapi.json"
OPENAPI_ROUTE = ("GET", "/v1/openapi.json")
# Envoy refuses a direct_response body over this (its default is 4 KiB).
MAX_DIRECT_RESPONSE_BYTES = 1024 * 1024

ADMIN_SERVICE = "booking.v1.AdminService"
SERVICES = ["booking.v1.AppointmentService", "booking.v1.BrochureService", ADMIN_SERVICE]

# Routes that answer without a token (a token that is sent must still be valid).
PUBLIC_ROUTES = [("GET", "/v1/appointments/availability"), ("POST", "/v1/brochures")]

# Every REST route lives under this prefix; all of it needs a token except PUBLIC_ROUTES.
API_PREFIX = "/v1/"

# Paths that need the JWT claim role == ADMIN: the REST prefix and, belt and braces, the gRPC
# path of the admin service (native gRPC is refused on the public listener anyway).
ADMIN_PREFIXES = ["/v1/admin", "/booking.v1.AdminService/"]

# The public route that sends an email to any address: rate limited per client and in all.
BROCHURE_ROUTE = ("POST", "/v1/brochures")

# Successful calls to these answer 201 Created instead of the transcoder's 200.
CREATE_ROUTES = [
    ("POST", "/v1/appointments"),
    ("POST", "/v1/appointments/holds"),
    ("POST", "/v1/brochures"),
    ("POST", "/v1/admin/consultants"),
    ("POST", "/v1/admin/slots"),
]

# Client-sent headers that look like identity; dropped so nothing downstream can trust them.
IDENTITY_HEADERS = ["x-user-id", "x-user-role", "x-role", "x-forwarded-user", "x-auth-user", "x-jwt-payload"]

# Derived from the error table: the Lua script's fallbacks and replacement sentences.
GRPC_FALLBACK = {grpc.StatusCode[name]: code for name, code in grpc_fallback().items()}
STATUS_FALLBACK = http_fallback()
GENERIC_MESSAGES = gateway_messages()

LUA_METADATA_NS = "booking.gateway"


def _lua_string(text: str) -> str:
    # A JSON string literal is a valid Lua string literal as long as the text is ASCII.
    if not text.isascii():
        raise ValueError(f"non-ASCII text for the Lua script: {text!r}")
    return json.dumps(text)


def _lua_table(name: str, items: dict) -> str:
    def key(k):
        return f"[{k}]" if isinstance(k, int) else f"[{_lua_string(k)}]"

    def value(v):
        if v is True:
            return "true"
        return str(v) if isinstance(v, int) else _lua_string(v)

    rows = "".join(f"  {key(k)} = {value(v)},\n" for k, v in items.items())
    return f"{name} = {{\n{rows}}}\n"


def _lua_literal(value) -> str:
    """Nested dicts, lists, strings, ints and booleans as a Lua table constructor."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _lua_string(value)
    if isinstance(value, list):
        return "{ " + ", ".join(_lua_literal(v) for v in value) + " }"
    return "{ " + ", ".join(f"[{_lua_literal(k)}] = {_lua_literal(v)}" for k, v in value.items()) + " }"


def _lua_path_bindings(bindings: list[tuple[str, str, list[str]]]) -> str:
    rows = "".join(
        f"  {{ method = {_lua_string(method)}, pattern = {_lua_string(pattern)}, "
        f"fields = {{ {', '.join(_lua_string(f) for f in fields)} }} }},\n"
        for method, pattern, fields in bindings
    )
    return f"PATH_BINDINGS = {{\n{rows}}}\n"


def without_source_info(descriptor_set: bytes) -> bytes:
    """The descriptor set minus its comments and source locations: what the transcoder needs.

    The cluster's copy travels in a ConfigMap, which `kubectl apply` also stores in an annotation
    limited to 256 KiB; the comments (which only the OpenAPI document reads) are most of its size."""
    from google.protobuf import descriptor_pb2

    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set)
    for file in files.file:
        file.ClearField("source_code_info")
    return files.SerializeToString(deterministic=True)


def lua_code(descriptor_path: Path = DEFAULT_DESCRIPTOR) -> str:
    """The full Lua source: generated tables, the JSON reader (json.lua), then contract.lua.

    The tables come from mesh_common.errors and, for the request checks, from the HTTP
    rules and enums of the descriptor set the transcoder serves.
    """
    # The script answers a fallback code with ERROR_STATUS[code], which lists the API codes only.
    unknown = {*GRPC_FALLBACK.values(), *STATUS_FALLBACK.values()} - set(ERRORS)
    if unknown:
        raise ValueError(f"gateway fallback codes that no RPC route can answer: {sorted(unknown)}")
    prologue = "".join(
        [
            "-- Generated by gateway/config.py from mesh_common.errors and the descriptor set; do not edit.\n",
            _lua_table("ERROR_STATUS", {k.code: k.http_status for k in ERRORS.values()}),
            _lua_table("GRPC_FALLBACK", {c.value[0]: code for c, code in GRPC_FALLBACK.items()}),
            _lua_table("STATUS_FALLBACK", STATUS_FALLBACK),
            _lua_table("GENERIC_MESSAGE", GENERIC_MESSAGES),
            _lua_table("CREATE_ROUTES", {f"{m} {p}": True for m, p in CREATE_ROUTES}),
            _lua_table("ENUM_TYPES", {name: True for name in enum_types(descriptor_path)}),
            _lua_path_bindings(path_bindings(descriptor_path)),
            *(f"{name} = {_lua_literal(value)}\n" for name, value in request_schemas(descriptor_path).items()),
            f"METADATA_NS = {_lua_string(LUA_METADATA_NS)}\n\n",
        ]
    )
    # Inlined, not require()d: the filter's inline chunk is all Envoy loads, here and in the cluster.
    json_module = f"local json = (function()\n{JSON_LUA_MODULE.read_text()}end)()\n\n"
    return prologue + json_module + LUA_SCRIPT.read_text()


def token_lua_code(max_token_lifetime_seconds: int = DEFAULT_MAX_TOKEN_LIFETIME_SECONDS) -> str:
    """The token-rule script with its constants: the same ones TokenVerifier uses."""
    unauthenticated = json.dumps({"code": "UNAUTHENTICATED", "message": "The bearer token is invalid or has expired."})
    return "".join(
        [
            "-- Generated by gateway/config.py from mesh_common.auth; do not edit.\n",
            f"CLOCK_SKEW_SECONDS = {int(CLOCK_SKEW_SECONDS)}\n",
            f"MAX_TOKEN_LIFETIME_SECONDS = {int(max_token_lifetime_seconds)}\n",
            f"UNAUTHENTICATED_JSON = {_lua_string(unauthenticated)}\n\n",
            TOKEN_LUA_SCRIPT.read_text(),
        ]
    )


def _descriptor_files(descriptor_path: Path):
    from google.protobuf import descriptor_pb2

    return descriptor_pb2.FileDescriptorSet.FromString(Path(descriptor_path).read_bytes()).file


@dataclass(frozen=True)
class HttpBinding:
    """One google.api.http rule (or additional binding) of an RPC."""

    service: str  # full name, e.g. booking.v1.AdminService
    method: descriptor_pb2.MethodDescriptorProto
    verb: str
    path: str
    body: str


def http_bindings(descriptor_path: Path, services: list[str] = SERVICES) -> list[HttpBinding]:
    """Every google.api.http rule of ``services`` in the descriptor set, in proto order."""
    from google.api import annotations_pb2, http_pb2  # noqa: F401 - registers the extension

    bindings = []
    for file in _descriptor_files(descriptor_path):
        for service in file.service:
            full_name = f"{file.package}.{service.name}"
            if full_name not in services:
                continue
            for method in service.method:
                rule = method.options.Extensions[annotations_pb2.http]
                for r in [rule, *rule.additional_bindings]:
                    kind = r.WhichOneof("pattern")
                    if kind is not None:
                        verb = kind.upper() if kind != "custom" else r.custom.kind
                        path = getattr(r, kind) if kind != "custom" else r.custom.path
                        bindings.append(HttpBinding(full_name, method, verb, path, r.body))
    return bindings


def http_rules(descriptor_path: Path, services: list[str] = SERVICES) -> list[tuple[str, str]]:
    """(method, path template) of every google.api.http rule of ``services`` in the descriptor set."""
    return [(b.verb, b.path) for b in http_bindings(descriptor_path, services)]


def _http_bindings(descriptor_path: Path, services: list[str]) -> list[tuple[str, str, str, str]]:
    """(method, path template, body, request message full name) of every google.api.http rule."""
    return [(b.verb, b.path, b.body, b.method.input_type.lstrip(".")) for b in http_bindings(descriptor_path, services)]


def _types(descriptor_path: Path) -> tuple[dict, dict[str, dict[str, bool]]]:
    """(message full name -> DescriptorProto, enum full name -> value name -> True).

    google.protobuf's own enums (descriptor.proto's) are left out: no request uses them.
    """
    messages, enums = {}, {}

    def collect(package: str, prefix: str, message_types, enum_protos) -> None:
        if package != "google.protobuf":
            enums.update({f"{prefix}.{enum.name}": {value.name: True for value in enum.value} for enum in enum_protos})
        for message in message_types:
            messages[f"{prefix}.{message.name}"] = message
            collect(package, f"{prefix}.{message.name}", message.nested_type, message.enum_type)

    for file in _descriptor_files(descriptor_path):
        collect(file.package, file.package, file.message_type, file.enum_type)
    return messages, enums


def enum_types(descriptor_path: Path) -> list[str]:
    """Full names of the enums in the descriptor set (the transcoder names them in its errors)."""
    return sorted(_types(descriptor_path)[1])


_SCALAR_KINDS = {
    "TYPE_STRING": "string", "TYPE_BOOL": "bool", "TYPE_DOUBLE": "double", "TYPE_FLOAT": "float",
    "TYPE_INT32": "int32", "TYPE_SINT32": "int32", "TYPE_SFIXED32": "int32",
    "TYPE_UINT32": "uint32", "TYPE_FIXED32": "uint32",
    "TYPE_INT64": "int64", "TYPE_SINT64": "int64", "TYPE_SFIXED64": "int64",
    "TYPE_UINT64": "uint64", "TYPE_FIXED64": "uint64",
}  # fmt: skip
# Well-known types written as JSON strings; the transcoder checks their format.
_STRING_MESSAGES = {"google.protobuf.Timestamp": "timestamp", "google.protobuf.Duration": "duration"}


def request_schemas(descriptor_path: Path, services: list[str] = SERVICES) -> dict:
    """What the Lua filter checks requests against, from the descriptor set (the protos).

    REQUEST_ROUTES: every HTTP rule as {method, pattern, message, body, bound}: body is true
    when the body is the whole request message ("*"), bound the JSON names of the fields the
    path sets. REQUEST_SCHEMAS: for the request messages and every message they contain,
    JSON name -> {kind, repeated, type}. Only the JSON (lowerCamelCase) names are listed: the
    contract has one spelling per field, and a proto name next to its JSON name would be
    the same field given twice. ENUM_VALUES: enum full name -> value name -> true.
    """
    from google.protobuf import descriptor_pb2

    messages, enums = _types(descriptor_path)
    schemas: dict[str, dict] = {}

    def schema(name: str) -> None:
        if name in schemas:
            return
        schemas[name] = {}
        for field in messages[name].field:
            type_name = descriptor_pb2.FieldDescriptorProto.Type.Name(field.type)
            spec = {"repeated": field.label == field.LABEL_REPEATED}
            referenced = field.type_name.lstrip(".")
            if type_name in _SCALAR_KINDS:
                spec["kind"] = _SCALAR_KINDS[type_name]
            elif type_name == "TYPE_ENUM":
                spec.update(kind="enum", type=referenced)
            elif type_name == "TYPE_MESSAGE" and referenced in _STRING_MESSAGES:
                spec["kind"] = _STRING_MESSAGES[referenced]
            elif type_name == "TYPE_MESSAGE" and not referenced.startswith("google.protobuf.") \
                    and not messages[referenced].options.map_entry:
                spec.update(kind="message", type=referenced)
                schema(referenced)
            else:
                # bytes, maps, other well-known types: the checks would need teaching first.
                raise ValueError(f"{name}.{field.name}: the gateway cannot check fields of type {type_name} {referenced}")
            schemas[name][field.json_name] = spec

    routes = []
    for verb, template, body, request in _http_bindings(descriptor_path, services):
        if body not in ("", "*"):
            raise ValueError(f"{verb} {template}: body {body!r} is not checked by the gateway")
        schema(request)
        json_names = {f.name: f.json_name for f in messages[request].field}
        pattern, fields = path_template_pattern(template)
        bound = {json_names.get(f.split(".")[0], f): True for f in fields}
        routes.append({"method": verb, "pattern": pattern, "message": request, "body": body == "*", "bound": bound})
    # The transcoder prefers literal segments (/v1/appointments/availability over
    # /v1/appointments/{booking_id}); the Lua filter takes the first match, so literals first.
    routes.sort(key=lambda route: len(route["bound"]))
    return {"REQUEST_ROUTES": routes, "REQUEST_SCHEMAS": schemas, "ENUM_VALUES": enums}


_PATH_VARIABLE = re.compile(r"\{([^}=]+)(?:=([^}]*))?\}")


def _lua_glob(text: str) -> str:
    """A path template fragment as a Lua pattern: * is one segment, ** any number of them."""
    out = []
    for part in re.split(r"(\*\*|\*)", text.lower()):
        if part == "**":
            out.append(".*")
        elif part == "*":
            out.append("[^/]+")
        else:
            out.append("".join(c if c.isalnum() else "%" + c for c in part))
    return "".join(out)


def path_template_pattern(template: str) -> tuple[str, list[str]]:
    """(anchored, lower-case Lua pattern of the path, field paths the template binds).

    The pattern is matched against the lower-cased path without its query string or
    trailing slashes, so it matches whatever the transcoder would match, and maybe more.
    """
    pattern, fields, pos = [], [], 0
    for match in _PATH_VARIABLE.finditer(template):
        pattern.append(_lua_glob(template[pos:match.start()]))
        fields.append(match.group(1).strip())
        pattern.append(_lua_glob(match.group(2)) if match.group(2) else "[^/]+")
        pos = match.end()
    pattern.append(_lua_glob(template[pos:].rstrip("/")))
    return "^" + "".join(pattern) + "$", fields


def path_bindings(descriptor_path: Path) -> list[tuple[str, str, list[str]]]:
    """(method, Lua path pattern, field paths) of every HTTP rule that binds path variables.

    The transcoder also fills a request field from a query parameter of the same name, so
    the Lua filter rejects a query parameter naming one of these fields (a query string must
    never pick a different booking than the path).
    """
    bindings = []
    for method, template in http_rules(descriptor_path):
        pattern, fields = path_template_pattern(template)
        if fields:
            bindings.append((method, pattern, fields))
    return bindings


def check_routes(descriptor_path: Path) -> None:
    """Fail if the protos' HTTP rules no longer fit the gateway's path-based rules."""
    rules = http_rules(descriptor_path)
    if OPENAPI_ROUTE in rules:
        raise ValueError(f"an RPC's HTTP rule takes the route the gateway serves the OpenAPI document on: {OPENAPI_ROUTE}")
    unknown = [route for route in [*PUBLIC_ROUTES, *CREATE_ROUTES, BROCHURE_ROUTE] if route not in rules]
    if unknown:
        raise ValueError(f"gateway routes that no RPC of the descriptor serves: {unknown}")
    outside = [path for _, path in rules if not path.startswith(API_PREFIX)]
    if outside:
        # The JWT rules only guard API_PREFIX; a route elsewhere would be public by accident.
        raise ValueError(f"HTTP rules outside {API_PREFIX} would not be authenticated: {outside}")
    admin_prefix = ADMIN_PREFIXES[0] + "/"
    admin_outside = [path for _, path in http_rules(descriptor_path, [ADMIN_SERVICE]) if not path.startswith(admin_prefix)]
    if admin_outside:
        # RBAC checks the role by path: an admin RPC elsewhere would skip it.
        raise ValueError(f"AdminService HTTP rules outside {admin_prefix} would skip the role check: {admin_outside}")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def render_envoy_config(
    *,
    listen_port: int,
    admin_port: int,
    upstreams: list[tuple[str, int]],
    descriptor_path: Path,
    jwks_path: Path,
    issuer: str,
    audience: str,
    cors_origins: list[str],
    access_log_path: str | None,
    listen_address: str = "127.0.0.1",
    health_check_interval: str = "2s",
    max_request_bytes: int = 1024 * 1024,
    max_request_headers_kb: int = 32,
    max_token_lifetime_seconds: int = DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
    xff_num_trusted_hops: int = 0,
    brochure_limit_per_client: int = 20,
    brochure_limit_global: int = 300,
    brochure_limit_window_seconds: int = 60,
    openapi_path: Path = DEFAULT_OPENAPI,
    web_root: Path = WEB_ROOT,
    web_served_from: str | None = None,
    dev_sign_in: tuple[str, int] | None = None,
    otlp_collector: tuple[str, int] | None = None,
    stats_port: int | None = None,
) -> str:
    """The Envoy YAML for the public listener in front of the given gRPC endpoints.

    A port of 0 lets the kernel choose (EnvoyGateway reads the real ports back from Envoy).
    ``access_log_path`` None logs to stdout. ``listen_address`` is 127.0.0.1 unless the
    gateway must be reachable from other machines (then "0.0.0.0").

    ``max_request_headers_kb`` must stay below what the upstream gRPC server accepts as
    metadata (appointment_svc.entrypoints.server.MAX_METADATA_BYTES), so oversized headers
    are the gateway's 400 and never the server's RESOURCE_EXHAUSTED (a 429 that says "retry").
    ``xff_num_trusted_hops`` is the number of proxies in front of Envoy whose X-Forwarded-For
    entry is trusted (0: the peer address is the client); the brochure limits count requests
    per client address and in all per ``brochure_limit_window_seconds``.
    ``otlp_collector`` (host, port): Envoy starts a trace per request, sends its spans there over
    OTLP/gRPC and passes `traceparent` to the services (None: no tracing).
    ``stats_port``: a second listener (on ``listen_address``) that answers GET /stats/prometheus
    from the admin interface and 404 to anything else, for a scraper inside the cluster; the admin
    interface itself stays on 127.0.0.1, so it needs a fixed ``admin_port`` (None: no such listener).
    """
    if stats_port is not None and (int(admin_port) == 0 or int(stats_port) in (int(admin_port), int(listen_port))):
        raise ValueError("a stats listener needs a fixed admin port and a port of its own")
    assets = web_assets(Path(web_root), served_from=web_served_from)
    largest = max(Path(web_root, a.path.name).stat().st_size for a in assets)
    if largest > MAX_DIRECT_RESPONSE_BYTES:
        raise ValueError(f"a web app file is {largest} bytes; the gateway serves at most {MAX_DIRECT_RESPONSE_BYTES}")
    for name, value in [("brochure_limit_per_client", brochure_limit_per_client),
                        ("brochure_limit_global", brochure_limit_global),
                        ("brochure_limit_window_seconds", brochure_limit_window_seconds)]:  # fmt: skip
        if int(value) < 1:
            raise ValueError(f"{name} must be at least 1")
    if int(xff_num_trusted_hops) < 0:
        raise ValueError("xff_num_trusted_hops cannot be negative")
    if not upstreams:
        raise ValueError("the gateway needs at least one upstream endpoint")
    check_routes(Path(descriptor_path))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.get_template(TEMPLATE).render(
        listen_address=listen_address,
        listen_port=int(listen_port),
        admin_port=int(admin_port),
        stats_port=None if stats_port is None else int(stats_port),
        upstreams=[(host, int(port)) for host, port in upstreams],
        upstreams_are_ips=all(_is_ip(host) for host, _ in upstreams),
        descriptor_path=str(Path(descriptor_path).resolve()),
        jwks_path=str(Path(jwks_path).resolve()),
        issuer=issuer,
        audience=audience,
        cors_origins=list(cors_origins),
        access_log_path=access_log_path or "/dev/stdout",
        services=SERVICES,
        # The OpenAPI route is public like these, but Envoy answers it itself (no RPC).
        public_routes=[*PUBLIC_ROUTES, OPENAPI_ROUTE],
        openapi_route=OPENAPI_ROUTE,
        openapi_path=str(Path(openapi_path).resolve()),
        max_direct_response_bytes=MAX_DIRECT_RESPONSE_BYTES,
        web_assets=assets,
        web_headers=SECURITY_HEADERS,
        web_redirects=REDIRECTS,
        web_methods=WEB_METHODS,
        web_methods_regex="|".join(WEB_METHODS),
        web_paths=[*(a.route for a in assets), *REDIRECTS],
        dev_sign_in=(dev_sign_in[0], int(dev_sign_in[1])) if dev_sign_in else None,
        otlp_collector=(otlp_collector[0], int(otlp_collector[1])) if otlp_collector else None,
        otlp_collector_is_ip=bool(otlp_collector) and _is_ip(otlp_collector[0]),
        dev_sign_in_path=DEV_SIGN_IN_PATH,
        api_prefix=API_PREFIX,
        admin_prefixes=ADMIN_PREFIXES,
        identity_headers=IDENTITY_HEADERS,
        health_check_interval=health_check_interval,
        max_request_bytes=int(max_request_bytes),
        max_request_headers_kb=int(max_request_headers_kb),
        clock_skew_seconds=int(CLOCK_SKEW_SECONDS),
        xff_num_trusted_hops=int(xff_num_trusted_hops),
        brochure_route=BROCHURE_ROUTE,
        brochure_limit_per_client=int(brochure_limit_per_client),
        brochure_limit_global=int(brochure_limit_global),
        brochure_limit_window_seconds=int(brochure_limit_window_seconds),
        errors=CONTRACT,
        lua_code=lua_code(Path(descriptor_path)),
        token_lua_code=token_lua_code(int(max_token_lifetime_seconds)),
    )
