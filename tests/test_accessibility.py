"""Accessibility in a real browser: the app under a real HTTP server, headless Chromium driven
by Playwright, axe-core checking WCAG 2.2 A and AA, and keyboard-only use.

Debian's Chromium (/usr/bin/chromium) is used, never a browser Playwright downloads; the tests
fail when it is absent. axe-core comes bundled in the axe-playwright-python package, so
nothing is fetched at test time. The tool's pages are served with a strict Content-Security-Policy
(added in the browser), so an inline script or style there would show up as an error.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lti import dev_platform, sessions
from lti.models import LtiPlatform
from service import db
from service.choice_ids import ChoiceIds
from service.models import Attempt, utcnow
from tests.browser_fixtures import ASSESSMENT, LANDING, WCAG_TAGS


def check_axe(page, where: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    assert results.violations_count == 0, f"{where}:\n{results.generate_report()}"


def no_console_errors(page) -> None:
    """No script error and no CSP violation. A form re-rendered with its errors (422) is
    logged by Chromium as a failed load: that one is expected."""
    errors = [e for e in page.console_errors if "status of 422" not in e]
    assert errors == [], errors


def fits_320_css_pixels(page) -> None:
    """Reflow (WCAG 1.4.10): at 320 CSS pixels wide (1280 at 400%) nothing scrolls sideways."""
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 640})
    try:
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{page.url} scrolls sideways by {overflow}px at 320px wide"
    finally:
        page.set_viewport_size(size)


def no_word_broken(page, selector: str) -> None:
    """No word in `selector` is split across two lines (at narrow widths, tables whose cells
    wrap anywhere read "Lea / rne / r"): each word's text lies on one line box."""
    broken = page.evaluate(
        r"""(selector) => {
            const broken = [];
            // Not shown, or shown to screen readers only (a 1px clipped box).
            const hidden = (element) => {
                for (let e = element; e; e = e.parentElement) {
                    if (!e.getClientRects().length || e.offsetWidth <= 1) { return true; }
                }
                return false;
            };
            for (const root of document.querySelectorAll(selector)) {
                const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
                for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                    if (hidden(node.parentElement)) { continue; }
                    for (const word of node.textContent.matchAll(/\S+/g)) {
                        const range = document.createRange();
                        range.setStart(node, word.index);
                        range.setEnd(node, word.index + word[0].length);
                        const tops = new Set(Array.from(range.getClientRects(),
                            (r) => Math.round(r.top)));
                        if (tops.size > 1) { broken.push(word[0]); }
                    }
                }
            }
            return broken;
        }""",
        selector,
    )
    assert broken == [], f"{page.url}: words broken across lines: {broken}"


def launch_from_dev_platform(page, server, button: str) -> None:
    page.goto(f"{server['base']}/dev-platform/")
    with page.expect_navigation(url=LANDING, wait_until="load"):
        page.get_by_role("button", name=button).click()


def direct_token(server, sub: str, name: str, role: str = "learner") -> str:
    """A session token as a launch by the development platform would create it, for learners
    beyond the platform's two (the launch itself is exercised by the first test)."""
    base = server["base"]
    app = server["app"]
    with app.app_context():
        session = db.session()
        platform = dev_platform.ensure_registered(session, base)
        user = "learner-1" if role == "learner" else "instructor-1"
        claims = dev_platform.id_token_claims(
            base, user, "LtiResourceLinkRequest", "nonce", custom={"assessment": ASSESSMENT}
        )
        claims["sub"], claims["name"] = sub, name
        token = sessions.start(session, platform, claims, timedelta(minutes=90)).token
        session.commit()
        return token


def set_deadline(server, sub: str, seconds: float) -> None:
    app = server["app"]
    with app.app_context():
        session = db.session()
        platform = session.scalar(
            select(LtiPlatform).where(LtiPlatform.issuer == dev_platform.issuer(server["base"]))
        )
        attempt = session.scalar(
            select(Attempt).where(Attempt.learner_ref == f"lti:{platform.id}:{sub}")
        )
        attempt.deadline = utcnow() + timedelta(seconds=seconds)
        session.commit()


def answer_everything(page) -> None:
    """Answer each question the way a person would, with the visible controls."""
    for fieldset in page.locator("fieldset.question").all():
        radios = fieldset.locator("input[type=radio]")
        if radios.count():
            radios.first.check()
        boxes = fieldset.locator("input[type=checkbox]")
        if boxes.count():
            boxes.nth(0).check()
            boxes.nth(1).check()
        selects = fieldset.locator("select")
        for n in range(selects.count()):
            box = selects.nth(n)
            options = box.locator("option").all()
            if options[1].get_attribute("value") == "1":  # ordering: position n+1
                box.select_option(str(n + 1))
            else:
                box.select_option(index=1)
        for field in fieldset.locator("input[type=text], textarea").all():
            field.fill("An answer written in the browser test.")


def test_every_page_passes_axe_wcag_22_aa(server, page):
    # The instructor links the assessment to the course (deep linking).
    launch_from_dev_platform(page, server, "Choose an assessment (deep linking, as Ian Instructor)")
    assert "/lti/deep-link" in page.url
    check_axe(page, "deep link page")
    fits_320_css_pixels(page)
    page.get_by_label("CSC-01-A1", exact=False).check()
    with page.expect_navigation(url="**/dev-platform/", wait_until="load"):
        page.get_by_role("button", name="Add to course").click()
    assert "CSC-01-A1" in page.locator("main").inner_text()

    # The learner's attempt page.
    launch_from_dev_platform(page, server, "Launch as learner (Ada Learner)")
    assert "/lti/attempt" in page.url
    assert page.title().startswith("Before you start – CSC-01-A1")
    check_axe(page, "start page")
    fits_320_css_pixels(page)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Start the assessment").click()
    assert page.title().startswith("Questions – CSC-01-A1")
    check_axe(page, "attempt page")
    fits_320_css_pixels(page)
    answer_everything(page)
    # Autosave: the status line says so (not announced on every change).
    page.wait_for_function(
        "() => document.getElementById('save-status').textContent.includes('saved automatically')"
    )
    # An error: two steps in the same position (when the form has an ordering item), or a
    # stale session on the no-JavaScript path otherwise, re-renders with an error summary.
    ordering = page.locator("fieldset.question:has(select option[value='1'])").first
    if ordering.count():
        selects = ordering.locator("select")
        selects.nth(0).select_option("1")
        selects.nth(1).select_option("1")
        # "Your order so far" follows the selects (attempt.js redraws it).
        first_line = ordering.locator(".order-preview li").first
        assert first_line.inner_text().startswith("2 steps have this position: ")
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("button", name="Save answers").click()
        summary = page.locator(".error-summary")
        assert summary.is_visible() and page.title().startswith("Error: ")
        assert page.evaluate("document.activeElement.classList.contains('error-summary')")
        check_axe(page, "attempt page with an error summary")
        summary.locator("a").first.click()
        assert page.evaluate("document.activeElement.tagName") == "SELECT"
        for n in range(selects.count()):
            selects.nth(n).select_option(str(n + 1))
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Check your answers").click()
    assert page.title().startswith("Check your answers")
    check_axe(page, "check your answers page")
    fits_320_css_pixels(page)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Submit your answers").click()
    assert page.title().startswith("Your result")
    assert "Waiting for your assessor" in page.locator("main").inner_text()
    check_axe(page, "result page")
    fits_320_css_pixels(page)

    # The assessor's list and marking pages.
    launch_from_dev_platform(page, server, "Launch as instructor (Ian Instructor)")
    assert "/lti/assessor" in page.url
    assert "Ada Learner" in page.locator("main").inner_text()
    check_axe(page, "assessor page")
    fits_320_css_pixels(page)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Mark the written answer of Ada Learner").click()
    assert page.title().startswith("Marking Ada Learner")
    check_axe(page, "marking page")
    fits_320_css_pixels(page)
    form = page.locator("section.marking form").first
    with page.expect_navigation(wait_until="load"):
        form.get_by_role(
            "button", name="Save marks for question", exact=False
        ).click()  # no level chosen
    assert page.locator(".error-summary").is_visible()
    check_axe(page, "marking page with an error summary")
    form = page.locator("section.marking form").first
    for group in form.locator("fieldset").all():
        group.get_by_role("radio", name="Met", exact=False).last.check()
    with page.expect_navigation(wait_until="load"):
        form.get_by_role("button", name="Save marks for question", exact=False).click()
    assert "fully graded" in page.locator("[role=status]").inner_text()
    check_axe(page, "marking page after marking")

    # Performance evidence and the unit status, with an error summary, then a record.
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Performance evidence and unit status", exact=False).click()
    check_axe(page, "performance evidence page")
    fits_320_css_pixels(page)
    record = page.get_by_role("button", name="Record the evidence", exact=False).first
    with page.expect_navigation(wait_until="load"):
        record.click()  # nothing filled in
    assert page.locator(".error-summary").is_visible()
    check_axe(page, "performance evidence page with an error summary")
    form = (
        page.locator("form")
        .filter(has=page.get_by_role("button", name="Record the evidence", exact=False))
        .first
    )
    form.get_by_role("radio", name="Observation", exact=False).first.check()
    form.get_by_label("Date of the evidence").fill("2026-11-20")
    form.get_by_label("What the evidence shows").fill(
        "Observed two live calls handled to procedure."
    )
    form.get_by_role("radio", name="Met", exact=True).first.check()
    with page.expect_navigation(wait_until="load"):
        form.get_by_role("button", name="Record the evidence", exact=False).click()
    assert "Observed two live calls" in page.locator("main").inner_text()
    check_axe(page, "performance evidence page after recording")
    fits_320_css_pixels(page)
    no_console_errors(page)


def test_keyboard_only_answer_and_submit(server, page):
    sub = "a11y-keyboard"
    token = direct_token(server, sub, "Kim Keyboard")
    page.goto(f"{server['base']}/lti/attempt?ls={token}")
    assert page.title().startswith("Before you start")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "start-assessment":
            break
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    assert page.title().startswith("Questions")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "radio":
            break
    else:
        pytest.fail("no radio button reached with the Tab key")
    focus = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
    )
    assert focus[0] != "none" and focus[1] >= 2, focus
    name = page.evaluate("document.activeElement.name")
    values = page.evaluate(f"Array.from(document.getElementsByName('{name}')).map(r => r.value)")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    chosen = page.evaluate("[document.activeElement.value, document.activeElement.checked]")
    assert chosen == [values[1], True]
    for _ in range(300):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "submit-attempt":
            break
    else:
        pytest.fail("the Submit button was not reached with the Tab key")
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    assert page.title().startswith("Check your answers")
    for _ in range(300):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "confirm-submit":
            break
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    assert page.title().startswith("Your result")
    item = name.removeprefix("answer-")
    with server["app"].app_context():
        attempt = db.session().scalar(
            select(Attempt).where(Attempt.learner_ref.endswith(f":{sub}"))
        )
        # Stored with the bank's id; the page showed the attempt's own id for it.
        ids = ChoiceIds(server["app"].config["SECRET_KEY"], attempt.uuid)
        assert attempt.status != "in_progress"
        assert ids.token(item, attempt.responses[item]) == values[1]
    no_console_errors(page)


def test_countdown_announces_at_five_minutes_and_one_minute_only(server, page):
    sub = "a11y-countdown"
    token = direct_token(server, sub, "Chris Countdown")
    url = f"{server['base']}/lti/attempt?ls={token}"
    # The page's clock is Playwright's: it runs on by itself and run_for() moves it on at once,
    # firing the countdown's ticks on the way, instead of the test waiting for real seconds.
    page.clock.install()
    page.goto(url)  # opens the attempt: the start page
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Start the assessment").click()
    watch = (
        "(() => { window.announcements = [];"
        " const live = document.getElementById('countdown-live');"
        " new MutationObserver(() => window.announcements.push(live.textContent))"
        ".observe(live, {childList: true, characterData: true, subtree: true}); })()"
    )
    assert page.get_attribute("#countdown-live", "aria-live") == "polite"

    set_deadline(server, sub, 5 * 60 + 12)  # margin for a slow page load on a busy CI machine
    page.goto(url)
    page.evaluate(watch)
    assert page.inner_text("#countdown") == "5 minutes left"
    page.clock.run_for(20_000)  # past the 5-minute mark, and 20 ticks: one announcement
    announcements = page.evaluate("window.announcements")
    assert len(announcements) == 1 and announcements[0].startswith("5 minutes left")

    set_deadline(server, sub, 63)
    page.goto(url)
    page.evaluate(watch)
    page.clock.run_for(20_000)  # past the 1-minute mark, short of the end
    announcements = page.evaluate("window.announcements")
    assert len(announcements) == 1 and announcements[0].startswith("1 minute left")
    assert page.inner_text("#countdown") == "Less than 1 minute left"
    no_console_errors(page)


def _graded_attempt(server, sub: str, name: str) -> str:
    """A learner whose attempt is submitted (the first option everywhere) and marked, with the
    assessor's feedback; returns their session token. Through the service, so the result page
    is reached whatever the steps before submitting."""
    from service import attempt_access, bank
    from service import attempts as attempt_service

    token = direct_token(server, sub, name)
    with server["app"].app_context():
        session = db.session()
        platform = dev_platform.ensure_registered(session, server["base"])
        learner = attempt_access.lti_learner(platform, sub)
        attempt = attempt_service.start_attempt(
            session, bank.get_assessment(session, ASSESSMENT), learner
        )
        session.commit()
        bodies = [v.body for _i, v in attempt_service.form_items(session, attempt)]
        responses = {}
        for body in bodies:
            kind = body["type"]
            if kind in ("single_choice", "multiple_response"):
                first = body["options"][0]["id"]
                responses[body["id"]] = first if kind == "single_choice" else [first]
            elif kind == "extended_response":
                responses[body["id"]] = "I follow procedure BR1 because it protects the customer."
        attempt_service.submit(session, attempt, responses)
        for body in bodies:
            if body["type"] == "extended_response":
                levels = {f"CSC-01.{c}": "met" for c in body["criteria"]}
                attempt_service.mark(session, attempt, body["id"], levels, marked_by="a11y")
                first = f"CSC-01.{body['criteria'][0]}"
                attempt_service.comment(session, attempt, {first: "Well cited.", None: "Good."})
        session.commit()
    return token


def test_result_session_and_error_pages_pass_axe(server, page):
    base = server["base"]
    # The graded result page: criteria explained, feedback, next steps; also at 320px.
    token = _graded_attempt(server, "a11y-graded", "Grace Graded")
    page.goto(f"{base}/lti/attempt?ls={token}")
    assert page.title().startswith("Your result")
    main = page.locator("main").inner_text()
    assert "What happens next" in main and "Why" in main
    page.get_by_text("What the decisions mean").click()
    check_axe(page, "graded result page")
    fits_320_css_pixels(page)

    # The assessor's session warning, shown because the launch is about to end.
    staff = direct_token(server, "a11y-staff", "Sam Staff", role="staff")
    with server["app"].app_context():
        session = db.session()
        row = session.scalar(
            select(sessions.LtiSession).where(
                sessions.LtiSession.token_hash == sessions.token_hash(staff)
            )
        )
        row.created_at = utcnow() - sessions.STAFF_MAX + timedelta(minutes=5)
        row.expires_at = utcnow() + timedelta(minutes=5)
        session.commit()
    page.goto(f"{base}/lti/assessor?ls={staff}")
    assert page.locator("#session-warning").is_visible()
    check_axe(page, "assessor page with the session warning")
    fits_320_css_pixels(page)
    with server["app"].app_context():
        session = db.session()
        row = session.scalar(
            select(sessions.LtiSession).where(sessions.LtiSession.user_sub == "a11y-staff")
        )
        row.created_at = utcnow()  # the launch may be extended again
        session.commit()
    # Continue with JavaScript: no reload (choices not yet saved stay), a fresh token in the
    # page, the warning gone and the new end announced.
    before = page.evaluate("document.querySelector('.session-renew input[name=ls]').value")
    page.get_by_role("button", name="Continue my session").click()
    page.wait_for_function(
        "() => document.getElementById('session-status').textContent.includes('continues')"
    )
    after = page.evaluate("document.querySelector('.session-renew input[name=ls]').value")
    assert after != before and not page.locator("#session-warning").is_visible()
    assert f"ls={after}" in page.url
    with page.expect_navigation(wait_until="load"):
        # The plain POST is the no-JavaScript path.
        page.evaluate("document.querySelector('.session-renew').submit()")
    assert "Your session continues" in page.locator("main").inner_text()
    check_axe(page, "assessor page after continuing")

    # Marks posted after the session ended are kept (the page saying so).
    with server["app"].app_context():
        session = db.session()
        row = session.scalar(
            select(sessions.LtiSession).where(sessions.LtiSession.user_sub == "a11y-staff")
        )
        row.expires_at = utcnow() - timedelta(minutes=1)
        session.commit()
        ls = page.evaluate("document.querySelector('input[name=ls]').value")
    page.set_content(
        f'<form method="post" action="{base}/lti/assessor/mark">'
        f'<input name="ls" value="{ls}"><input name="attempt" value="x">'
        '<input name="item" value="CSC-01-Q024"><input name="level-CSC-01.AC1" value="met">'
        "<button>Save</button></form>"
    )
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Save").click()
    assert page.title().startswith("Your session ended: your marks are kept")
    check_axe(page, "marks kept page")

    # Error pages: not found, wrong role, expired.
    for url, where in (
        (f"{base}/nothing-here", "not found page"),
        (f"{base}/lti/assessor?ls={token}", "wrong role page"),
        (f"{base}/lti/attempt?ls=expired", "expired page"),
    ):
        page.goto(url)
        check_axe(page, where)
        fits_320_css_pixels(page)
    # Error pages answer 403 and 404, which Chromium logs as failed loads: expected here.
    errors = [e for e in page.console_errors if "Failed to load resource" not in e]
    assert errors == [], errors


def test_the_assessor_list_stacks_at_320_pixels_without_breaking_words(server, page):
    """R7: at 320 CSS pixels the assessor's list shows each attempt as a stacked block, every
    value under its label, no word broken mid-word and nothing scrolling sideways; it is
    still a table to assistive technology (axe, and the column headers in the tree)."""
    # The assessment linked to the course (as the first test does), then Ada's attempt
    # submitted (or as the first test left it) and the instructor's list.
    launch_from_dev_platform(page, server, "Choose an assessment (deep linking, as Ian Instructor)")
    page.get_by_label("CSC-01-A1", exact=False).check()
    with page.expect_navigation(url="**/dev-platform/", wait_until="load"):
        page.get_by_role("button", name="Add to course").click()
    launch_from_dev_platform(page, server, "Launch as learner (Ada Learner)")
    for button in ("Start the assessment", "Check your answers", "Submit your answers"):
        if page.get_by_role("button", name=button).count():
            with page.expect_navigation(wait_until="load"):
                page.get_by_role("button", name=button).click()
    assert page.title().startswith("Your result")
    launch_from_dev_platform(page, server, "Launch as instructor (Ian Instructor)")
    page.set_viewport_size({"width": 320, "height": 640})
    assert "Ada Learner" in page.locator("main").inner_text()
    no_word_broken(page, "main table")
    fits_320_css_pixels(page)
    assert page.locator("main table .cell-label").first.is_visible()
    assert page.get_by_role("columnheader", name="Status").count() == 1
    check_axe(page, "assessor list at 320px")
    page.set_viewport_size({"width": 1024, "height": 800})
    assert not page.locator("main table .cell-label").first.is_visible()  # wide: a table


def test_staff_history_tables_stack_at_320_pixels_without_breaking_words(server, page):
    """R7 for the other wide staff tables (marking history, evidence records, access
    arrangements history): at 320 CSS pixels each row is a stacked block with its labels, no
    word broken mid-word, nothing scrolling sideways; a table still to assistive technology."""
    from datetime import date

    from lti import resource_links
    from service import access_arrangements as arrangements
    from service import attempt_access
    from service import performance_evidence as evidence
    from service.access_vocabulary import SetBy

    _graded_attempt(server, "a11y-tables", "Tabitha Tablewright")  # marked: a history
    staff = direct_token(server, "a11y-tables-staff", "Sam Staff", role="staff")
    with server["app"].app_context():
        session = db.session()
        platform = dev_platform.ensure_registered(session, server["base"])
        learner = attempt_access.lti_learner(platform, "a11y-tables")
        attempt = session.scalar(select(Attempt).where(Attempt.learner_ref == learner.ref))
        # Started from the course activity the staff launch comes from (course scope).
        claims = dev_platform.id_token_claims(
            server["base"], "instructor-1", "LtiResourceLinkRequest", "nonce"
        )
        attempt.lti_resource_link_id = resource_links.remember(session, platform, claims).id
        uuid = attempt.uuid
        new = evidence.NewRecord(
            criterion="CSC-01.AC4",
            evidence_type="professional_discussion",
            evidenced_on=date(2026, 11, 20),
            description="Explained the organisation's complaints procedure thoroughly.",
            decision="met",
            reference="Portfolio section 3",
        )
        evidence.record(session, learner, new, assessor="lti:1:instructor-1")
        change = arrangements.NewArrangement(
            extra_time_percent=25, rest_breaks=True, reason="communication_and_interaction"
        )
        arrangements.set_arrangement(session, learner, None, change, SetBy.API_CLIENT, "client:t")
        session.commit()
    base = f"{server['base']}/lti/assessor/attempt/{uuid}"
    for path, where in (
        ("", "marking page"),
        ("/evidence", "performance evidence page"),
        ("/arrangements", "access arrangements page"),
    ):
        page.set_viewport_size({"width": 1024, "height": 800})
        page.goto(f"{base}{path}?ls={staff}")
        tables = page.locator("main table.stacked-table")
        assert tables.count() >= 1, where
        assert not tables.first.locator(".cell-label").first.is_visible()  # wide: a table
        page.set_viewport_size({"width": 320, "height": 640})
        assert tables.first.locator(".cell-label").first.is_visible(), where
        no_word_broken(page, "main table")
        fits_320_css_pixels(page)
        # Still tables to assistive technology: every column header is in the tree.
        headers = page.locator("main table.stacked-table thead th").count()
        assert page.get_by_role("columnheader").count() == headers > 0, where
        check_axe(page, f"{where} at 320px")
    no_console_errors(page)
