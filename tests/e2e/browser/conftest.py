"""Real Chromium (Debian's package, driven by Playwright) against the session's real mesh.

Playwright's own browser download is not reachable here, so the tests launch the system
Chromium. When it is missing and this process may install Debian packages (root with apt-get),
the session installs it, so the README's one test command sets up a fresh machine; otherwise
every browser test fails with one sentence saying how to install it. Never a skip.

Each test gets a fresh browser context (cookies, storage) and fails when the page logs a
JavaScript error or asks for anything off the mesh's origin.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

INSTALL_SENTENCE = (
    "The browser tests need Debian's Chromium: install it with `sudo apt-get install chromium` "
    "(or set CHROMIUM to a Chromium or Chrome binary)."
)
# As the machine notes say: without the background-networking flags Chromium keeps dialling
# Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Date and time inputs follow the browser's own locale, not the context's: a British one.
    "--lang=en-GB",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Chromium reports every non-2xx response as a console error; the page shows those as
# sentences itself (and the tests check the sentences), so they are not page errors.
HTTP_STATUS_NOISE = "Failed to load resource: the server responded with a status of"
# Assertions wait as long as actions do: the machines are shared and busy.
expect.set_options(timeout=15_000)
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


def _find_chromium() -> str | None:
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _install_chromium() -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    for command in (install, ["apt-get", "update", "-q"], install):
        try:
            result = subprocess.run(command, env=env, capture_output=True, timeout=900)
        except subprocess.TimeoutExpired:
            return
        if command is install and result.returncode == 0:
            return


def chromium_or_fail() -> str:
    """The Chromium binary, installed first when possible; else the test fails with one sentence."""
    path = _find_chromium()
    if path is None and not os.environ.get("CHROMIUM"):
        _install_chromium()
        path = _find_chromium()
    if path is None:
        pytest.fail(INSTALL_SENTENCE, pytrace=False)
    return path


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return chromium_or_fail()


# Per module, not per session: while Playwright's sync API is open it holds this thread's event
# loop, and the asyncio tests that run after the browser tests in one session need it back.
@pytest.fixture(scope="module")
def browser(chromium_path) -> Browser:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, chromium_sandbox=False)
        yield browser
        browser.close()


class PageProblems(list):
    """JavaScript errors and off-origin requests seen during one test."""


def new_page(browser: Browser, base_url: str, problems: PageProblems, *, viewport=DESKTOP) -> Page:
    context = browser.new_context(base_url=base_url, viewport=viewport, locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(15_000)
    origin = urlsplit(base_url).netloc

    def only_same_origin(route):
        url = urlsplit(route.request.url)
        if url.scheme in ("data", "blob") or url.netloc == origin:
            return route.continue_()
        problems.append(f"request off the mesh's origin: {route.request.url}")
        return route.abort()

    context.route("**/*", only_same_origin)
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def on_console(message):
        if message.type == "error" and not message.text.startswith(HTTP_STATUS_NOISE):
            problems.append(f"console error: {message.text}")

    page.on("console", on_console)
    return page


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(browser, mesh, page_problems) -> Page:
    page = new_page(browser, mesh.url, page_problems)
    yield page
    page.context.close()
    assert not page_problems, "the page misbehaved:\n" + "\n".join(page_problems)


@pytest.fixture
def open_page(browser, mesh, page_problems):
    """Opens more pages (other users, other viewports), each in its own context; all checked."""
    opened: list[Page] = []

    def open_(viewport=DESKTOP) -> Page:
        page = new_page(browser, mesh.url, page_problems, viewport=viewport)
        opened.append(page)
        return page

    yield open_
    for page in opened:
        page.context.close()
    assert not page_problems, "the page misbehaved:\n" + "\n".join(page_problems)


def sign_in(page: Page, sub: str, *, admin: bool = False, then: str = "#/") -> None:
    """Signs the browser in through the dev mesh's /dev/sign-in and opens `then`."""
    query = f"sub={sub}" + ("&role=ADMIN" if admin else "")
    page.goto(f"/dev/sign-in?{query}")
    page.goto(f"/{then}")
    page.get_by_text(f"Signed in as {sub}").wait_for()


def assert_accessible(page: Page, label: str) -> None:
    """axe-core finds no WCAG 2.2 A/AA violation on what the page shows now."""
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
    assert results.violations_count == 0, f"accessibility violations on {label}:\n{results.generate_report()}"


def screenshot(page: Page, name: str) -> None:
    """Saves docs/screenshots/NAME.png (the README shows them; every run makes them anew)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
