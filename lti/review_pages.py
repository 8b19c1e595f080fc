"""LTI Submission Review 1.0: the platform's gradebook opens one learner's work in the tool
(an LtiSubmissionReviewRequest naming the learner in for_user).

- Staff see that learner's latest attempt in the course activity they came from, on the
  marking page (rubric marks, criterion decisions, comments), within the same course scope as
  the assessor's list: another course's attempt is "not found".
- A learner sees only their own result: a review naming someone else is refused.
"""

from __future__ import annotations

from lti import sessions
from lti.assessor_pages import _course_scope, _marking_page
from lti.learner_pages import _learner, _result_page
from lti.pages import _linked_assessment, _message, _stop, blp, current_session
from service import attempt_access, db
from service import attempts as attempt_service
from service.grading.vocabulary import AttemptStatus


@blp.get("/review")
def review():
    lti_session = current_session()
    if lti_session.message_type != "LtiSubmissionReviewRequest":
        _stop("review page opened from another kind of launch")
    whose = sessions.for_user(lti_session)
    assessment = _linked_assessment(lti_session)
    if assessment is None or whose is None:
        return _not_found()
    session = db.session()
    if lti_session.role == "staff":
        attempt = attempt_access.latest_in_scope(
            session, _course_scope(lti_session), assessment, lti_session.platform_id, whose
        )
        if attempt is None:
            return _not_found()
        return _marking_page(lti_session, attempt)
    if whose != lti_session.user_sub:
        # A learner may review their own work only.
        _stop(
            "review: a learner asked for another user's submission",
            title="You can only see your own work",
        )
    attempt = attempt_access.latest_attempt(session, assessment, _learner(lti_session))
    if attempt is None or attempt.status == AttemptStatus.IN_PROGRESS:
        return _message(
            "Nothing submitted yet",
            [
                "You have not submitted this assessment yet, so there is no result to show.",
                "Open the activity from your course to continue your attempt.",
            ],
        )
    return _result_page(attempt, attempt_service.attempt_view(session, attempt))


def _not_found():
    return _message(
        "Submission not found",
        [
            "This learner has no attempt at the assessment linked to this course activity.",
            "Open the activity from your course to see every learner's attempts.",
        ],
        404,
    )
