"""The assessor's launch (finding S1): it slides with activity, warns before it ends with a
Continue button (a plain form POST that renews and rotates the token), and marks posted after
it ended are kept for the assessor and filled in again after a relaunch."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import lxml.html
from sqlalchemy import select

from lti import sessions
from lti.models import LtiMarkingDraft, LtiSession
from service import attempts as attempt_service
from service import db
from service.comments import current_comments
from service.models import utcnow
from tests import test_lti_pages as pages
from tests.test_lti_pages import lti_client  # noqa: F401 (fixture)
from tests.test_result_page import SNAKE


def _row(session, token) -> LtiSession:
    digest = sessions.token_hash(token)
    return session.scalar(select(LtiSession).where(LtiSession.token_hash == digest))


def _set(app, token, **values) -> None:
    with app.app_context():
        session = db.session()
        row = _row(session, token)
        for name, value in values.items():
            setattr(row, name, value)
        session.commit()


def test_the_page_warns_before_the_end_and_continue_renews_it(app, lti_client):  # noqa: F811
    _path, staff = pages._launch(app, lti_client, "instructor-1")
    page = lti_client.get("/lti/assessor", query_string={"ls": staff}).get_data(as_text=True)
    doc = lxml.html.fromstring(page)
    # Far from the end: the time is shown; the warning waits (session.js reveals it).
    assert doc.xpath("//p[@id='session-ends']")
    assert doc.xpath("//div[@id='session-warning']")[0].get("hidden") is not None
    # 5 minutes from the longest a launch may last: the page loads with the warning shown.
    now = utcnow()
    _set(
        app,
        staff,
        created_at=now - sessions.STAFF_MAX + timedelta(minutes=5),
        expires_at=now + timedelta(minutes=5),
    )
    page = lti_client.get("/lti/assessor", query_string={"ls": staff}).get_data(as_text=True)
    doc = lxml.html.fromstring(page)
    warning = doc.xpath("//div[@id='session-warning']")[0]
    assert warning.get("hidden") is None and warning.get("role") == "alert"
    assert "Your session ends soon" in warning.text_content()
    form = warning.xpath(".//form")[0]
    assert form.get("method") == "post" and form.get("action") == "/lti/session/renew"
    fields = {i.get("name"): i.get("value") for i in form.xpath(".//input")}
    assert fields == {"ls": staff, "next": "/lti/assessor"}
    # Continue: a fresh token, the launch extended, back to the same page.
    _set(app, staff, created_at=now)
    renewed = lti_client.post("/lti/session/renew", data=fields)
    assert renewed.status_code == 303
    location = urlsplit(renewed.headers["Location"])
    fresh = parse_qs(location.query)["ls"][0]
    assert location.path == "/lti/assessor" and fresh != staff
    with app.app_context():
        row = _row(db.session(), fresh)
        assert row.expires_at > utcnow() + timedelta(minutes=80)
    back = lti_client.get(renewed.headers["Location"])
    assert back.status_code == 200 and "Your session continues" in back.get_data(as_text=True)
    # With JavaScript: the same, as JSON (session.js swaps the token into the page).
    as_json = lti_client.post(
        "/lti/session/renew", data={"ls": fresh}, headers={"Accept": "application/json"}
    )
    assert as_json.status_code == 200 and as_json.get_json()["seconds_left"] > 80 * 60
    # Another site is never where Continue returns to.
    away = lti_client.post(
        "/lti/session/renew", data={"ls": as_json.get_json()["ls"], "next": "//evil.example/x"}
    )
    assert urlsplit(away.headers["Location"]).path == "/lti/assessor"


def test_a_page_view_keeps_the_staff_launch_open_after_the_request(app, lti_client):  # noqa: F811
    # A GET writes nothing else: the slide is committed on its own, not lost with the request.
    _path, staff = pages._launch(app, lti_client, "instructor-1")
    _set(app, staff, expires_at=utcnow() + timedelta(minutes=2))
    assert lti_client.get("/lti/assessor", query_string={"ls": staff}).status_code == 200
    minutes = app.config["LTI_SESSION_MINUTES"]
    with app.app_context():
        row = _row(db.session(), staff)
        assert row.expires_at > utcnow() + timedelta(minutes=minutes - 1)


def test_a_learner_cannot_renew(app, lti_client):  # noqa: F811
    learner = pages._learner(app, lti_client)
    assert lti_client.post("/lti/session/renew", data={"ls": learner["ls"]}).status_code == 403


def test_marks_posted_after_the_session_ended_are_kept_and_filled_in(app, lti_client):  # noqa: F811
    learner = pages._learner(app, lti_client)
    pages._submit_keyed(app, lti_client, learner)
    view = pages._view(app, learner["sub"])
    extended = next(
        b for b in pages._bodies(app, learner["sub"]).values() if b["type"] == "extended_response"
    )
    criteria = [f"CSC-01.{c}" for c in extended["criteria"]]
    _path, staff = pages._launch(app, lti_client, "instructor-1")
    assert lti_client.get(f"/lti/assessor/attempt/{view['id']}", query_string={"ls": staff})
    _set(app, staff, expires_at=utcnow() - timedelta(minutes=1))
    form = [("ls", staff), ("attempt", view["id"]), ("item", extended["id"])]
    form += [(f"previous-{c}", "") for c in criteria]
    form += [(f"level-{c}", "met") for c in criteria[:-1]]
    form += [(f"level-{criteria[-1]}", "not_yet_met")]
    form += [(f"comment-{criteria[0]}", "Good use of the procedure.")]
    late = pages._post(lti_client, "/lti/assessor/mark", data=form)
    html = late.get_data(as_text=True)
    assert late.status_code == 403
    assert "your marks are kept" in html and "could not be opened" not in html
    assert "Good use of the procedure." in html
    assert pages._view(app, learner["sub"])["status"] == "pending_manual"  # not applied
    with app.app_context():
        kept = db.session().scalars(select(LtiMarkingDraft)).all()
        assert {d.criterion_code: d.quality for d in kept} == {
            **{c: "met" for c in criteria[:-1]},
            criteria[-1]: "not_yet_met",
        }
    # The assessor relaunches: the marking page shows the marks as they left them.
    _path, again = pages._launch(app, lti_client, "instructor-1")
    page = lti_client.get(f"/lti/assessor/attempt/{view['id']}", query_string={"ls": again})
    doc = lxml.html.fromstring(page.get_data(as_text=True))
    assert "filled in below as you left them" in doc.text_content()
    # The scenario's channel and every other stored value appear in words (lti/page_words.py).
    assert SNAKE.findall(doc.xpath("//main")[0].text_content()) == []
    for criterion in criteria:
        checked = doc.xpath(f"//input[@name='level-{criterion}'][@checked]/@value")
        assert checked == (["met"] if criterion != criteria[-1] else ["not_yet_met"])
    assert doc.xpath(f"//textarea[@name='comment-{criteria[0]}']")[0].text == (
        "Good use of the procedure."
    )
    # Saved from there: marked, and the draft is gone.
    saved = pages._post(lti_client, "/lti/assessor/mark", data=[("ls", again), *form[1:]])
    assert saved.status_code == 303
    assert pages._view(app, learner["sub"])["status"] == "fully_graded"
    with app.app_context():
        assert db.session().scalars(select(LtiMarkingDraft)).all() == []


def test_a_marking_post_with_no_launch_at_all_still_gets_the_error_page(app, lti_client):  # noqa: F811
    refused = lti_client.post("/lti/assessor/mark", data={"ls": "not-a-token", "level-x": "met"})
    assert refused.status_code == 403
    with app.app_context():
        assert db.session().scalars(select(LtiMarkingDraft)).all() == []


def test_marking_opens_at_the_answer_and_save_and_mark_next_goes_on(app, lti_client):  # noqa: F811
    first, second = pages._learner(app, lti_client), pages._learner(app, lti_client)
    for learner in (first, second):
        pages._submit_keyed(app, lti_client, learner)
    _path, staff = pages._launch(app, lti_client, "instructor-1")
    listing = lti_client.get("/lti/assessor", query_string={"ls": staff}).get_data(as_text=True)
    doc = lxml.html.fromstring(listing)
    progress = " ".join(doc.xpath("//p[@id='marking-progress']")[0].text_content().split())
    assert (
        "attempts are waiting to be marked" in progress
        and "submitted attempts are marked" in progress
    )
    link = doc.xpath("//a[text()='Mark the attempt waiting longest']/@href")[0]
    assert "#mark-" in link
    # One form per written answer saves every criterion; "Save and mark next" opens the next
    # attempt at its written answer.
    uuid = urlsplit(link).path.rsplit("/", 1)[-1]
    with app.app_context():
        session = db.session()
        attempt = attempt_service.find_attempt(session, uuid)
        extended = next(
            v.body
            for _i, v in attempt_service.form_items(session, attempt)
            if v.body["type"] == "extended_response"
        )
    extended = {**extended, "criteria": [f"CSC-01.{c}" for c in extended["criteria"]]}
    form = [("ls", staff), ("attempt", uuid), ("item", extended["id"]), ("then", "next")]
    form += [(f"level-{c}", "met") for c in extended["criteria"]]
    saved = pages._post(lti_client, "/lti/assessor/mark", data=form)
    assert saved.status_code == 303
    target = urlsplit(saved.headers["Location"])
    assert target.path.startswith("/lti/assessor/attempt/") and uuid not in target.path
    assert target.fragment.startswith("mark-")


def test_marks_posted_with_a_token_replaced_past_its_overlap_are_kept(app, lti_client):  # noqa: F811
    """A marking page left open while another tab went on: its token was rotated more than
    the overlap ago. The launch still runs, so the marks are kept as a draft (not the error
    page), for an attempt of that launch's course only; the 409 rule still applies."""
    from tests import test_assessor_course as course

    here, elsewhere = course._course("rotated"), course._course("rotated-other")
    learner = course._submitted(app, lti_client, here)
    other = course._submitted(app, lti_client, elsewhere)
    _path, old = course._launch(app, lti_client, "instructor-1", here, nrps=False)
    _set(app, old, token_issued_at=utcnow() - timedelta(minutes=30))
    rotated = lti_client.get("/lti/assessor", query_string={"ls": old})
    assert rotated.status_code == 303  # a page load past the rotation age: a fresh token
    fresh = parse_qs(urlsplit(rotated.headers["Location"]).query)["ls"][0]
    assert fresh != old
    _set(app, fresh, previous_expires_at=utcnow() - timedelta(minutes=1))  # overlap over
    body = course._extended(app, learner)
    criteria = [f"CSC-01.{c}" for c in body["criteria"]]
    form = course._mark_form(old, learner, body, previous={})
    late = course._post(lti_client, "/lti/assessor/mark", form)
    html = late.get_data(as_text=True)
    assert late.status_code == 403
    assert "out of date: your marks are kept" in html and "could not be opened" not in html
    assert course._view(app, learner["sub"])["status"] == "pending_manual"  # not applied
    with app.app_context():
        kept = db.session().scalars(select(LtiMarkingDraft)).all()
        assert {(d.attempt_uuid, d.criterion_code, d.quality) for d in kept} == {
            (learner["uuid"], c, "met") for c in criteria
        }
    # The tab with the fresh token shows them filled in.
    page = lti_client.get(f"/lti/assessor/attempt/{learner['uuid']}", query_string={"ls": fresh})
    doc = lxml.html.fromstring(page.get_data(as_text=True))
    for criterion in criteria:
        assert doc.xpath(f"//input[@name='level-{criterion}'][@checked]/@value") == ["met"]
    # An attempt of another course: the usual refusal, nothing kept.
    body_other = course._extended(app, other)
    refused = course._post(
        lti_client, "/lti/assessor/mark", course._mark_form(old, other, body_other, previous={})
    )
    assert refused.status_code == 403
    assert "marks are kept" not in refused.get_data(as_text=True)
    with app.app_context():
        uuids = {d.attempt_uuid for d in db.session().scalars(select(LtiMarkingDraft))}
        assert uuids == {learner["uuid"]}
    # 409 unchanged: marked by someone else meanwhile, the kept marks are not applied.
    _path, colleague = course._launch(app, lti_client, "instructor-1", here, nrps=False)
    first = course._post(
        lti_client,
        "/lti/assessor/mark",
        course._mark_form(colleague, learner, body, "not_yet_met", previous={}),
    )
    assert first.status_code == 303
    stale = course._post(
        lti_client, "/lti/assessor/mark", course._mark_form(fresh, learner, body, previous={})
    )
    assert stale.status_code == 409


def _overall_comment(lti_client, token, uuid) -> str:  # noqa: F811
    page = lti_client.get(f"/lti/assessor/attempt/{uuid}", query_string={"ls": token})
    doc = lxml.html.fromstring(page.get_data(as_text=True))
    return doc.xpath("//textarea[@name='comment']")[0].text or ""


def test_a_comment_posted_after_the_session_ended_is_kept_and_filled_in(app, lti_client):  # noqa: F811
    """The comment on the whole attempt has its own form: posted after the launch ended it is
    kept as a draft (not the error page) and filled in after a relaunch; saving it ends the
    draft."""
    learner = pages._learner(app, lti_client)
    pages._submit_keyed(app, lti_client, learner)
    view = pages._view(app, learner["sub"])
    _path, staff = pages._launch(app, lti_client, "instructor-1")
    assert lti_client.get(f"/lti/assessor/attempt/{view['id']}", query_string={"ls": staff})
    _set(app, staff, expires_at=utcnow() - timedelta(minutes=1))
    form = {"ls": staff, "attempt": view["id"], "comment": "A calm, clear reply overall."}
    late = pages._post(lti_client, "/lti/assessor/comment", data=form)
    html = late.get_data(as_text=True)
    assert late.status_code == 403
    assert "your comment is kept" in html and "could not be opened" not in html
    assert "A calm, clear reply overall." in html
    with app.app_context():
        session = db.session()
        attempt = attempt_service.find_attempt(session, view["id"])
        assert None not in current_comments(session, attempt.id)  # not applied
    # The assessor relaunches: the comment is filled in as they left it, and said so.
    _path, again = pages._launch(app, lti_client, "instructor-1")
    page = lti_client.get(f"/lti/assessor/attempt/{view['id']}", query_string={"ls": again})
    doc = lxml.html.fromstring(page.get_data(as_text=True))
    assert "comment on the whole attempt was saved" in " ".join(doc.text_content().split())
    assert doc.xpath("//textarea[@name='comment']")[0].text == "A calm, clear reply overall."
    # Saved from there: the comment is on the attempt and its draft is gone.
    saved = pages._post(lti_client, "/lti/assessor/comment", data={**form, "ls": again})
    assert saved.status_code == 303
    with app.app_context():
        session = db.session()
        attempt = attempt_service.find_attempt(session, view["id"])
        assert current_comments(session, attempt.id)[None].text == "A calm, clear reply overall."
        assert session.scalars(select(LtiMarkingDraft)).all() == []
    assert _overall_comment(lti_client, again, view["id"]) == "A calm, clear reply overall."


def test_a_comment_posted_with_a_token_replaced_past_its_overlap_is_kept(app, lti_client):  # noqa: F811
    """The comment form left open while another tab went on: kept for the attempt of the
    launch's course, shown in the tab with the fresh token; another course's attempt is
    refused as before."""
    from tests import test_assessor_course as course

    here, elsewhere = course._course("rotated-c"), course._course("rotated-c-other")
    learner = course._submitted(app, lti_client, here)
    other = course._submitted(app, lti_client, elsewhere)
    _path, old = course._launch(app, lti_client, "instructor-1", here, nrps=False)
    _set(app, old, token_issued_at=utcnow() - timedelta(minutes=30))
    rotated = lti_client.get("/lti/assessor", query_string={"ls": old})
    assert rotated.status_code == 303
    fresh = parse_qs(urlsplit(rotated.headers["Location"]).query)["ls"][0]
    _set(app, fresh, previous_expires_at=utcnow() - timedelta(minutes=1))  # overlap over
    form = {"ls": old, "attempt": learner["uuid"], "comment": "Well structured."}
    late = course._post(lti_client, "/lti/assessor/comment", form)
    html = late.get_data(as_text=True)
    assert late.status_code == 403
    assert "out of date: your comment is kept" in html and "could not be opened" not in html
    assert _overall_comment(lti_client, fresh, learner["uuid"]) == "Well structured."
    refused = course._post(lti_client, "/lti/assessor/comment", {**form, "attempt": other["uuid"]})
    assert refused.status_code == 403
    assert "comment is kept" not in refused.get_data(as_text=True)
    with app.app_context():
        uuids = {d.attempt_uuid for d in db.session().scalars(select(LtiMarkingDraft))}
        assert uuids == {learner["uuid"]}
