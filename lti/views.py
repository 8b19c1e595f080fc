"""LTI 1.3 endpoints: login, launch, JWKS and the configuration to paste into an LMS."""

from __future__ import annotations

import hmac
import logging
import uuid
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from pylti1p3.contrib.flask import FlaskRequest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from lti import (
    keys,
    launch_arrangements,
    page_headers,
    registration,
    resource_links,
    sessions,
    tool_config,
    url_policy,
)
from lti.housekeeping import SWEEP_EVERY
from lti.launch import (
    LTI,
    SUBMISSION_REVIEW,
    LaunchRejected,
    ServiceMessageLaunch,
    browser_hash,
    origin,
)
from lti.login import LOGIN_PARAMETERS, MAX_LOGIN_STATES, LoginRejected, start_login
from lti.models import LtiLoginState
from service import attempt_access, bank, db, errors

log = logging.getLogger(__name__)
blp = Blueprint(
    "lti", __name__, url_prefix="/lti", template_folder="templates", static_folder="static"
)
STATE_COOKIE = "lti-browser-"
# Set by a login that fell back to a new window (+ the state's first 16 characters): only the
# launch knows the message type when the login could not tell (lti/login.py).
NEW_WINDOW_COOKIE = "lti-new-window-"


@blp.after_request
def _page_headers(response):
    return page_headers.lti_page(response)


def host_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"] or request.host_url.rstrip("/")


def launch_url() -> str:
    return host_url() + url_for("lti.launch")


def rejected(
    reason: str,
    status: int = 400,
    title: str = "This launch could not be completed",
    message: str | None = None,
):
    """A clear page with a reference number; the reason goes to the log, not to the page.
    `message` replaces the general advice (open the activity again) where the cause is known."""
    reference = uuid.uuid4().hex[:10].upper()
    log.warning("lti rejected reference=%s reason=%s", reference, reason)
    page = render_template("lti/error.html", title=title, reference=reference, message=message)
    return page, status


def http_error_page(error: HTTPException):
    """Pages inside an LMS frame get a page for an HTTP error (a body over the size limit, NUL
    characters, a wrong method), not the REST API's JSON."""
    title = "This page could not be opened" if error.code != 413 else "What was sent is too large"
    return rejected(f"http {error.code}: {error.description}", error.code, title)


def register_error_pages(blueprint: Blueprint) -> None:
    blueprint.register_error_handler(HTTPException, http_error_page)
    errors.register_for_blueprint(blueprint, errors.database_unavailable_page)


register_error_pages(blp)


def _secure_cookies() -> bool:
    """Whether the tool's cookies are `Secure; SameSite=None; Partitioned`, the only kind a
    browser keeps inside another site's frame. A browser keeps a Secure cookie from a secure
    context: https, or a loopback host even over plain http (browsers treat http://127.0.0.1
    and http://localhost as secure), so the scheme alone does not decide. Elsewhere over
    plain http a Secure cookie would be dropped: a Lax one then works in a new window only.
    LTI_SECURE_COOKIES=0 turns them off (plain-http test clients)."""
    if not current_app.config["LTI_SECURE_COOKIES"]:
        return False
    return request.is_secure or url_policy.browser_treats_as_secure(host_url())


def _set_browser_cookie(response, name: str, secret: str, max_age: int) -> None:
    """The login's state cookie and the launch's session cookie: one rule for both."""
    secure = _secure_cookies()
    response.set_cookie(
        name,
        secret,
        max_age=max_age,
        path="/lti",
        secure=secure,
        httponly=True,
        samesite="None" if secure else "Lax",
        partitioned=secure,
    )


@blp.route("/login", methods=["GET", "POST"])
def login():
    params = request.values
    try:
        started = start_login(
            db.session(),
            params,
            host_url(),
            launch_url(),
            max_states=current_app.config.get("LTI_MAX_LOGIN_STATES", MAX_LOGIN_STATES),
            sweep_every=current_app.config.get("LTI_SWEEP_EVERY", SWEEP_EVERY),
        )
    except LoginRejected as exc:
        return rejected(f"login: {exc.reason}")
    db.session().commit()  # the new login state (and the sweep that came with it)
    if params.get("new_window") or not current_app.config["LTI_COOKIE_CHECK"]:
        response = redirect(started.auth_url, code=302)
    else:
        # A page, not a redirect: it asks /lti/login/check whether the state cookie set here
        # came back (or uses platform storage); otherwise a resource link offers a new window
        # and deep linking, which must answer from the LMS frame, explains what to change.
        passed_on = {k: params[k] for k in LOGIN_PARAMETERS if params.get(k)}
        new_window_url = f"{url_for('lti.login')}?{urlencode({**passed_on, 'new_window': '1'})}"
        response = make_response(
            render_template(
                "lti/login.html",
                started=started,
                new_window_url=new_window_url,
                check_url=url_for("lti.login_check", state=started.state),
                secure_cookies=_secure_cookies(),
                tool_host=urlsplit(host_url()).netloc,
            )
        )
    _set_browser_cookie(response, STATE_COOKIE + started.state[:16], started.browser_secret, 600)
    if params.get("new_window"):
        _set_browser_cookie(response, NEW_WINDOW_COOKIE + started.state[:16], "1", 600)
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/login/check")
def login_check():
    """Whether this request carried the state cookie the login just set for `state`. The login
    page asks by a same-origin fetch from the LMS frame, so the probe is the very cookie the
    launch needs, with its attributes, not a look-alike the browser may treat differently."""
    state = request.args.get("state", "")
    secret = request.cookies.get(STATE_COOKIE + state[:16]) if state else None
    row = db.session().scalar(_state_query(state)) if secret else None
    kept = bool(
        row is not None
        and row.used_at is None
        and hmac.compare_digest(browser_hash(secret), row.browser_hash)
    )
    response = jsonify({"cookie": kept})
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.post("/launch")
def launch():
    state = request.form.get("state", "")
    secret = request.cookies.get(STATE_COOKIE + state[:16])
    if not secret and _posted_by_our_own_page():
        # From our storage page, which read it from LTI platform storage. Only a same-origin
        # post may bind a launch this way, or another site could replay a launch into a victim.
        secret = request.form.get("browser_secret")
    message = ServiceMessageLaunch(FlaskRequest(), db.session(), host_url(), secret)
    try:
        message.validate()
    except LaunchRejected as exc:
        if exc.needs_storage and not request.form.get("browser_secret"):
            row = db.session().scalar(_state_query(state))
            return render_template(
                "lti/storage_fetch.html",
                state=state,
                id_token=request.form.get("id_token", ""),
                storage_target=row.storage_target,
                platform_origin=origin(row.platform.auth_login_url),
            )
        return rejected(f"launch: {exc.reason}")
    # From here the state's use and the nonce (lti/launch.py) are written but not committed:
    # they commit with the launch's session, in one transaction.
    claims = message.get_launch_data()
    if claims[LTI + "message_type"] == "LtiDeepLinkingRequest" and _in_our_new_window(state):
        # Deep linking the login could not recognise, moved to a new window: its answer
        # could not reach the LMS, which waits for it in the frame (Moodle's dialog). Say
        # what to change rather than let the teacher choose in vain. No session starts.
        page = render_template(
            "lti/cookies_needed.html",
            tool_host=urlsplit(host_url()).netloc,
            secure_cookies=_secure_cookies(),
        )
        db.session().commit()  # the state and nonce are used all the same
        return page, 400
    linked_code = None
    if claims[LTI + "message_type"] == SUBMISSION_REVIEW:
        # A review opens work of a course activity launched before: the link is looked up,
        # never rewritten from the review's claims (which need not carry its custom values).
        # A link never launched has no attempts: the review page says there is nothing.
        link = resource_links.find(
            db.session(), message.platform.id, claims[LTI + "resource_link"]["id"]
        )
        linked_code = link.assessment_code if link is not None else None
    else:
        # Where this activity's grades go and whose course it is, committed with the session.
        resource_links.record(db.session(), message.platform, claims)
        _record_arrangements(message.platform, claims)
    duration = sessions.lifetime(current_app.config)
    issued = sessions.start(db.session(), message.platform, claims, duration, linked_code)
    # All the launch wrote, at once: the state's use, the nonce, the resource link, any access
    # arrangements the LMS sent and the session.
    db.session().commit()
    response = redirect(_landing(claims, issued.token), code=303)
    # With the attributes it was set with: a browser keeps a partitioned cookie otherwise.
    secure = _secure_cookies()
    response.delete_cookie(
        STATE_COOKIE + state[:16],
        path="/lti",
        secure=secure,
        httponly=True,
        samesite="None" if secure else "Lax",
        partitioned=secure,
    )
    # Binds the launch to this browser where the frame keeps cookies (lti/sessions.py).
    _set_browser_cookie(
        response,
        sessions.COOKIE + str(issued.session_id),
        issued.browser_secret,
        # As long as any launch can last (the session's own expiry decides before that): a
        # learner's is kept open until their deadline, a staff launch slides with activity.
        int(sessions.LONGEST.total_seconds()),
    )
    return response


def _in_our_new_window(state: str) -> bool:
    """The launch arrived in the window the login's new-window fallback opened: that login set
    NEW_WINDOW_COOKIE, and the browser says this is a top-level page (Sec-Fetch-Dest, sent
    over https and on loopback), not a frame."""
    return bool(
        request.cookies.get(NEW_WINDOW_COOKIE + state[:16])
        and request.headers.get("Sec-Fetch-Dest") == "document"
    )


def _launch_assessment(claims: dict):
    code = (claims.get(LTI + "custom") or {}).get("assessment")
    return bank.get_assessment(db.session(), code) if isinstance(code, str) else None


def _record_arrangements(platform, claims: dict) -> None:
    """A learner's launch may carry access arrangements as custom parameters (per activity or
    per learner): recorded as set by the LMS when they change what applies, in a savepoint
    (the rest of the launch commits with the session)."""
    custom = claims.get(LTI + "custom") or {}
    if not launch_arrangements.named_in(custom):
        return  # nothing to record: no read, no savepoint
    assessment = _launch_assessment(claims)
    if assessment is None or sessions.role_of(claims) != "learner":
        return
    if claims[LTI + "message_type"] != "LtiResourceLinkRequest":
        return
    learner = attempt_access.lti_learner(platform, claims["sub"])
    try:
        with db.session().begin_nested():
            launch_arrangements.record(db.session(), learner, assessment, platform.id, custom)
    except IntegrityError:
        # Another launch of this learner recorded a change at the same moment: theirs stands.
        log.info("lti launch: access arrangements recorded by a simultaneous launch")


def _posted_by_our_own_page() -> bool:
    posted_from = request.headers.get("Origin")
    if posted_from:
        return posted_from == origin(host_url())
    return request.headers.get("Sec-Fetch-Site") == "same-origin"


def _state_query(state: str):
    return select(LtiLoginState).where(LtiLoginState.state == state)


def _landing(claims: dict, token: str) -> str:
    message_type = claims[LTI + "message_type"]
    if message_type == "LtiDeepLinkingRequest":
        return url_for("lti_pages.deep_link", ls=token)
    if message_type == SUBMISSION_REVIEW:
        return url_for("lti_pages.review", ls=token)
    if sessions.role_of(claims) == "staff":
        return url_for("lti_pages.assessor", ls=token)
    return url_for("lti_pages.attempt", ls=token)


@blp.get("/jwks")
def jwks():
    response = jsonify(keys.jwks(db.session()))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blp.get("/config")
def config():
    """What an administrator pastes into Moodle or Canvas to register the tool by hand."""
    return jsonify(tool_config.manual_configuration(tool_urls()))


@blp.get("/config/canvas")
def canvas_config():
    """Canvas's JSON configuration: paste it, or give this URL, in Developer Keys."""
    return jsonify(tool_config.canvas_configuration(tool_urls()))


def tool_urls() -> tool_config.ToolUrls:
    base = host_url()
    return tool_config.ToolUrls(
        login=base + url_for("lti.login"),
        launch=base + url_for("lti.launch"),
        jwks=base + url_for("lti.jwks"),
        logo=base + url_for("lti.logo"),
    )


@blp.get("/register")
def register():
    """The URL an LMS administrator pastes into Moodle or Canvas. The LMS opens it (in a
    frame or window) with openid_configuration and registration_token."""
    config_url = request.args.get("openid_configuration", "")
    # The LMS shows this page in its own frame, before it is a registered platform.
    frame_origin = url_policy.origin(config_url)
    g.frame_origins = [frame_origin] if frame_origin else []
    try:
        registered = registration.register_dynamic(
            db.session(),
            config_url,
            request.args.get("registration_token", ""),
            tool_urls(),
            url_policy.embedded_default(current_app.config),
        )
    except registration.RegistrationError as exc:
        return rejected(f"register: {exc.reason}", exc.status, "The tool could not be registered")
    db.session().commit()
    response = make_response(render_template("lti/registered.html", registered=registered))
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/logo.svg")
def logo():
    """The tool's icon (logo_uri in the registration)."""
    response = make_response(tool_config.LOGO_SVG)
    response.headers["Content-Type"] = "image/svg+xml"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
