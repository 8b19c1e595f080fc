"""LTI Submission Review (AGS 2.0 §6): a click on a learner's grade in the platform's
gradebook launches the tool with `LtiSubmissionReviewRequest` and `for_user`, the learner whose
work to show. Staff get that learner's attempt in the course activity they launched from (the
marking page, with the rubric marks, criterion decisions and history); a learner gets their own
result, and never another learner's."""

from __future__ import annotations

from flask import redirect, request, url_for
from sqlalchemy import select

from lti import resource_links
from lti.launch import FOR_USER
from lti.pages import _message, _stop, blp, current_session
from service import db
from service.models import Attempt


def _latest_attempt_at_link(lti_session, learner_sub: str) -> Attempt | None:
    link = resource_links.find(db.session(), lti_session.platform_id, lti_session.resource_link_id)
    if link is None:
        return None
    return db.session().scalar(
        select(Attempt)
        .where(
            Attempt.lti_resource_link_id == link.id,
            Attempt.lti_platform_id == lti_session.platform_id,
            Attempt.lti_sub == learner_sub,
        )
        .order_by(Attempt.id.desc())
        .limit(1)
    )


@blp.get("/review")
def review():
    lti_session = current_session()
    if lti_session.message_type != "LtiSubmissionReviewRequest":
        _stop("review page opened from another kind of launch")
    learner_sub = (lti_session.claims.get(FOR_USER) or {}).get("user_id")
    ls = request.values["ls"]
    if lti_session.role == "learner":
        if learner_sub != lti_session.user_sub:
            _stop("a learner asked to review another learner's work")
        return redirect(url_for(".attempt", ls=ls), code=303)
    attempt = _latest_attempt_at_link(lti_session, learner_sub)
    if attempt is None:
        return _message(
            "No attempt to review",
            [
                "This learner has not started the assessment linked to this activity, so there "
                "is no work to review yet.",
            ],
        )
    return redirect(url_for(".assessor_attempt", attempt_uuid=attempt.uuid, ls=ls), code=303)
