"""The browser app as the real gateway serves it: types, security headers, gzip, caching, sign-in."""
from __future__ import annotations

import gzip
import uuid

import httpx
import pytest

from gateway.web import CONTENT_TYPES, SECURITY_HEADERS, TOKEN_COOKIE, WEB_ROOT, web_assets
from tests.polling import wait_for

ASSETS = web_assets(WEB_ROOT)
COMPRESSIBLE = ("text/html", "text/css", "text/javascript", "image/svg+xml")
PLAIN = {"Accept-Encoding": "identity"}


def asset_id(asset) -> str:
    return asset.route


@pytest.mark.parametrize("asset", ASSETS, ids=asset_id)
def test_every_file_is_served_with_its_type_and_the_security_headers(http, asset):
    response = http.get(asset.route, headers=PLAIN)
    assert response.status_code == 200
    assert response.headers["content-type"] == asset.content_type
    assert response.content == WEB_ROOT.joinpath(asset.path.name).read_bytes()
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert response.headers["etag"] == asset.etag
    assert "content-encoding" not in response.headers


def test_the_start_page_is_html_that_forbids_inline_code_and_other_origins(http):
    response = http.get("/")
    assert response.headers["content-type"] == CONTENT_TYPES[".html"]
    assert "<main" in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


@pytest.mark.parametrize("asset", [a for a in ASSETS if a.content_type.split(";")[0] in COMPRESSIBLE], ids=asset_id)
def test_text_files_are_gzipped_when_the_client_asks(http, asset):
    original = WEB_ROOT.joinpath(asset.path.name).read_bytes()
    with httpx.stream("GET", http.base_url.join(asset.route), headers={"Accept-Encoding": "gzip"}, timeout=30) as response:
        raw = b"".join(response.iter_raw())
    if len(original) < 512:
        # Below the compressor's minimum size gzip would only add bytes.
        assert "content-encoding" not in response.headers and raw == original
        return
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in response.headers["vary"].lower()
    assert gzip.decompress(raw) == original and len(raw) < len(original)
    assert response.headers["etag"] == asset.etag


def test_revalidation_with_the_etag_is_a_304_without_a_body(http):
    first = http.get("/app.js", headers={"Accept-Encoding": "gzip"})
    again = http.get("/app.js", headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == "no-cache" and "location" not in again.headers
    # A browser may send several validators; a stale one alone gets the file.
    listed = http.get("/app.js", headers={"If-None-Match": f'W/"old", {first.headers["etag"]}'})
    assert listed.status_code == 304
    stale = http.get("/app.js", headers={"If-None-Match": 'W/"0123456789abcdef01234567"'})
    assert stale.status_code == 200 and stale.content


def test_head_gives_the_headers_without_the_body(http):
    response = http.head("/", headers=PLAIN)
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-type"] == CONTENT_TYPES[".html"]
    assert int(response.headers["content-length"]) == WEB_ROOT.joinpath("index.html").stat().st_size


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_on_the_app_are_a_405_naming_get_and_head(http, method):
    for path in ("/", "/app.js", "/index.html"):
        response = http.request(method, path)
        assert response.status_code == 405, path
        assert response.headers["allow"] == "GET, HEAD"
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["code"] == "METHOD_NOT_ALLOWED" and "Allow" in body["message"]


def test_index_html_sends_the_browser_to_the_root(http):
    response = http.get("/index.html")
    assert response.status_code == 301 and response.headers["location"].endswith("/")
    assert httpx.URL(response.headers["location"]).path == "/"


@pytest.mark.parametrize("path", ["/missing.js", "/web/app.js", "/app.js/", "/.env"])
def test_anything_else_is_the_contract_404(http, path):
    response = http.get(path)
    assert response.status_code == 404
    assert response.json() == {"code": "NOT_FOUND", "message": "There is no such endpoint"}


def test_dev_sign_in_sets_a_token_cookie_that_the_api_accepts(http, mesh):
    sub = f"web-{uuid.uuid4().hex[:10]}"
    response = http.get(f"/dev/sign-in?sub={sub}")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "SameSite=Strict" in cookie and "Path=/" in cookie
    token = response.cookies[TOKEN_COOKIE]
    mine = http.get("/v1/appointments", headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200, mine.text
    admin = http.get("/v1/admin/appointments", headers={"Authorization": f"Bearer {token}"})
    assert admin.status_code == 403


def test_dev_sign_in_as_staff_reaches_the_staff_api(http):
    response = http.get(f"/dev/sign-in?sub=staff-{uuid.uuid4().hex[:8]}&role=ADMIN")
    token = response.cookies[TOKEN_COOKIE]
    listed = http.get("/v1/admin/appointments?page=1&limit=5", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200, listed.text


def test_a_bad_dev_sign_in_is_a_contract_400_and_other_methods_a_405(http):
    bad = http.get("/dev/sign-in?sub=" + "x" * 65)
    assert bad.status_code == 400
    assert bad.json()["code"] == "VALIDATION_ERROR" and bad.json()["fields"][0]["field"] == "sub"
    assert "set-cookie" not in bad.headers
    posted = http.post("/dev/sign-in")
    assert posted.status_code == 405 and posted.headers["allow"] == "GET"
    assert posted.json()["code"] == "METHOD_NOT_ALLOWED"


def test_the_access_log_never_records_who_signed_in(http, mesh):
    log = mesh.home / "logs" / "access.log"

    def sign_ins() -> int:
        return log.read_text().count('"path":"/dev/sign-in"') if log.exists() else 0

    before = sign_ins()
    sub = f"private-{uuid.uuid4().hex[:10]}"
    assert http.get(f"/dev/sign-in?sub={sub}").status_code == 303
    wait_for(lambda: sign_ins() > before, what="the sign-in's access log line")
    assert sub not in log.read_text()
