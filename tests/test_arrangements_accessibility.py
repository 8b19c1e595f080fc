"""The assessor's access arrangements page in a real browser: axe-core (WCAG 2.2 A and AA),
reflow at 320 CSS pixels, the error summary taking focus, and a change made with the keyboard
only. Same set-up as tests/test_accessibility.py (Debian's Chromium, axe bundled)."""

from __future__ import annotations

from tests.test_accessibility import (
    check_axe,
    fits_320_css_pixels,
    launch_from_dev_platform,
    no_console_errors,
)


def test_the_arrangements_page_passes_axe_and_works_with_the_keyboard(server, page):
    launch_from_dev_platform(page, server, "Choose an assessment (deep linking, as Ian Instructor)")
    page.get_by_label("CSC-01-A1", exact=False).check()
    with page.expect_navigation(url="**/dev-platform/", wait_until="load"):
        page.get_by_role("button", name="Add to course").click()
    launch_from_dev_platform(page, server, "Launch as learner (Ada Learner)")
    assert "/lti/attempt" in page.url
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Start the assessment").click()  # the clock runs
    launch_from_dev_platform(page, server, "Launch as instructor (Ian Instructor)")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Access arrangements of Ada Learner").click()
    assert page.title().startswith("Access arrangements: Ada Learner")
    check_axe(page, "access arrangements page")
    fits_320_css_pixels(page)

    page.get_by_label("Extra time as a percentage", exact=False).fill("lots")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Save the access arrangements", exact=False).click()
    summary = page.locator(".error-summary")
    assert summary.is_visible() and page.title().startswith("Error: ")
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    check_axe(page, "access arrangements page with an error summary")
    fits_320_css_pixels(page)

    # Keyboard only: from the error summary's link to the field, then on to save.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "extra-time-percent"
    page.keyboard.press("Control+A")
    page.keyboard.type("25")
    page.get_by_label("Supervised rest breaks", exact=False).focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Save the access arrangements", exact=False).focus()
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    status = page.locator("[role=status]").inner_text()
    assert "saved" in status and "deadline" in status
    main = page.locator("main").inner_text()
    assert "25% extra time" in main and "Rest breaks that stop the clock" in main
    check_axe(page, "access arrangements page after saving")
    fits_320_css_pixels(page)

    # A supervised rest break, started and ended with the keyboard.
    page.get_by_role("button", name="Start a rest break", exact=False).focus()
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    assert "clock is stopped" in page.locator("[role=status]").inner_text()
    check_axe(page, "access arrangements page during a rest break")
    page.get_by_role("button", name="End the rest break", exact=False).focus()
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    assert "runs again" in page.locator("[role=status]").inner_text()
    no_console_errors(page)
