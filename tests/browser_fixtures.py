"""Browser test fixtures: the app under a real HTTP server on 127.0.0.1 with its own database,
and Debian's headless Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from tests.conftest import loaded_database, make_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'"
ASSESSMENT = "CSC-01-A1"
PAGES = re.compile(r"^http://127\.0\.0\.1:\d+/lti/(attempt|assessor|deep-link)")
LANDING = re.compile(r"/lti/(attempt|assessor|deep-link)\?ls=")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on 127.0.0.1 (a free port), with its own temporary database."""
    if not CHROMIUM.exists():
        # Never a silent skip: scripts/test.sh installs Debian's chromium before pytest runs.
        pytest.fail("/usr/bin/chromium is not installed (scripts/test.sh installs it)")
    from werkzeug.serving import make_server

    with loaded_database(tmp_path_factory.mktemp("a11y")) as url:
        app = make_app(url, DEV_PLATFORM=True, loaded=True)
        http = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        try:
            yield {"app": app, "base": f"http://127.0.0.1:{http.server_port}"}
        finally:
            http.shutdown()
            thread.join(timeout=10)
            app.extensions["db_engine"].dispose()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def page(server, browser):
    """A fresh browser context (no cookies), strict CSP on the app's pages, and a record of
    console errors (CSP violations among them)."""
    context = browser.new_context(locale="en-GB", viewport={"width": 1024, "height": 800})
    errors: list[str] = []

    def with_csp(route):
        response = route.fetch(max_redirects=0)  # the browser follows redirects itself
        headers = {**response.headers, "content-security-policy": CSP}
        route.fulfill(response=response, headers=headers)

    # This tool's pages only: the login and launch steps set and read cookies, which a
    # fulfilled response would not hand to the browser as a real one does.
    context.route(PAGES, with_csp)
    tab = context.new_page()
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.console_errors = errors
    tab.set_default_timeout(15000)
    yield tab
    context.close()
