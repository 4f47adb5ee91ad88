"""Print the gateway's Envoy YAML for a deployment, with the paths Envoy sees there (deploy/README.md).

    python -m gateway.render --listen-port 8080 --upstream appointment-svc:50051 \
        --jwks /etc/booking/jwks/jwks.json --descriptor /etc/booking/descriptor/booking.pb \
        --openapi /etc/booking/openapi/openapi.json --web-root /etc/booking/web \
        --cors-origin https://www.example.co.uk > deploy/k8s/gateway/envoy.yaml

(`python scripts/sync_deploy.py` runs exactly that and refreshes the copies the ConfigMaps are
made from.) The descriptor, OpenAPI, JWKS and web paths are where Envoy will find the files, and
need not exist here: render_envoy_config checks the gateway's routes against a descriptor set, so
when --descriptor is not a file on this machine, --descriptor-source (the gateway/booking.pb
shipped next to the config) is checked instead, and the paths in the output are exactly the ones
given. The browser app's routes and ETags come from --web-source (web/), the files the web
ConfigMap holds. There is no dev sign-in here: a deployment's tokens come from its identity
provider.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gateway.config import DEFAULT_DESCRIPTOR, render_envoy_config
from gateway.web import WEB_ROOT
from mesh_common.auth import DEFAULT_AUDIENCE, DEFAULT_ISSUER


def parse_upstream(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gateway.render", description=__doc__.splitlines()[0])
    parser.add_argument("--listen-port", type=int, required=True)
    parser.add_argument("--listen-address", default="0.0.0.0", help="default 0.0.0.0: other machines reach the gateway")
    parser.add_argument("--admin-port", type=int, default=9901, help="Envoy admin, bound to 127.0.0.1 (default 9901)")
    parser.add_argument("--stats-port", type=int, default=None,
                        help="also listen here (on --listen-address) for GET /stats/prometheus only, for an in-cluster scraper")
    parser.add_argument("--upstream", type=parse_upstream, action="append", required=True, metavar="HOST:PORT",
                        help="appointment_svc gRPC endpoint; repeatable; a DNS name gives a STRICT_DNS cluster")
    parser.add_argument("--jwks", required=True, help="path of the JWKS file as Envoy sees it")
    parser.add_argument("--descriptor", required=True, help="path of the descriptor set as Envoy sees it")
    parser.add_argument("--openapi", required=True, help="path of the OpenAPI document (gateway/openapi.json) as Envoy sees it")
    parser.add_argument("--web-root", required=True,
                        help="absolute path of the folder of the browser app's files (web/) as Envoy sees it")
    parser.add_argument("--web-source", type=Path, default=WEB_ROOT,
                        help="local copy of that folder: its files make the routes and ETags (default web/)")
    parser.add_argument("--descriptor-source", type=Path, default=DEFAULT_DESCRIPTOR,
                        help="local descriptor set to check the routes against when --descriptor is not a file here")
    parser.add_argument("--issuer", default=DEFAULT_ISSUER)
    parser.add_argument("--audience", default=DEFAULT_AUDIENCE)
    parser.add_argument("--cors-origin", action="append", default=[], help="allowed browser origin; repeatable")
    parser.add_argument("--access-log", default=None, help="access log path (default /dev/stdout)")
    parser.add_argument("--health-check-interval", default="2s")
    parser.add_argument("--max-request-bytes", type=int, default=1024 * 1024)
    parser.add_argument("--xff-num-trusted-hops", type=int, default=0,
                        help="proxies (load balancers) in front of Envoy whose X-Forwarded-For entry is trusted; "
                             "the brochure rate limit keys on the client address they report (default 0)")
    parser.add_argument("--brochure-limit-per-client", type=int, default=20, help="brochure requests per client per window")
    parser.add_argument("--brochure-limit-global", type=int, default=300, help="brochure requests per window, all clients")
    parser.add_argument("--brochure-limit-window-seconds", type=int, default=60)
    return parser


def _keep_literal_path(text: str, rendered: Path, wanted: str) -> str:
    # render_envoy_config resolves paths on this machine; the config is for the container's
    # filesystem, so an absolute path must come out exactly as given.
    if not Path(wanted).is_absolute():
        return text
    emitted = json.dumps(str(rendered.resolve()))
    if emitted not in text:
        raise RuntimeError(f"rendered config does not contain the path {emitted}")
    return text.replace(emitted, json.dumps(wanted))


def render(args: argparse.Namespace) -> str:
    descriptor = Path(args.descriptor)
    if not descriptor.is_file() and not descriptor.is_absolute():
        raise SystemExit(f"--descriptor {args.descriptor}: not a file here, so it must be the absolute path Envoy reads")
    checked = descriptor if descriptor.is_file() else Path(args.descriptor_source)
    if not Path(args.web_root).is_absolute():
        raise SystemExit(f"--web-root {args.web_root}: must be the absolute path Envoy reads the files from")
    text = render_envoy_config(
        listen_port=args.listen_port,
        admin_port=args.admin_port,
        upstreams=args.upstream,
        descriptor_path=checked,
        jwks_path=Path(args.jwks),
        issuer=args.issuer,
        audience=args.audience,
        cors_origins=args.cors_origin,
        access_log_path=args.access_log,
        listen_address=args.listen_address,
        health_check_interval=args.health_check_interval,
        max_request_bytes=args.max_request_bytes,
        xff_num_trusted_hops=args.xff_num_trusted_hops,
        brochure_limit_per_client=args.brochure_limit_per_client,
        brochure_limit_global=args.brochure_limit_global,
        brochure_limit_window_seconds=args.brochure_limit_window_seconds,
        openapi_path=Path(args.openapi),
        web_root=Path(args.web_source),
        web_served_from=args.web_root,
        stats_port=args.stats_port,
    )
    text = _keep_literal_path(text, checked, args.descriptor)
    text = _keep_literal_path(text, Path(args.openapi), args.openapi)
    return _keep_literal_path(text, Path(args.jwks), args.jwks)


def main(argv: list[str] | None = None) -> None:
    sys.stdout.write(render(build_parser().parse_args(argv)))


if __name__ == "__main__":
    main()
