"""LTI Submission Review 1.0: the platform's gradebook opens one learner's work in the tool
(an LtiSubmissionReviewRequest naming the learner in for_user).

- Staff go to that learner's latest attempt in the course activity they came from, on the
  marking page (rubric marks, criterion decisions, comments, history), within the assessor
  pages' course scope: another course's attempt is not found.
- A learner goes to their own result: a review naming someone else is refused.
"""

from __future__ import annotations

from flask import redirect, request, url_for

from lti import sessions
from lti.assessor_pages import _course_scope
from lti.learner_pages import _learner
from lti.pages import _linked_assessment, _message, _stop, blp, current_session
from service import attempt_access, db


@blp.get("/review")
def review():
    lti_session = current_session()
    if lti_session.message_type != "LtiSubmissionReviewRequest":
        _stop("review page opened from another kind of launch")
    whose = sessions.for_user(lti_session)
    assessment = _linked_assessment(lti_session)
    ls = request.values["ls"]
    if lti_session.role == "learner":
        if whose != lti_session.user_sub:
            # A learner may review their own work only.
            _stop(
                "review: a learner asked for another user's submission",
                title="You can only see your own work",
            )
        own = (
            attempt_access.latest_attempt(db.session(), assessment, _learner(lti_session))
            if assessment is not None
            else None
        )
        # Never start an attempt from a review: there is nothing to show yet.
        if own is None:
            return _nothing_to_review("You have not started this assessment yet.")
        return redirect(url_for(".attempt", ls=ls), code=303)
    attempt = None
    if assessment is not None and whose is not None:
        attempt = attempt_access.latest_in_scope(
            db.session(), _course_scope(lti_session), assessment, lti_session.platform_id, whose
        )
    if attempt is None:
        return _nothing_to_review(
            "This learner has not started the assessment linked to this activity, so there is "
            "no work to review yet."
        )
    return redirect(url_for(".assessor_attempt", attempt_uuid=attempt.uuid, ls=ls), code=303)


def _nothing_to_review(why: str):
    return _message("No attempt to review", [why])
