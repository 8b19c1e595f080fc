"""Issue 8 in Debian's Chromium: the tool inside another site's frame on plain-http loopback,
as Moodle runs it with `scripts/serve.sh` (the LMS on another site).

The LMS is http://localhost:PORT, the tool http://127.0.0.1:PORT (another site to the
browser). The course page and the platform's authorisation endpoint are stood in for by
Playwright routes (they sign id_tokens with the development platform's key); everything on
127.0.0.1, and the platform's JWKS and deep-linking return, is the real server, so the
tool's cookies are set and sent by the browser itself, partitioned under localhost.
"""

from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from lti import dev_platform
from service import db
from tests.browser_fixtures import ASSESSMENT, CHROMIUM, CHROMIUM_ARGS, WCAG_TAGS

DEEP_LINKING = "LtiDeepLinkingRequest"
RESOURCE = "LtiResourceLinkRequest"


@pytest.fixture(scope="module")
def sites(server):
    """The two sites and the platform registered on the LMS's one."""
    port = urlsplit(server["base"]).port
    lms, tool = f"http://localhost:{port}", f"http://127.0.0.1:{port}"
    with server["app"].app_context():
        dev_platform.ensure_registered(db.session(), lms)
    return {"app": server["app"], "lms": lms, "tool": tool}


def login_url(sites, user: str, message: str) -> str:
    """The third-party-initiated login the LMS's course page frames (Moodle posts it; a GET
    is the same to the tool)."""
    target = f"{sites['tool']}/lti/launch"
    if message == "deep_link":
        target += "?message=deep-linking"  # what the tool registers for deep linking
    query = {
        "iss": dev_platform.issuer(sites["lms"]),
        "login_hint": user,
        "target_link_uri": target,
        "lti_message_hint": json.dumps({"user": user, "message": message}),
        "client_id": dev_platform.CLIENT_ID,
        "lti_deployment_id": dev_platform.DEPLOYMENT_ID,
    }
    return f"{sites['tool']}/lti/login?{urlencode(query)}"


def stand_in_for_the_lms(context, sites) -> None:
    """The course page (a frame around the tool) and the platform's authorisation endpoint,
    which posts a signed id_token back to the tool from the frame, as Moodle's auth.php."""
    lms = sites["lms"]

    def course_page(route):
        src = html.escape(parse_qs(urlsplit(route.request.url).query)["frame"][0])
        body = (
            "<!doctype html><html lang='en'><head><title>Course</title></head><body>"
            f"<iframe name='tool' title='Tool' src='{src}' width='900' height='700'></iframe>"
            "</body></html>"
        )
        route.fulfill(status=200, content_type="text/html", body=body)

    def authorise(route):
        query = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        hint = json.loads(query["lti_message_hint"])
        deep_linking = hint["message"] == "deep_link"
        target = f"{sites['tool']}/lti/launch" + ("?message=deep-linking" if deep_linking else "")
        claims = dev_platform.id_token_claims(
            lms,
            hint["user"],
            DEEP_LINKING if deep_linking else RESOURCE,
            query["nonce"],
            custom=None if deep_linking else {"assessment": ASSESSMENT},
            target_link_uri=target,
        )
        with sites["app"].app_context():
            token = dev_platform.sign(db.session(), claims)
        body = (
            "<!doctype html><html lang='en'><head><title>Launching</title></head><body>"
            f"<form method='post' action='{html.escape(query['redirect_uri'])}'>"
            f"<input type='hidden' name='id_token' value='{token}'>"
            f"<input type='hidden' name='state' value='{html.escape(query['state'])}'>"
            "</form><script>document.forms[0].submit()</script></body></html>"
        )
        route.fulfill(status=200, content_type="text/html", body=body)

    context.route(f"{lms}/course*", course_page)
    context.route(f"{lms}/dev-platform/auth*", authorise)


def open_in_course(page, sites, user: str, message: str):
    page.goto(f"{sites['lms']}/course?{urlencode({'frame': login_url(sites, user, message)})}")
    return page.frame_locator("iframe[name=tool]")


# The course page and the authorisation page are fulfilled by routes, so they have no network
# address: Chromium's Local Network Access check then counts them as public and blocks their
# frames and posts to 127.0.0.1 (a real Moodle on loopback is not affected). Only that check
# is switched off; cookie handling is Chromium's own.
LMS_ARGS = [*CHROMIUM_ARGS, "--disable-features=LocalNetworkAccessChecks"]


@pytest.fixture(scope="module")
def lms_browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=LMS_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def lms_page(lms_browser, sites):
    """Chromium as it comes: its own third-party cookie handling, no routes on the tool."""
    context = lms_browser.new_context(locale="en-GB")
    stand_in_for_the_lms(context, sites)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def test_learner_launch_and_deep_linking_complete_in_a_cross_site_frame(lms_page, sites):
    """The login's check passes (the partitioned state cookie came back), and both flows end
    inside the frame: deep linking hands its answer to the platform from the frame, and the
    learner's attempt opens there."""
    page = lms_page
    frame = open_in_course(page, sites, "instructor-1", "deep_link")
    frame.get_by_label(re.compile(rf"^{ASSESSMENT}")).check()
    frame.get_by_role("button", name="Add to course").click()
    # The platform's return page, inside the frame: it kept the link the tool sent.
    frame.get_by_role("heading", name="Development test platform").wait_for()
    assert ASSESSMENT in frame.locator("main").inner_text()
    tool_frame = page.frame(name="tool")
    assert tool_frame.url.startswith(f"{sites['lms']}/dev-platform/")
    assert page.url.startswith(f"{sites['lms']}/course")  # the course page never left

    frame = open_in_course(page, sites, "learner-1", "resource")
    frame.get_by_role("button", name="Start the assessment").click()
    frame.get_by_role("button", name="Check your answers").wait_for()
    assert re.match(rf"^{re.escape(sites['tool'])}/lti/attempt\?ls=", page.frame(name="tool").url)
    assert frame.locator("fieldset").count() >= 8
    assert not frame.get_by_text("blocking").count()
    # The cookies the tool set are partitioned under the LMS's site.
    cookies = {c["name"]: c for c in page.context.cookies() if c["domain"] == "127.0.0.1"}
    sessions = [c for name, c in cookies.items() if name.startswith("lti-session-")]
    assert sessions and all(c.get("partitionKey") == "http://localhost" for c in sessions)
    # The launches used up their state cookies, and deleting them took (partitioned too).
    assert not [name for name in cookies if name.startswith("lti-browser-")], cookies
    # What the old check tested, a plain cookie set from the frame: Chromium refuses it here,
    # which is why the page stopped at "blocking" while the real cookie worked.
    plain_probe_kept = page.frame(name="tool").evaluate(
        "() => { document.cookie = 'lti-probe=1; path=/lti; max-age=60';"
        " return document.cookie.indexOf('lti-probe=1') !== -1; }"
    )
    assert plain_probe_kept is False


@pytest.fixture()
def blocking_page(lms_browser, sites, tmp_path):
    """Chromium with cookies really blocked (the profile's cookie setting: block), which
    refuses the tool's cookie in the frame, partitioned or not."""
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    preferences = {"profile": {"default_content_setting_values": {"cookies": 2}}}
    (profile / "Default" / "Preferences").write_text(json.dumps(preferences))
    # The same Playwright as lms_browser's (one sync Playwright at a time).
    context = lms_browser.browser_type.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), args=LMS_ARGS, headless=True
    )
    stand_in_for_the_lms(context, sites)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        yield page
    finally:
        context.close()


def test_deep_linking_with_cookies_blocked_explains_instead_of_a_new_window(blocking_page, sites):
    frame = open_in_course(blocking_page, sites, "instructor-1", "deep_link")
    help_text = frame.locator("#lti-cookies-needed")
    help_text.wait_for(state="visible")
    text = help_text.inner_text()
    assert "allow third-party cookies for 127.0.0.1" in text.lower()
    assert "https" in text
    assert not frame.get_by_role("link", name=re.compile("new window")).count()
    # It stayed on the tool's login page: no launch went ahead without the cookie.
    assert "/lti/login?" in blocking_page.frame(name="tool").url

    # A learner's launch, by contrast, may move: the same browser is offered a new window.
    frame = open_in_course(blocking_page, sites, "learner-1", "resource")
    frame.get_by_role("link", name=re.compile("new window")).wait_for()
    assert not frame.locator("#lti-cookies-needed").count()

    # The explanation passes axe (WCAG 2.2 AA), here opened on its own (cookies are blocked
    # at the top level too, so it shows the same way).
    from axe_playwright_python.sync_playwright import Axe

    blocking_page.goto(login_url(sites, "instructor-1", "deep_link"))
    blocking_page.locator("#lti-cookies-needed").wait_for(state="visible")
    results = Axe().run(blocking_page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    assert results.violations_count == 0, results.generate_report()
