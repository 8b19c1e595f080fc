"""Access arrangements in the LTI tool: custom launch parameters recorded as set by the LMS, and
the assessor's page to see and change a learner's arrangements (the change moves the deadline
of the attempt in progress at once). Through HTTP with launches signed by the development
platform."""

from __future__ import annotations

import logging
import math
from datetime import timedelta

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from lti import sessions
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


def _latest_session(app, sub) -> LtiSession:
    with app.app_context():
        return db.session().scalar(
            select(LtiSession).where(LtiSession.user_sub == sub).order_by(LtiSession.id.desc())
        )


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

    # Opening the activity shows the start page; Start starts the clock, with the extra time.
    assert lti_client.get("/lti/attempt", query_string={"ls": ls}).status_code == 200
    lti_client.post("/lti/attempt/start", data={"ls": ls, "attempt": ""})
    opened = lti_client.get("/lti/attempt", query_string={"ls": ls})
    attempt = _attempt(app, sub)
    assert attempt.deadline == attempt.started_at + timedelta(minutes=_limit(app) * 1.25)
    # The learner is told the time they have, extra time included.
    allowed = math.ceil(_limit(app) * 1.25)
    assert f"You have {allowed} minutes" in opened.get_data(as_text=True)
    # The launch lasts as long as the clock runs, extra time included, and a while after it
    # to see the result (a rest break moves both: sessions.keep_open_until).
    assert _latest_session(app, sub).expires_at >= attempt.deadline + sessions.AFTER_DEADLINE

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


# ---------------------------------------------------------------------------- the assessor's page


def _in_progress(app, client, course):
    """A learner of `course` with an attempt in progress (opened, and Start selected)."""
    sub = f"aa-page-learner-{next(_numbers)}"
    _path, ls = _learner_launch(app, client, course, sub)
    assert client.get("/lti/attempt", query_string={"ls": ls}).status_code == 200
    started = client.post("/lti/attempt/start", data={"ls": ls, "attempt": ""})
    assert started.status_code == 303
    attempt = _attempt(app, sub)  # made at Start
    return {"sub": sub, "ls": ls, "uuid": attempt.uuid}


def _page_url(learner):
    return f"/lti/assessor/attempt/{learner['uuid']}/arrangements"


def _form(staff, learner, page, **changes):
    doc = _doc(page)
    form = {
        "ls": staff,
        "attempt": learner["uuid"],
        "seen_own": doc.xpath("//input[@name='seen_own']/@value")[0],
        "seen_general": doc.xpath("//input[@name='seen_general']/@value")[0],
        "applies_to": "assessment",
        "extra_time_percent": "",
        "extra_time_minutes": "",
        "time_limit_minutes": "",
        "rest_break_max_minutes": "",
        "reason": "",
    }
    return list((form | changes).items())


def test_an_assessor_grants_extra_time_and_the_deadline_moves_at_once(app, lti_client):  # noqa: F811
    course = _course("aa-page")
    learner = _in_progress(app, lti_client, course)
    _path, staff = _launch(app, lti_client, "instructor-1", course, nrps=False)
    before = _attempt(app, learner["sub"])

    listing = lti_client.get("/lti/assessor", query_string={"ls": staff}).get_data(as_text=True)
    assert _page_url(learner) in listing
    page = lti_client.get(_page_url(learner), query_string={"ls": staff})
    assert page.status_code == 200
    doc = _doc(page)
    for control in doc.xpath("//form//input[@type!='hidden'] | //form//select"):
        assert doc.xpath(f"//label[@for='{control.get('id')}']"), control.get("name")
    assert "No access arrangements have been recorded" in page.get_data(as_text=True)

    saved = _post(
        lti_client,
        "/lti/assessor/arrangements",
        _form(staff, learner, page, extra_time_percent="25", rest_breaks="yes", reason="other"),
    )
    assert saved.status_code == 303
    after = lti_client.get(saved.headers["Location"])
    html = after.get_data(as_text=True)
    assert "The access arrangements are saved." in html and "25% extra time" in html
    moved = _attempt(app, learner["sub"])
    assert moved.deadline == before.started_at + timedelta(minutes=_limit(app) * 1.25)
    # The learner's launch, made before, now lasts past the new deadline.
    with app.app_context():
        launch = db.session().scalar(
            select(LtiSession).where(LtiSession.user_sub == learner["sub"])
        )
        assert launch.expires_at >= moved.deadline + timedelta(minutes=30)
    (row,) = _rows(app, learner["sub"])
    assert (
        row.set_by_kind == "assessor"
        and row.set_by.startswith("lti:")
        and row.set_by.endswith("instructor-1")
    )
    assert row.rest_breaks and row.reason == "other" and row.assessment_id == _assessment_id(app)
    history = _doc(after).xpath("//table//tbody/tr")
    assert len(history) == 1 and "Applies" in history[0].text_content()

    # A change is a new row; the old one stays in the history as replaced.
    again = _post(
        lti_client,
        "/lti/assessor/arrangements",
        _form(staff, learner, after, extra_time_minutes="10"),
    )
    assert again.status_code == 303
    rows = _rows(app, learner["sub"])
    assert len(rows) == 2 and rows[1].supersedes_id == rows[0].id
    page = lti_client.get(again.headers["Location"])
    assert "Replaced" in page.get_data(as_text=True)
    assert _attempt(app, learner["sub"]).deadline == before.started_at + timedelta(
        minutes=_limit(app) + 10
    )


def test_bad_input_shows_the_error_summary_and_records_nothing(app, lti_client):  # noqa: F811
    course = _course("aa-errors")
    learner = _in_progress(app, lti_client, course)
    _path, staff = _launch(app, lti_client, "instructor-1", course, nrps=False)
    page = lti_client.get(_page_url(learner), query_string={"ls": staff})
    refused = _post(
        lti_client,
        "/lti/assessor/arrangements",
        _form(staff, learner, page, extra_time_percent="lots", extra_time_minutes="10"),
    )
    assert refused.status_code == 422
    doc = _doc(refused)
    assert doc.xpath("//title")[0].text.startswith("Error:")
    links = doc.xpath("//div[@class='error-summary']//a/@href")
    assert "#extra-time-percent" in links
    for link in links:
        assert doc.xpath(f"//*[@id='{link[1:]}']"), link
    assert doc.xpath("//input[@id='extra-time-percent']/@value") == ["lots"]  # kept

    both = _post(
        lti_client,
        "/lti/assessor/arrangements",
        _form(staff, learner, page, extra_time_percent="25", extra_time_minutes="10"),
    )
    assert both.status_code == 422 and "not both" in both.get_data(as_text=True)
    everywhere = _post(
        lti_client,
        "/lti/assessor/arrangements",
        _form(staff, learner, page, applies_to="all", time_limit_minutes="90"),
    )
    assert everywhere.status_code == 422
    assert "#time-limit-minutes" in _doc(everywhere).xpath("//div[@class='error-summary']//a/@href")
    assert _rows(app, learner["sub"]) == []


def test_a_change_made_meanwhile_is_not_overwritten(app, lti_client):  # noqa: F811
    course = _course("aa-race")
    learner = _in_progress(app, lti_client, course)
    _path, staff = _launch(app, lti_client, "instructor-1", course, nrps=False)
    page = lti_client.get(_page_url(learner), query_string={"ls": staff})
    first = _post(
        lti_client,
        "/lti/assessor/arrangements",
        _form(staff, learner, page, extra_time_percent="25"),
    )
    assert first.status_code == 303
    stale = _post(
        lti_client,
        "/lti/assessor/arrangements",
        _form(staff, learner, page, extra_time_percent="50"),
    )
    assert stale.status_code == 409
    assert "Someone else changed" in stale.get_data(as_text=True)
    assert [r.extra_time_percent for r in _rows(app, learner["sub"])] == [25]


def test_another_course_and_learners_cannot_open_or_change_arrangements(app, lti_client):  # noqa: F811
    course_a, course_b = _course("aa-a"), _course("aa-b")
    learner = _in_progress(app, lti_client, course_a)
    _path, staff_a = _launch(app, lti_client, "instructor-1", course_a, nrps=False)
    _path, staff_b = _launch(app, lti_client, "instructor-1", course_b, nrps=False)
    page = lti_client.get(_page_url(learner), query_string={"ls": staff_a})
    assert lti_client.get(_page_url(learner), query_string={"ls": staff_b}).status_code == 404
    posted = _post(
        lti_client,
        "/lti/assessor/arrangements",
        _form(staff_b, learner, page, extra_time_percent="25"),
    )
    assert posted.status_code == 404
    assert lti_client.get(_page_url(learner), query_string={"ls": learner["ls"]}).status_code == 403
    by_learner = _post(
        lti_client,
        "/lti/assessor/arrangements",
        _form(learner["ls"], learner, page, extra_time_percent="100"),
    )
    assert by_learner.status_code == 403
    assert _rows(app, learner["sub"]) == []


def test_a_simultaneous_launch_recording_first_does_not_fail_the_launch(
    app,
    lti_client,  # noqa: F811
    monkeypatch,
):
    """Two launches of one learner at the same moment both record their parameters: the
    database lets one row become current, and the other launch goes on without its own."""
    from sqlalchemy.exc import IntegrityError

    from lti import launch_arrangements

    def lost_the_race(*_args, **_kwargs):
        raise IntegrityError("INSERT INTO access_arrangements", {}, Exception("unique"))

    monkeypatch.setattr(launch_arrangements, "record", lost_the_race)
    course = _course("aa-race-launch")
    sub = f"aa-race-launch-learner-{next(_numbers)}"
    path, ls = _learner_launch(app, lti_client, course, sub, extra_time_percent="25")
    assert path == "/lti/attempt"
    assert lti_client.get(path, query_string={"ls": ls}).status_code == 200


def test_a_supervisor_starts_and_ends_a_rest_break_and_the_deadline_moves(app, lti_client):  # noqa: F811
    from service.models import AttemptRestBreak

    course = _course("aa-break")
    learner = _in_progress(app, lti_client, course)
    _path, staff = _launch(app, lti_client, "instructor-1", course, nrps=False)
    page = lti_client.get(_page_url(learner), query_string={"ls": staff})
    assert "Start a rest break" not in page.get_data(as_text=True)  # not allowed yet
    refused = _post(
        lti_client,
        "/lti/assessor/rest-break",
        [("ls", staff), ("attempt", learner["uuid"]), ("action", "start")],
    )
    assert refused.status_code == 409 and "not part of" in refused.get_data(as_text=True)

    granted = _post(
        lti_client, "/lti/assessor/arrangements", _form(staff, learner, page, rest_breaks="yes")
    )
    assert granted.status_code == 303
    page = lti_client.get(granted.headers["Location"])
    assert "Start a rest break" in page.get_data(as_text=True)
    started = _post(
        lti_client,
        "/lti/assessor/rest-break",
        [("ls", staff), ("attempt", learner["uuid"]), ("action", "start")],
    )
    assert started.status_code == 303
    html = lti_client.get(started.headers["Location"]).get_data(as_text=True)
    assert "the learner&#39;s clock is stopped" in html or "the learner's clock is stopped" in html
    assert "End the rest break" in html and "on a rest break" in html
    before = _attempt(app, learner["sub"])
    with app.app_context():
        session = db.session()
        rest = session.scalar(
            select(AttemptRestBreak).where(AttemptRestBreak.attempt_id == before.id)
        )
        # The learner started 20 minutes ago; the break has lasted 10 minutes.
        rest.started_at -= timedelta(minutes=10)
        row = session.get(Attempt, before.id)
        row.started_at -= timedelta(minutes=20)
        session.commit()
    ended = _post(
        lti_client,
        "/lti/assessor/rest-break",
        [("ls", staff), ("attempt", learner["uuid"]), ("action", "end")],
    )
    assert ended.status_code == 303
    after = _attempt(app, learner["sub"])
    moved = after.deadline - (after.started_at + timedelta(minutes=_limit(app)))
    assert timedelta(minutes=10) <= moved < timedelta(minutes=11)
    again = _post(
        lti_client,
        "/lti/assessor/rest-break",
        [("ls", staff), ("attempt", learner["uuid"]), ("action", "end")],
    )
    assert again.status_code == 409 and "not on a rest break" in again.get_data(as_text=True)


def test_the_learner_is_told_their_answers_wait_during_a_rest_break(app, lti_client):  # noqa: F811
    from service.models import AttemptRestBreak
    from tests.test_lti_pages import _form as answers_form

    course = _course("aa-break-learner")
    learner = _in_progress(app, lti_client, course)
    _path, staff = _launch(app, lti_client, "instructor-1", course, nrps=False)
    page = lti_client.get(_page_url(learner), query_string={"ls": staff})
    granted = _post(
        lti_client, "/lti/assessor/arrangements", _form(staff, learner, page, rest_breaks="yes")
    )
    assert granted.status_code == 303
    started = _post(
        lti_client,
        "/lti/assessor/rest-break",
        [("ls", staff), ("attempt", learner["uuid"]), ("action", "start")],
    )
    assert started.status_code == 303
    with app.app_context():
        session = db.session()
        rest = session.scalar(
            select(AttemptRestBreak).join(Attempt).where(Attempt.uuid == learner["uuid"])
        )
        rest.started_at -= timedelta(minutes=2)  # past the grace for a save in flight
        session.commit()
    data = answers_form(learner["ls"], learner["uuid"], [], {})
    refused = _post(lti_client, "/lti/attempt/save", data)
    assert refused.status_code == 409
    assert "You are on a rest break" in refused.get_data(as_text=True)
    as_json = lti_client.post(
        "/lti/attempt/save", data=MultiDict(data), headers={"Accept": "application/json"}
    )
    assert as_json.status_code == 409 and "rest break" in as_json.get_json()["message"]


def test_a_relaunch_during_the_attempt_lasts_as_long_as_the_clock(app, lti_client):  # noqa: F811
    """The launch starts with the default length (it reads nothing to decide it); a learner
    who relaunches during their attempt has it kept open until their deadline by the first
    page, with extra time that runs past the default."""
    course = _course(next(_numbers))
    sub = f"relaunch-{next(_numbers)}"
    _path, ls = _learner_launch(app, lti_client, course, sub, extra_time_percent="25")
    lti_client.post("/lti/attempt/start", data={"ls": ls, "attempt": ""})
    deadline = _attempt(app, sub).deadline
    default = timedelta(minutes=app.config["LTI_SESSION_MINUTES"])

    _path, again = _learner_launch(app, lti_client, course, sub, extra_time_percent="25")
    relaunched = _latest_session(app, sub)
    assert relaunched.expires_at - relaunched.created_at <= default + timedelta(seconds=5)
    assert relaunched.expires_at < deadline + sessions.AFTER_DEADLINE  # too short alone

    page = lti_client.get("/lti/attempt", query_string={"ls": again})
    assert page.status_code == 200 and "fieldset" in page.get_data(as_text=True)
    assert _latest_session(app, sub).expires_at >= deadline + sessions.AFTER_DEADLINE
