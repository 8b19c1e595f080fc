"""The learner's exam in a real browser (Debian's Chromium, Playwright), keyboard only: extra
time and a rest break move the deadline, then check your answers, confirm, result; axe-core
(WCAG 2.2 A and AA) on the start, attempt, break and check-your-answers pages. The same flow
runs with JavaScript off: every step is a plain form."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from lti import dev_platform
from lti.models import LtiPlatform
from service import access_arrangements as arrangements
from service import db
from service.access_vocabulary import SetBy
from service.attempt_access import Learner
from service.choice_ids import ChoiceIds
from service.models import Attempt
from tests.test_accessibility import (
    check_axe,
    direct_token,
    fits_320_css_pixels,
    no_console_errors,
)

EXTRA_MINUTES = 10
BREAK = timedelta(minutes=3)


def _tab_to(page, element_id: str, presses: int = 400) -> None:
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    pytest.fail(f"#{element_id} was not reached with the Tab key")


def _press_enter_on(page, element_id: str) -> None:
    _tab_to(page, element_id)
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")


def _arrange(server, sub: str) -> None:
    """Extra time and rest breaks, as a centre's system records them (the API's domain call)."""
    with server["app"].app_context():
        session = db.session()
        platform = session.scalar(
            select(LtiPlatform).where(LtiPlatform.issuer == dev_platform.issuer(server["base"]))
        )
        learner = Learner(f"lti:{platform.id}:{sub}", platform.centre_id)
        new = arrangements.NewArrangement(extra_time_minutes=EXTRA_MINUTES, rest_breaks=True)
        arrangements.set_arrangement(session, learner, None, new, SetBy.API_CLIENT, "client:t")
        session.commit()


def _attempt(server, sub: str) -> SimpleNamespace | None:
    with server["app"].app_context():
        session = db.session()
        attempt = session.scalar(select(Attempt).where(Attempt.learner_ref.endswith(f":{sub}")))
        if attempt is None:
            return None
        return SimpleNamespace(
            id=attempt.id,
            status=attempt.status,
            started_at=attempt.started_at,
            deadline=attempt.deadline,
            limit=timedelta(minutes=attempt.assessment.time_limit_minutes),
        )


def _shift(server, sub: str) -> None:
    """Make the attempt started 10 minutes ago and its open break 3 minutes long so far (a
    test cannot wait for minutes)."""
    with server["app"].app_context():
        session = db.session()
        attempt = session.scalar(select(Attempt).where(Attempt.learner_ref.endswith(f":{sub}")))
        attempt.started_at -= timedelta(minutes=10)
        attempt.deadline -= timedelta(minutes=10)
        attempt.rest_breaks[0].started_at -= BREAK
        session.commit()


def _exam(server, page, sub: str, name: str, axe: bool) -> None:
    token = direct_token(server, sub, name)
    _arrange(server, sub)
    page.goto(f"{server['base']}/lti/attempt?ls={token}")
    assert page.title().startswith("Before you start")
    assert _attempt(server, sub) is None  # opening creates no attempt: Start does
    if axe:
        check_axe(page, "start page")
        fits_320_css_pixels(page)
    _press_enter_on(page, "start-assessment")
    assert page.title().startswith("Questions")
    started = _attempt(server, sub)
    limit = started.limit
    assert started.deadline - started.started_at == limit + timedelta(minutes=EXTRA_MINUTES)
    assert page.locator("#countdown").is_visible()
    if axe:
        check_axe(page, "attempt page")
        fits_320_css_pixels(page)

    # A rest break: the questions are hidden, the clock stopped.
    _press_enter_on(page, "take-break")
    assert page.title().startswith("Rest break")
    assert page.locator("fieldset.question").count() == 0
    if axe:
        check_axe(page, "rest break page")
        fits_320_css_pixels(page)
    _shift(server, sub)
    _press_enter_on(page, "end-break")
    assert page.title().startswith("Questions")
    after = _attempt(server, sub)
    moved = after.deadline - (after.started_at + limit + timedelta(minutes=EXTRA_MINUTES))
    assert BREAK <= moved < BREAK + timedelta(seconds=30), moved

    # Answer the first question with the keyboard, then check your answers.
    for _ in range(200):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "radio":
            break
    else:
        pytest.fail("no radio button reached with the Tab key")
    page.keyboard.press("Space")
    chosen = page.evaluate("[document.activeElement.name, document.activeElement.value]")
    _press_enter_on(page, "submit-attempt")
    assert page.title().startswith("Check your answers")
    rows = page.locator("dl.check-answers > div")
    assert rows.count() == page.locator("dl.check-answers a").count() >= 2
    assert "Not answered" in page.locator("main").inner_text()
    if axe:
        check_axe(page, "check your answers page")
        fits_320_css_pixels(page)
    _press_enter_on(page, "confirm-submit")
    assert page.title().startswith("Your result")
    done = _attempt(server, sub)
    assert done.status != "in_progress"
    item = chosen[0].removeprefix("answer-")
    with server["app"].app_context():
        row = db.session().get(Attempt, done.id)
        # Stored with the bank's id; the page showed the attempt's own id for it.
        ids = ChoiceIds(server["app"].config["SECRET_KEY"], row.uuid)
        assert ids.token(item, row.responses[item]) == chosen[1]


def test_keyboard_only_exam_with_extra_time_and_a_rest_break(server, page):
    _exam(server, page, "exam-keyboard", "Kit Keyboard", axe=True)
    no_console_errors(page)


def test_the_same_exam_with_javascript_off(server, browser):
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        _exam(server, page, "exam-no-js", "Nia NoScript", axe=False)
    finally:
        context.close()


# ---------------------------------------------------------------------------- polish (issue 10)


def _started(server, page, sub: str, name: str) -> None:
    token = direct_token(server, sub, name)
    page.goto(f"{server['base']}/lti/attempt?ls={token}")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Start the assessment").click()
    assert page.title().startswith("Questions")


def _last_single_choice(page):
    """The last question answered with radios (far down the page: its legend is out of view
    when the page opens at the top)."""
    question = page.locator("fieldset.question:has(input[type=radio])").last
    return question, question.get_attribute("id")


def _legend_in_view(page, question_id: str) -> bool:
    """The question's legend is on screen, below the sticky time line."""
    return page.evaluate(
        """(id) => {
            const legend = document.querySelector('#' + id + ' > legend').getBoundingClientRect();
            const timer = document.getElementById('exam-timer').getBoundingClientRect();
            return legend.top >= timer.bottom - 1 && legend.bottom <= window.innerHeight;
        }""",
        question_id,
    )


def _forged_answer_saved(page, question) -> None:
    """Answer with a choice id the attempt never showed (a stale or forged form) and Save: the
    page comes back with an error summary linking to that question."""
    radio = question.locator("input[type=radio]").first
    radio.evaluate("r => { r.value = 'not-a-choice'; }")
    radio.check()


def test_error_summary_link_brings_the_question_into_view(server, page):
    """A12: the error summary's link shows the question (legend and prompt), with the focus on
    its first control, not a control with the legend scrolled away above it."""
    _started(server, page, "exam-a12", "Ann Summary")
    question, question_id = _last_single_choice(page)
    _forged_answer_saved(page, question)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Save answers").click()
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    link = summary.locator("a").first
    assert link.get_attribute("href") == f"#{question_id}"
    link.click()
    page.wait_for_function(f"() => location.hash === '#{question_id}'")
    assert page.evaluate("document.activeElement.type") == "radio"
    assert page.evaluate("document.activeElement.closest('fieldset').id") == question_id
    assert _legend_in_view(page, question_id)
    no_console_errors(page)


def test_error_summary_link_without_javascript(server, browser):
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        _started(server, page, "exam-a12-nojs", "Nat Summary")
        question, question_id = _last_single_choice(page)
        _forged_answer_saved(page, question)
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("button", name="Save answers").click()
        link = page.locator(".error-summary a").first
        assert link.get_attribute("href") == f"#{question_id}"
        link.click()
        assert page.url.endswith(f"#{question_id}")
        assert _legend_in_view(page, question_id)
        # Without JavaScript nothing is saved as you go: no "not saved yet" anywhere.
        assert (
            page.locator(".question-save-state").all_inner_texts()
            == [""] * 2 * page.locator("fieldset.question").count()
        )
    finally:
        context.close()


def test_each_question_says_when_its_answer_is_not_saved_yet(server, page):
    """With JavaScript, a question whose answer changed and is not saved yet says so in a
    polite status of its own; the autosave clears it. An answer the save refused keeps it,
    with the reason."""
    _started(server, page, "exam-unsaved", "Una Saved")
    written = page.locator("fieldset.question:has(textarea)").first
    code = written.locator("input[type=hidden][name^='item-']").get_attribute("name")[5:]
    state = page.locator(f"#save-state-{code}")
    assert state.get_attribute("role") == "status" and state.inner_text() == ""
    written.locator("textarea").press_sequentially("A first sentence", delay=20)
    page.wait_for_function(
        f"() => document.getElementById('save-state-{code}').textContent.includes('not saved yet')"
    )
    assert state.inner_text().startswith("Question ")
    page.wait_for_function(
        "() => document.getElementById('save-status').textContent.includes('saved automatically')"
    )
    page.wait_for_function(f"() => document.getElementById('save-state-{code}').textContent === ''")
    # A choice saved at once says nothing; one the save refused says why.
    question, _question_id = _last_single_choice(page)
    refused = question.locator("input[type=hidden][name^='item-']").get_attribute("name")[5:]
    _forged_answer_saved(page, question)
    page.wait_for_function(
        f"() => document.getElementById('save-refused-{refused}')"
        ".textContent.includes('not saved yet: this answer does not fit')"
    )
    # The time left is also beside the buttons (server-rendered, counted down by the script).
    beside = page.locator("#actions-time").inner_text()
    assert beside.startswith("Time left: ") and "minutes" in beside
    no_console_errors(page)


# Live regions (explicit or implied by the role) whose text a screen reader announces.
LIVE_REGIONS_SAYING = """(words) => Array.from(document.querySelectorAll(
    '[role=status], [role=alert], [role=log], [aria-live=polite], [aria-live=assertive]'
  )).filter(e => e.getAttribute('aria-live') !== 'off' && e.textContent.includes(words))
    .map(e => e.id || e.className)"""


def test_a_refused_save_is_announced_once(server, page):
    """A refused answer is announced by one live region (the overall save status), not also
    by the question's own status; the question still shows why, where the learner answers."""
    _started(server, page, "exam-once", "Ona Once")
    question, _question_id = _last_single_choice(page)
    code = question.locator("input[type=hidden][name^='item-']").get_attribute("name")[5:]
    _forged_answer_saved(page, question)
    page.wait_for_function(
        "() => document.getElementById('save-status').textContent.includes('Not saved yet')"
    )
    page.wait_for_function(
        f"() => document.getElementById('save-refused-{code}').textContent.includes('not fit')"
    )
    assert page.evaluate(LIVE_REGIONS_SAYING, "does not fit") == ["save-status"]
    assert question.locator(f"#save-refused-{code}").is_visible()
    # A new answer to the question takes the refusal away: it was of the old answer.
    question.locator("input[type=radio]").nth(1).check()
    page.wait_for_function(
        f"() => document.getElementById('save-refused-{code}').textContent === ''"
    )
    # and the autosave of it (no request left in flight when the test ends).
    page.wait_for_function(
        "() => !document.getElementById('save-status').textContent.includes('Not saved yet')"
    )
    no_console_errors(page)


def test_scenarios_are_not_landmarks_with_the_same_name(server, page):
    """A9: axe's landmark-unique (best practice) on the questions page."""
    from axe_playwright_python.sync_playwright import Axe

    _started(server, page, "exam-a9", "Lee Landmark")
    assert page.locator(".scenario").count() >= 2
    rules = ["landmark-unique", "region"]
    results = Axe().run(page, options={"runOnly": {"type": "rule", "values": rules}})
    assert results.violations_count == 0, results.generate_report()
