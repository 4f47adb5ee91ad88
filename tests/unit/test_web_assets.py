"""gateway/web.py: the browser app's files as gateway routes, and the dev mesh's sign-in."""
from __future__ import annotations

import json
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import jwt
import pytest
import yaml

from gateway.config import DEFAULT_DESCRIPTOR, MAX_DIRECT_RESPONSE_BYTES, render_envoy_config
from gateway.web import CONTENT_TYPES, SECURITY_HEADERS, TOKEN_COOKIE, WEB_ROOT, DevSignIn, web_assets
from mesh_common.auth import KeyPair, Principal, Role, TokenVerifier


def app_folder(tmp_path: Path, files: dict[str, bytes | str]) -> Path:
    root = tmp_path / "web"
    root.mkdir(parents=True)
    for name, content in files.items():
        (root / name).write_bytes(content.encode() if isinstance(content, str) else content)
    return root


SMALL_APP = {"index.html": "<!doctype html><title>x</title>", "app.js": "export {};", "app.css": "body{}",
             "favicon.svg": "<svg/>"}  # fmt: skip


def test_every_file_of_the_flat_folder_is_a_route_and_index_html_is_the_root(tmp_path):
    root = app_folder(tmp_path, SMALL_APP)
    routes = {asset.route: asset for asset in web_assets(root)}
    assert sorted(routes) == ["/", "/app.css", "/app.js", "/favicon.svg"]
    assert routes["/"].path == root.resolve() / "index.html"
    assert routes["/"].content_type == "text/html; charset=utf-8"
    assert routes["/app.js"].content_type == "text/javascript; charset=utf-8"
    assert routes["/app.css"].content_type == "text/css; charset=utf-8"
    assert routes["/favicon.svg"].content_type == "image/svg+xml"


def test_a_deployment_names_the_files_where_envoy_finds_them(tmp_path):
    root = app_folder(tmp_path, SMALL_APP)
    assets = web_assets(root, served_from="/etc/booking/web")
    assert {str(asset.path) for asset in assets} == {f"/etc/booking/web/{name}" for name in SMALL_APP}


def test_the_etag_is_a_weak_hash_of_the_content(tmp_path):
    first = {a.route: a.etag for a in web_assets(app_folder(tmp_path / "1", SMALL_APP))}
    same = {a.route: a.etag for a in web_assets(app_folder(tmp_path / "2", SMALL_APP))}
    changed = {a.route: a.etag for a in web_assets(app_folder(tmp_path / "3", {**SMALL_APP, "app.js": "export {x};"}))}
    assert first == same
    assert changed["/app.js"] != first["/app.js"] and changed["/"] == first["/"]
    assert all(etag.startswith('W/"') and etag.endswith('"') for etag in first.values())
    assert len(set(first.values())) == len(first)


@pytest.mark.parametrize("name", ["app.js.map", "setup.exe", "notes.md", "README"])
def test_a_file_of_unknown_type_is_refused_not_served_as_something_else(tmp_path, name):
    root = app_folder(tmp_path, {**SMALL_APP, name: "x"})
    with pytest.raises(ValueError, match="no content type known"):
        web_assets(root)


def test_a_subfolder_is_refused_since_a_configmap_holds_no_folders(tmp_path):
    root = app_folder(tmp_path, SMALL_APP)
    (root / "img").mkdir()
    with pytest.raises(ValueError, match="must be flat"):
        web_assets(root)


@pytest.mark.parametrize("name", ["my app.js", "app$.js", "-app.js"])
def test_a_file_name_that_cannot_be_a_configmap_key_or_plain_route_is_refused(tmp_path, name):
    root = app_folder(tmp_path, {**SMALL_APP, name: "x"})
    with pytest.raises(ValueError, match="file name"):
        web_assets(root)


def test_hidden_files_such_as_editor_swap_files_are_left_out(tmp_path):
    root = app_folder(tmp_path, {**SMALL_APP, ".app.js.swp": "x", ".DS_Store": "x"})
    assert sorted(a.route for a in web_assets(root)) == ["/", "/app.css", "/app.js", "/favicon.svg"]


def test_the_folder_needs_an_index_html(tmp_path):
    root = app_folder(tmp_path, {"app.js": "export {};"})
    with pytest.raises(FileNotFoundError, match="index.html"):
        web_assets(root)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        web_assets(tmp_path / "missing")


def test_the_repositorys_web_folder_is_servable():
    assets = web_assets(WEB_ROOT)
    assert "/" in {a.route for a in assets}
    assert all(WEB_ROOT.joinpath(a.path.name).stat().st_size <= MAX_DIRECT_RESPONSE_BYTES for a in assets)
    assert {a.content_type for a in assets} <= set(CONTENT_TYPES.values())


def test_the_security_headers_forbid_anything_off_the_origin_and_framing():
    policy = dict(part.strip().split(" ", 1) for part in SECURITY_HEADERS["content-security-policy"].split(";"))
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert "unsafe-inline" not in SECURITY_HEADERS["content-security-policy"]
    assert SECURITY_HEADERS["x-content-type-options"] == "nosniff"
    assert SECURITY_HEADERS["cache-control"] == "no-cache"


# -- The routes Envoy gets -------------------------------------------------------------------


def rendered_routes(tmp_path, root: Path, **options) -> tuple[list[dict], dict]:
    text = render_envoy_config(
        listen_port=0, admin_port=0, upstreams=[("127.0.0.1", 50051)], descriptor_path=DEFAULT_DESCRIPTOR,
        jwks_path=tmp_path / "jwks.json", issuer="booking-mesh", audience="booking-api", cors_origins=[],
        access_log_path=None, web_root=root, **options,
    )  # fmt: skip
    envoy = yaml.safe_load(text)
    manager = envoy["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    return manager["route_config"]["virtual_hosts"][0]["routes"], envoy


def routes_for(routes: list[dict], path: str) -> list[dict]:
    return [route for route in routes if route["match"].get("path") == path]


def headers_added(route: dict) -> dict[str, str]:
    return {h["header"]["key"]: h["header"]["value"] for h in route.get("response_headers_to_add", [])}


def test_each_file_has_a_304_route_for_its_etag_then_its_200_then_a_405(tmp_path):
    root = app_folder(tmp_path, SMALL_APP)
    routes, _ = rendered_routes(tmp_path, root)
    for asset in web_assets(root):
        not_modified, ok, other = routes_for(routes, asset.route)
        conditions = {h["name"]: h["string_match"] for h in not_modified["match"]["headers"]}
        assert conditions["if-none-match"] == {"contains": asset.etag.removeprefix("W/")}
        assert not_modified["direct_response"] == {"status": 304}
        assert headers_added(not_modified)["etag"] == asset.etag
        assert ok["direct_response"] == {"status": 200, "body": {"filename": str(asset.path)}}
        assert headers_added(ok) == {"content-type": asset.content_type, "etag": asset.etag, **SECURITY_HEADERS}
        for route in (not_modified, ok):
            (method,) = [h for h in route["match"]["headers"] if h["name"] == ":method"]
            assert method["string_match"] == {"safe_regex": {"regex": "GET|HEAD"}}
        assert "headers" not in other["match"] and other["direct_response"] == {"status": 405}
        assert headers_added(other) == {"allow": "GET, HEAD"}


def test_index_html_redirects_to_the_root(tmp_path):
    routes, _ = rendered_routes(tmp_path, app_folder(tmp_path, SMALL_APP))
    redirect, other = routes_for(routes, "/index.html")
    assert redirect["redirect"] == {"path_redirect": "/", "response_code": "MOVED_PERMANENTLY"}
    assert other["direct_response"] == {"status": 405}


def test_the_dev_sign_in_route_and_cluster_exist_only_when_asked_for(tmp_path):
    root = app_folder(tmp_path, SMALL_APP)
    routes, envoy = rendered_routes(tmp_path, root)
    assert not routes_for(routes, "/dev/sign-in")
    assert [c["name"] for c in envoy["static_resources"]["clusters"]] == ["booking_grpc"]
    routes, envoy = rendered_routes(tmp_path, root, dev_sign_in=("127.0.0.1", 40123))
    sign_in, other = routes_for(routes, "/dev/sign-in")
    assert sign_in["route"]["cluster"] == "dev_sign_in"
    assert sign_in["match"]["headers"] == [{"name": ":method", "string_match": {"exact": "GET"}}]
    assert other["direct_response"] == {"status": 405} and headers_added(other) == {"allow": "GET"}
    assert "dev_sign_in" in [c["name"] for c in envoy["static_resources"]["clusters"]]


# -- The dev sign-in handler -----------------------------------------------------------------


@pytest.fixture(scope="module")
def keys() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture(scope="module")
def sign_in(keys):
    server = DevSignIn(keys).start()
    host, port = server.address
    with httpx.Client(base_url=f"http://{host}:{port}", follow_redirects=False, timeout=10) as client:
        yield client
    server.stop()


def token_cookie(response: httpx.Response) -> tuple[str, dict[str, str]]:
    cookie = SimpleCookie()
    cookie.load(response.headers["set-cookie"])
    morsel = cookie[TOKEN_COOKIE]
    attributes = {key: value for key, value in morsel.items() if value}
    return morsel.value, attributes


@pytest.mark.parametrize(("query", "role"), [("sub=alice-1", Role.CUSTOMER), ("sub=staff.1&role=ADMIN", Role.ADMIN),
                                             ("sub=bob@example&role=admin", Role.ADMIN)])  # fmt: skip
def test_sign_in_redirects_home_with_a_token_the_services_accept(sign_in, keys, query, role):
    response = sign_in.get(f"/dev/sign-in?{query}")
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert response.headers["cache-control"] == "no-store"
    token, attributes = token_cookie(response)
    sub = query.split("&")[0].removeprefix("sub=")
    assert TokenVerifier(keys.jwks()).verify(f"Bearer {token}") == Principal(user_id=sub, role=role)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 8 * 3600
    assert attributes == {"path": "/", "max-age": str(8 * 3600), "samesite": "Strict"}


@pytest.mark.parametrize(("query", "field"), [("", "sub"), ("sub=", "sub"), ("sub=a%20b", "sub"), (f"sub={'x' * 65}", "sub"),
                                              ("sub=alice&role=ROOT", "role")])  # fmt: skip
def test_a_bad_sign_in_request_is_a_contract_400_naming_the_field(sign_in, query, field):
    response = sign_in.get(f"/dev/sign-in?{query}")
    assert response.status_code == 400 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and body["message"]
    assert [f["field"] for f in body["fields"]] == [field]
    assert "set-cookie" not in response.headers


def test_any_other_path_of_the_handler_is_a_contract_404(sign_in):
    response = sign_in.get("/dev/other?sub=alice")
    assert response.status_code == 404
    assert response.json() == {"code": "NOT_FOUND", "message": "There is no such endpoint"}


def test_the_handler_logs_nothing_personal(sign_in, capfd, caplog):
    assert sign_in.get("/dev/sign-in?sub=secret-person-42").status_code == 303
    assert sign_in.get("/dev/sign-in?sub=secret person 42").status_code == 400
    out, err = capfd.readouterr()
    logged = out + err + "".join(json.dumps(record.getMessage()) for record in caplog.records)
    assert "secret" not in logged
