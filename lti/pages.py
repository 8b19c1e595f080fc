"""Pages inside the LMS frame: deep linking (instructors choose an assessment), the learner's
attempt and the assessor's view. Every page carries the launch's session token (`ls`) in its
URL or form, because cookies are often blocked in LMS iframes."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem

from lti import sessions
from lti.models import LtiSession
from lti.tool_conf import DatabaseToolConf
from lti.views import host_url, rejected
from service import bank, db
from service.catalogue import Page

blp = Blueprint("lti_pages", __name__, url_prefix="/lti")


def current_session(role: str | None = None) -> LtiSession:
    """The launch this request belongs to, or a 403 page."""
    token = request.values.get("ls")
    lti_session = sessions.find(db.session(), token)
    if lti_session is None or (role and lti_session.role != role):
        abort(
            rejected(
                "page: missing, expired or wrong-role session token", 403, "This page has expired"
            )
        )
    return lti_session


@blp.get("/deep-link")
def deep_link():
    lti_session = current_session("staff")
    if lti_session.message_type != "LtiDeepLinkingRequest":
        abort(rejected("deep link page opened from a resource launch", 403))
    _total, assessments = bank.list_assessments(db.session(), Page(1, 100))
    by_unit: dict = {}
    for assessment in assessments:
        by_unit.setdefault(assessment.unit, []).append(assessment)
    return render_template("lti/deep_link.html", by_unit=by_unit, ls=request.values["ls"])


@blp.post("/deep-link")
def deep_link_choose():
    lti_session = current_session("staff")
    code = request.form.get("assessment", "")
    assessment = bank.get_assessment(db.session(), code)
    if assessment is None:
        _total, assessments = bank.list_assessments(db.session(), Page(1, 100))
        by_unit: dict = {}
        for item in assessments:
            by_unit.setdefault(item.unit, []).append(item)
        return render_template(
            "lti/deep_link.html",
            by_unit=by_unit,
            ls=request.form.get("ls"),
            error="Choose an assessment.",
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


@blp.get("/attempt")
def attempt():
    current_session("learner")
    return render_template("lti/error.html", title="Attempt page", reference="TODO"), 501


@blp.get("/assessor")
def assessor():
    current_session("staff")
    return render_template("lti/error.html", title="Assessor page", reference="TODO"), 501
