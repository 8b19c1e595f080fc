"""Access arrangements in the LTI tool: custom launch parameters recorded as set by the LMS, and
the assessor's page to see and change a learner's arrangements (the change moves the deadline
of the attempt in progress at once). Through HTTP with launches signed by the development
platform."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from lti.models import LtiSession
from service import bank, db
from service.models import AccessArrangement, Attempt
from tests.test_assessor_course import (
    ASSESSMENT,
    LTI,
    _course,
    _doc,
    _launch,
    _post,
    lti_client,  # noqa: F401 - fixture
)

_numbers = iter(range(1, 10_000))


def _custom(**values):
    def mutate(claims):
        claims[LTI + "custom"].update(values)

    return mutate


def _rows(app, sub):
    with app.app_context():
        return list(
            db.session().scalars(
                select(AccessArrangement)
                .where(AccessArrangement.learner_ref.endswith(f":{sub}"))
                .order_by(AccessArrangement.id)
            )
        )


def _attempt(app, sub) -> Attempt:
    with app.app_context():
        session = db.session()
        attempt = session.scalar(select(Attempt).where(Attempt.lti_sub == sub))
        session.expunge(attempt)
        return attempt


def _assessment_id(app) -> int:
    with app.app_context():
        return bank.get_assessment(db.session(), ASSESSMENT).id


def _limit(app) -> int:
    with app.app_context():
        return bank.get_assessment(db.session(), ASSESSMENT).time_limit_minutes


def _learner_launch(app, client, course, sub, **custom):
    return _launch(
        app,
        client,
        "learner-1",
        course,
        sub=sub,
        name=f"Learner {sub}",
        nrps=False,
        mutate=_custom(**custom),
    )


def test_custom_launch_parameters_become_arrangements_set_by_the_lms(app, lti_client, caplog):  # noqa: F811
    course = _course("aa-lms")
    sub = f"aa-lms-learner-{next(_numbers)}"
    _path, ls = _learner_launch(
        app, lti_client, course, sub, extra_time_percent="25", rest_breaks="true"
    )
    (row,) = _rows(app, sub)
    assert row.set_by_kind == "lms" and row.set_by.startswith("lms:")
    assert (row.extra_time_percent, row.rest_breaks) == (25, True)
    assert row.assessment_id == _assessment_id(app) and row.reason is None

    # Opening the activity starts the clock (until the start page lands): with the extra time.
    assert lti_client.get("/lti/attempt", query_string={"ls": ls}).status_code == 200
    attempt = _attempt(app, sub)
    assert attempt.deadline == attempt.started_at + timedelta(minutes=_limit(app) * 1.25)
    # The launch lasts long enough for the extra time and breaks.
    with app.app_context():
        session_row = db.session().scalar(
            select(LtiSession).where(LtiSession.user_sub == sub).order_by(LtiSession.id.desc())
        )
        lasts = session_row.expires_at - session_row.token_issued_at
    assert lasts >= timedelta(minutes=_limit(app) * 1.25 + 60)

    # The same values again record nothing; a change records a new row superseding the old.
    _learner_launch(app, lti_client, course, sub, extra_time_percent="25", rest_breaks="true")
    assert len(_rows(app, sub)) == 1
    _learner_launch(app, lti_client, course, sub, extra_time_percent="50")
    first, second = _rows(app, sub)
    assert second.supersedes_id == first.id and second.extra_time_percent == 50
    assert second.rest_breaks is True  # what the launch did not give stays as recorded
    moved = _attempt(app, sub)
    assert moved.deadline == moved.started_at + timedelta(minutes=_limit(app) * 1.5)

    # Bad values are ignored and logged without the value or the learner.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lti.launch_arrangements"):
        _learner_launch(
            app,
            lti_client,
            course,
            sub,
            extra_time_percent="lots-secret",
            extra_time_minutes="$User.id",
            time_limit_minutes="9000",
        )
    assert len(_rows(app, sub)) == 2
    logged = caplog.text
    assert "extra_time_percent" in logged and "time_limit_minutes" in logged
    assert "lots-secret" not in logged and sub not in logged and "9000" not in logged


def test_a_launch_without_arrangement_parameters_records_nothing(app, lti_client):  # noqa: F811
    course = _course("aa-none")
    sub = f"aa-none-learner-{next(_numbers)}"
    _learner_launch(app, lti_client, course, sub)
    assert _rows(app, sub) == []
    # Staff launches never record arrangements for themselves.
    _launch(
        app, lti_client, "instructor-1", course, nrps=False, mutate=_custom(extra_time_percent="25")
    )
    with app.app_context():
        rows = db.session().scalars(
            select(AccessArrangement).where(AccessArrangement.learner_ref.contains("instructor"))
        )
        assert list(rows) == []
