"""/docs, the API reference, in a real browser: axe-core (WCAG 2.2 A, AA and best practice)
with no violations, reflow at 320 CSS pixels, keyboard use, no script, and nothing fetched
from outside the service. Same set-up as tests/test_accessibility.py (Debian's Chromium,
axe bundled)."""

from __future__ import annotations

from tests.test_accessibility import check_axe, fits_320_css_pixels, no_console_errors

START = "post-api-v1-assessments-assessment-code-attempts"


def test_docs_pass_axe_and_work_offline_without_script(server, page):
    base = server["base"]
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{base}/docs")
    assert page.title().endswith("API documentation")
    check_axe(page, "/docs")
    # The examples are inside closed <details>: opened, they must pass too.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    check_axe(page, "/docs with every example open")
    fits_320_css_pixels(page)
    no_console_errors(page)
    assert requested and all(url.startswith(base) for url in requested), requested
    assert page.locator("script").count() == 0


def test_docs_keyboard_only(server, page):
    page.goto(f"{server['base']}/docs")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # From the contents to an operation, then open its examples with the keyboard.
    link = page.locator(f'nav a[href="#{START}"]')
    link.focus()
    page.keyboard.press("Enter")
    assert page.url.endswith(f"#{START}")
    operation = page.locator(f"#{START}")
    request_example = operation.locator("pre").first
    request_example.focus()  # a scrolling example block takes focus, so it can be scrolled
    assert page.evaluate("document.activeElement.tagName") == "PRE"
    assert '"learner_ref"' in request_example.inner_text()

    details = operation.locator("details").filter(has_text="Example 401 body")
    example = details.locator("pre")
    assert not example.is_visible()
    details.locator("summary").focus()
    page.keyboard.press("Enter")
    assert example.is_visible()
    assert '"code": "unauthorized"' in example.inner_text()
