"""Pages inside the LMS frame: the blueprint, what every page shares (the session token, time
and words), and deep linking (instructors choose an assessment). The learner's pages are in
lti/learner_pages.py, the assessor's in lti/assessor_pages.py. Every page carries the launch's
session token (`ls`) in its URL or form, because cookies are often blocked in LMS iframes."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem

from lti import page_headers, sessions
from lti.models import LtiSession
from lti.page_words import (  # noqa: F401 (the page modules import them from here)
    DECISION_WORDS,
    GRADE_WORDS,
    QUALITY_WORDS,
    STAFF_DECISION_WORDS,
    STATUS_WORDS,
    scenario_value,
)
from lti.tool_conf import DatabaseToolConf
from lti.views import host_url, register_error_pages, rejected
from service import bank, db
from service.catalogue import Page
from service.models import Assessment

blp = Blueprint("lti_pages", __name__, url_prefix="/lti")
register_error_pages(blp)

# Learners and assessors are in the UK: times are shown in UK time (UTC without a tz database).
try:
    LOCAL_TIME: ZoneInfo | None = ZoneInfo("Europe/London")
    LOCAL_TIME_NAME = "UK time"
except ZoneInfoNotFoundError:
    LOCAL_TIME, LOCAL_TIME_NAME = None, "UTC"

SCENARIO_LABELS = {
    "channel": "Channel",
    "customer": "Customer",
    "need": "What they need",
    "vulnerability": "Vulnerability",
    "accessibility_need": "Accessibility need",
    "rule": "Rules and procedures",
    "situation": "Situation",
}
# The words for stored values live in lti/page_words.py (imported here for the page modules).
blp.add_app_template_global(scenario_value, "scenario_value")


# ---------------------------------------------------------------------------- common


EXPIRED_MESSAGE = (
    "For your security, this page stops working when it has not been used for a while, or "
    "when its address is opened somewhere else. Nothing you saved is lost. Go back to your "
    "course page and open the activity again to carry on. If it happens again, tell your tutor "
    "or the college's LMS administrator and give them this reference:"
)
WRONG_ROLE = {
    "staff": (
        "This page is for assessors",
        "Your course page opened this activity for you as a learner, so the assessor's pages "
        "are not available to you. Go back to your course page and open the activity to see "
        "your own assessment. If you are an assessor, ask the college's LMS administrator to "
        "give you the teacher role in this course, and quote this reference:",
    ),
    "learner": (
        "This page is for learners",
        "Your course page opened this activity for you as a teacher or assessor, so the "
        "learner's pages are not available to you. Go back to your course page and open the "
        "activity again to see your learners' attempts. If it happens again, give the college's "
        "LMS administrator this reference:",
    ),
}


def _stop(
    reason: str,
    status: int = 403,
    title: str = "This page has expired",
    message: str | None = None,
):
    abort(make_response(rejected(reason, status, title, message)))


def current_session(role: str | None = None) -> LtiSession:
    """The launch this request belongs to, or a 403 page. A full page load with a token due
    for rotation is redirected to the same page with a fresh token (lti/sessions.py)."""
    token = request.values.get("ls")
    session = db.session()
    lti_session = sessions.find(session, token)
    if lti_session is None:
        _stop("page: missing or expired session token", message=EXPIRED_MESSAGE)
    if role and lti_session.role != role:
        title, message = WRONG_ROLE[role]
        _stop(f"page: a {lti_session.role} session on a {role} page", 403, title, message)
    cookie = request.cookies.get(sessions.COOKIE + str(lti_session.id))
    writes = request.method == "POST"
    if not sessions.browser_allowed(session, lti_session, cookie, record_seen=writes):
        _stop("page: session token used from another browser", message=EXPIRED_MESSAGE)
    g.lti_session = lti_session  # its platform may frame the page (lti/page_headers.py)
    config = current_app.config
    # A staff launch slides with activity (lti/session_pages.py warns before it ends): kept
    # whether or not the view goes on to write.
    if sessions.extend(lti_session, config["LTI_SESSION_MINUTES"]):
        session.commit()
    every = timedelta(minutes=config["LTI_SESSION_ROTATE_MINUTES"])
    if request.method == "GET" and sessions.due_for_rotation(lti_session, token, every):
        overlap = timedelta(minutes=config["LTI_SESSION_OVERLAP_MINUTES"])
        fresh = sessions.rotate(session, lti_session, token, overlap)
        session.commit()
        if fresh:
            query = request.args.to_dict(flat=False)
            query["ls"] = [fresh]
            abort(redirect(f"{request.path}?{urlencode(query, doseq=True)}", code=303))
    return lti_session


@blp.after_request
def _no_store(response):
    # Pages carry the session token and personal answers: never cache them.
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return page_headers.lti_page(response)


def _page(template: str, status: int = 200, **context):
    return make_response(render_template(template, **context), status)


def _message(title: str, paragraphs: list[str], status: int = 200):
    return _page("lti/message.html", status, title=title, paragraphs=paragraphs)


def _local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_TIME) if LOCAL_TIME else moment


def _clock(moment: datetime) -> str:
    return _local(moment).strftime("%H:%M")


def _date_words(moment: datetime) -> str:
    local = _local(moment)
    return f"{local:%A} {local.day} {local:%B %Y}"


def _number(value: float | None) -> str:
    if value is None:
        return "0"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and "application/json" in request.accept_mimetypes


# ---------------------------------------------------------------------------- deep linking


def _assessments_by_unit() -> dict:
    _total, assessments = bank.list_assessments(db.session(), Page(1, 100))
    by_unit: dict = {}
    for assessment in assessments:
        by_unit.setdefault(assessment.unit, []).append(assessment)
    return by_unit


@blp.get("/deep-link")
def deep_link():
    lti_session = current_session("staff")
    if lti_session.message_type != "LtiDeepLinkingRequest":
        _stop("deep link page opened from a resource launch")
    by_unit = _assessments_by_unit()
    return render_template(
        "lti/deep_link.html", by_unit=by_unit, ls=request.values["ls"], first_code=_first(by_unit)
    )


def _first(by_unit: dict) -> str:
    """The first assessment's code: where the error summary's link moves focus."""
    return next((a.code for assessments in by_unit.values() for a in assessments), "")


@blp.post("/deep-link")
def deep_link_choose():
    lti_session = current_session("staff")
    if lti_session.message_type != "LtiDeepLinkingRequest":
        _stop("deep link posted from a resource launch")
    code = request.form.get("assessment", "")
    assessment = bank.get_assessment(db.session(), code)
    if assessment is None:
        by_unit = _assessments_by_unit()
        return render_template(
            "lti/deep_link.html",
            by_unit=by_unit,
            ls=request.form.get("ls"),
            error="Choose an assessment to add to your course",
            first_code=_first(by_unit),
        ), 422
    settings = lti_session.claims[sessions.DEEP_LINKING]
    platform = lti_session.platform
    registration = DatabaseToolConf(db.session()).registration(platform)
    line_item = (
        LineItem()
        .set_label(f"{assessment.code}: {assessment.title}")
        .set_score_maximum(100)
        .set_resource_id(assessment.code)
        .set_tag("assessment")
        # The gradebook may open a learner's submitted or marked work in the tool
        # (LTI Submission Review 1.0); the review launch goes to the tool's launch URL.
        .set_submission_review(["Submitted", "Completed"])
    )
    resource = (
        DeepLinkResource()
        .set_url(host_url() + url_for("lti.launch"))
        .set_title(f"{assessment.code}: {assessment.title}")
        .set_lineitem(line_item)
        .set_custom_params({"assessment": assessment.code})
    )
    jwt_value = DeepLink(registration, lti_session.deployment_id, settings).get_response_jwt(
        [resource]
    )
    return render_template(
        "lti/deep_link_return.html",
        jwt=jwt_value,
        return_url=settings["deep_link_return_url"],
        assessment=assessment,
    )


def _linked_assessment(lti_session: LtiSession) -> Assessment | None:
    code = lti_session.assessment_code
    return bank.get_assessment(db.session(), code) if code else None
