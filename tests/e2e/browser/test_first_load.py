"""The first visit's weight, as Chromium receives it: at most 150 KB, all same-origin, text gzipped."""
from __future__ import annotations

import json
import uuid
from collections import Counter
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from gateway.web import TOKEN_COOKIE
from mesh_common.auth import Role
from tests.e2e.browser.conftest import DESKTOP
from tests.polling import wait_for

FIRST_LOAD_BUDGET = 150 * 1024
# The gateway's compressor leaves smaller bodies alone (gzip would only add bytes).
COMPRESSOR_MIN_BYTES = 512
TEXT_TYPES = ("text/", "application/javascript", "image/svg+xml")


def load(page: Page, path: str) -> list[Request]:
    """Opens `path` and returns every request it made once the page has settled."""
    finished: list[Request] = []
    failed: list[str] = []

    def on_finished(request: Request) -> None:
        finished.append(request)

    def on_failed(request: Request) -> None:
        failed.append(f"{request.url}: {request.failure}")

    page.on("requestfinished", on_finished)
    page.on("requestfailed", on_failed)
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    # Screens are lazy-loaded modules: wait until nothing more is fetched.
    page.wait_for_load_state("networkidle")
    page.remove_listener("requestfinished", on_finished)
    page.remove_listener("requestfailed", on_failed)
    assert not failed, failed
    return finished


def transferred(request: Request) -> int:
    sizes = request.sizes()
    return sizes["requestHeadersSize"] + sizes["requestBodySize"] + sizes["responseHeadersSize"] + sizes["responseBodySize"]


# Where a visitor may arrive: the start page, a customer straight into the journey, staff on
# the appointment table (the heaviest screen, with its data).
ARRIVALS = [("/", None), ("/#/book", Role.CUSTOMER), ("/#/admin", Role.ADMIN)]


@pytest.mark.parametrize(("path", "role"), ARRIVALS, ids=["start-page", "journey", "staff-table"])
def test_the_first_load_is_within_150_kb_same_origin_and_gzipped(page, mesh, path, role):
    if role is not None:
        token = mesh.token(f"first-load-{uuid.uuid4().hex[:8]}", role)
        page.context.add_cookies([{"name": TOKEN_COOKIE, "value": token, "url": mesh.url}])
    requests = load(page, path)
    origin = urlsplit(mesh.url).netloc
    assert {urlsplit(r.url).path for r in requests} >= {"/", "/app.js", "/app.css"}
    assert all(urlsplit(r.url).netloc == origin for r in requests), [r.url for r in requests]

    total = sum(transferred(r) for r in requests)
    report = "\n".join(f"{transferred(r):>7} {r.url}" for r in requests)
    assert total <= FIRST_LOAD_BUDGET, f"the first load transferred {total} bytes, over {FIRST_LOAD_BUDGET}:\n{report}"

    for request in requests:
        response = request.response()
        assert response is not None and response.ok, request.url
        if urlsplit(request.url).path.startswith("/v1/"):
            # API answers stay uncompressed: they mix personal data with what the client sent,
            # which compression would let an attacker probe (BREACH).
            continue
        content_type = response.header_value("content-type") or ""
        size = int(response.header_value("content-length") or COMPRESSOR_MIN_BYTES)
        if content_type.startswith(TEXT_TYPES) and size >= COMPRESSOR_MIN_BYTES:
            assert response.header_value("content-encoding") == "gzip", f"{request.url} ({content_type}) is not gzipped"


def not_modified_answers(mesh) -> Counter:
    """How often the gateway answered 304, by path (its access log, one JSON object a line)."""
    log = mesh.home / "logs" / "access.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return Counter(entry["path"] for entry in map(json.loads, lines) if entry["status"] == 304)


def test_a_second_visit_revalidates_each_file_with_a_304(browser, mesh):
    # The harness's `page` routes every request (to refuse other origins), and routing turns
    # Chromium's HTTP cache off; this context keeps the cache and checks the origin itself.
    context = browser.new_context(base_url=mesh.url, viewport=DESKTOP, locale="en-GB", timezone_id="Europe/London")
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        first = load(page, "/")
        before = not_modified_answers(mesh)
        again = load(page, "/")
        assert not errors, errors
        origin = urlsplit(mesh.url).netloc
        assert all(urlsplit(r.url).netloc == origin for r in first + again)
        # Chromium reports a revalidated file as its cached 200; the gateway's log has the 304.
        files = {urlsplit(r.url).path for r in first}
        wait_for(lambda: all(not_modified_answers(mesh)[path] > before[path] for path in files),
                 what=f"a 304 for each of {sorted(files)} in the access log")  # fmt: skip
        assert sum(transferred(r) for r in again) < sum(transferred(r) for r in first) / 2
    finally:
        context.close()
