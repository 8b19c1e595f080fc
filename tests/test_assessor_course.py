"""The assessor's pages for one course activity (issue 8): only that course's learners, the
roster from NRPS, the marking queue, comments to the learner, the decision history and LTI
Submission Review launches. Through HTTP with launches signed by the development platform;
requests-mock answers the platform's token and NRPS endpoints."""

from __future__ import annotations

import itertools
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from service import attempts as attempt_service
from service import db
from service.models import AttemptComment
from tests import lti_flow
from tests.test_lti_pages import _bodies, _submit_keyed, _uuid, _view, start

ASSESSMENT = "CSC-01-A1"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
_numbers = itertools.count(1)


@pytest.fixture()
def lti_client(app, requests_mock):
    lti_flow.register(app)
    lti_flow.mock_platform_jwks(app, requests_mock)
    return app.test_client()


def _course(label: str) -> dict:
    """A course activity of its own (resource link and context), unique to this test run so
    cached rosters and earlier tests' attempts do not mix in."""
    number = next(_numbers)
    run = id(object())
    return {
        "link": f"{label}-link-{run}-{number}",
        "context": f"{label}-course-{run}-{number}",
    }


def _launch(app, client, user, course, sub=None, name=None, nrps=True, mutate=None):
    """Launch from `course`; return (landing path, session token)."""

    def change(claims):
        claims[LTI + "resource_link"]["id"] = course["link"]
        claims[LTI + "context"]["id"] = course["context"]
        iss = claims["iss"]
        if nrps:
            claims[NRPS_CLAIM]["context_memberships_url"] = f"{iss}/nrps/{course['context']}"
        else:
            del claims[NRPS_CLAIM]
        if sub:
            claims["sub"] = sub
        if name:
            claims["name"] = name
        if mutate:
            mutate(claims)

    response, _token, _state = lti_flow.launch(
        app, client, user, custom={"assessment": ASSESSMENT}, mutate=change
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    location = response.headers["Location"]
    return urlsplit(location).path, parse_qs(urlsplit(location).query)["ls"][0]


def _learner(app, client, course, needs=("extended_response",), name=None):
    """A new learner of `course` with an attempt open whose form holds `needs`."""
    for _ in range(30):
        sub = f"course-learner-{next(_numbers)}"
        path, ls = _launch(
            app, client, "learner-1", course, sub=sub, name=name or f"Learner {sub}", nrps=False
        )
        assert path == "/lti/attempt"
        page = client.get("/lti/attempt", query_string={"ls": ls})
        assert page.status_code == 200, page.get_data(as_text=True)
        start(app, client, ls, sub)  # the attempt and its form are made at Start
        items = _view(app, sub)["items"]
        if all(any(i["type"] == kind for i in items) for kind in needs):
            return {"ls": ls, "sub": sub, "items": items}
    raise AssertionError(f"no form with {needs} in 30 learners")


def _submitted(app, client, course, **kwargs) -> dict:
    learner = _learner(app, client, course, **kwargs)
    _submit_keyed(app, client, learner)
    learner["uuid"] = _uuid(app, learner["sub"])
    return learner


def _post(client, url, data):
    return client.post(url, data=MultiDict(data))


def _doc(response):
    return lxml.html.fromstring(response.get_data(as_text=True))


def _stored(app, attempt_uuid, read):
    """`read(attempt)` of the attempt as stored now."""
    with app.app_context():
        return read(attempt_service.find_attempt(db.session(), attempt_uuid))


def _extended(app, learner) -> dict:
    bodies = _bodies(app, learner["sub"])
    return next(b for b in bodies.values() if b["type"] == "extended_response")


def _mark_form(staff, learner, body, level="met", previous=None):
    criteria = [f"CSC-01.{c}" for c in body["criteria"]]
    form = [("ls", staff), ("attempt", learner["uuid"]), ("item", body["id"])]
    form += [(f"level-{c}", level) for c in criteria]
    if previous is not None:
        form += [(f"previous-{c}", previous.get(c, "")) for c in criteria]
    return form


# ---------------------------------------------------------------------------- 1. course scope


def test_an_instructor_sees_only_the_course_they_launched_from(app, lti_client):
    course_a, course_b = _course("a"), _course("b")
    learner_a = _submitted(app, lti_client, course_a)
    learner_b = _submitted(app, lti_client, course_b)
    _path, staff_a = _launch(app, lti_client, "instructor-1", course_a, nrps=False)

    listing = lti_client.get("/lti/assessor", query_string={"ls": staff_a})
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200
    assert learner_a["uuid"] in html and learner_b["uuid"] not in html

    opened = lti_client.get(
        f"/lti/assessor/attempt/{learner_b['uuid']}", query_string={"ls": staff_a}
    )
    assert opened.status_code == 404 and "Attempt not found" in opened.get_data(as_text=True)

    body = _extended(app, learner_b)
    marked = _post(lti_client, "/lti/assessor/mark", _mark_form(staff_a, learner_b, body))
    assert marked.status_code == 404
    assert _view(app, learner_b["sub"])["status"] == "pending_manual"

    # The instructor of B does see B's attempt.
    _path, staff_b = _launch(app, lti_client, "instructor-1", course_b, nrps=False)
    opened_b = lti_client.get(
        f"/lti/assessor/attempt/{learner_b['uuid']}", query_string={"ls": staff_b}
    )
    assert opened_b.status_code == 200


def test_the_course_scope_never_matches_api_attempts_without_a_link(app):
    from service import attempt_access

    class Platform:
        id, centre_id = 1, None

    scope = attempt_access.course_scope(Platform(), None)
    assert "false" in str(scope.conditions()[-1]).lower() or "0 = 1" in str(scope.conditions()[-1])


# ---------------------------------------------------------------------------- 2. NRPS roster

TOKEN_URL = f"{lti_flow.ISS}/token"


def _nrps_url(course) -> str:
    return f"{lti_flow.ISS}/nrps/{course['context']}"


def _member(user_id, name, roles=("Learner",), **extra):
    return {
        "status": "Active",
        "roles": list(roles),
        "user_id": user_id,
        "name": name,
        "email": f"{user_id}@example.com",
        **extra,
    }


def test_the_roster_adds_learners_who_have_not_started(app, lti_client, requests_mock, caplog):
    course = _course("roster")
    learner = _submitted(app, lti_client, course, name="Started Learner")
    token = requests_mock.post(TOKEN_URL, json={"access_token": "nrps-token", "expires_in": 3600})
    url = _nrps_url(course)
    second = f"{url}?page=2"
    first_page = requests_mock.get(
        url,
        json={
            "id": url,
            "context": {"id": course["context"]},
            "members": [
                _member(learner["sub"], "Started Learner"),
                _member("u-nadia", "Nadia Notstarted"),
                _member("u-teacher", "Tess Teacher", roles=["Instructor"]),
                _member("u-gone", "Gina Gone", status="Inactive"),
            ],
        },
        headers={"Link": f'<{second}>; rel="next"'},
    )
    requests_mock.get(
        second,
        json={
            "id": url,
            "members": [
                _member(
                    "u-omar",
                    "Omar Notstarted",
                    roles=["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
                )
            ],
        },
    )
    _path, staff = _launch(app, lti_client, "instructor-1", course)
    caplog.set_level("DEBUG")
    listing = lti_client.get("/lti/assessor", query_string={"ls": staff})
    assert listing.status_code == 200
    doc = _doc(listing)
    rows = {
        row.xpath("./th")[0].text_content(): "".join(row.xpath("./td[1]/text()"))
        for row in doc.xpath("//tbody/tr")
    }
    assert rows == {
        "Started Learner": "Waiting for marking",
        "Nadia Notstarted": "Not started",
        "Omar Notstarted": "Not started",
    }
    html = listing.get_data(as_text=True)
    assert "example.com" not in html and "Tess Teacher" not in html
    assert "2 learners have not started yet" in html
    # What this course's gradebook gets (lti/preflight.py), said on the page.
    assert "This course&#39;s gradebook gets the grade" in html or (
        "This course's gradebook gets the grade" in html
    )
    # What the request carried: the membership container type and the token for its scope.
    sent = first_page.request_history[0]
    assert sent.headers["Accept"] == "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
    assert sent.headers["Authorization"] == "Bearer nrps-token"
    if token.called:
        scopes = parse_qs(token.request_history[-1].text)["scope"][0]
        assert "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly" in scopes
    # Names are for display only: never in the log.
    assert "Notstarted" not in caplog.text and "example.com" not in caplog.text
    # Cached briefly: a reload does not ask the platform again.
    calls = first_page.call_count
    assert lti_client.get("/lti/assessor", query_string={"ls": staff}).status_code == 200
    assert first_page.call_count == calls


def test_without_the_roster_the_list_has_the_attempts_only_and_says_so(
    app, lti_client, requests_mock
):
    # The platform offered no names and roles service.
    course = _course("no-nrps")
    learner = _submitted(app, lti_client, course)
    _path, staff = _launch(app, lti_client, "instructor-1", course, nrps=False)
    html = lti_client.get("/lti/assessor", query_string={"ls": staff}).get_data(as_text=True)
    assert learner["uuid"] in html and "Not started" not in html
    assert "shows only learners who have started" in html

    # The platform refuses the memberships (not granted).
    refused = _course("nrps-refused")
    learner = _submitted(app, lti_client, refused)
    requests_mock.post(TOKEN_URL, json={"access_token": "nrps-token", "expires_in": 3600})
    requests_mock.get(_nrps_url(refused), status_code=403, text="not allowed")
    _path, staff = _launch(app, lti_client, "instructor-1", refused)
    listing = lti_client.get("/lti/assessor", query_string={"ls": staff})
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200 and learner["uuid"] in html
    assert "shows only learners who have started" in html

    # A next page on another site is not followed (the token would go there).
    elsewhere = _course("nrps-elsewhere")
    _submitted(app, lti_client, elsewhere)
    requests_mock.get(
        _nrps_url(elsewhere),
        json={"members": [_member("u-x", "Xavier Elsewhere")]},
        headers={"Link": '<https://evil.example/more>; rel="next"'},
    )
    other_site = requests_mock.get("https://evil.example/more", json={"members": []})
    _path, staff = _launch(app, lti_client, "instructor-1", elsewhere)
    html = lti_client.get("/lti/assessor", query_string={"ls": staff}).get_data(as_text=True)
    assert not other_site.called and "Xavier Elsewhere" not in html
    assert "shows only learners who have started" in html


def test_learners_of_a_page_keeps_active_learners_of_the_moodle_capture():
    import json

    from lti import nrps
    from tests.conftest import CAPTURES

    page = json.loads((CAPTURES / "nrps-memberships.json").read_text())
    assert nrps.learners_of(page) == [nrps.Member("4", "Student1 Test")]


# ---------------------------------------------------------------------------- 3. the queue


def test_save_and_mark_next_opens_the_attempt_waiting_longest(app, lti_client):
    course = _course("queue")
    first = _submitted(app, lti_client, course)
    second = _submitted(app, lti_client, course)
    third = _submitted(app, lti_client, course)
    _path, staff = _launch(app, lti_client, "instructor-1", course, nrps=False)
    listing = _doc(lti_client.get("/lti/assessor", query_string={"ls": staff}))
    links = listing.xpath("//tbody/tr//a/@href")
    for learner, link in zip((first, second, third), links, strict=True):
        assert learner["uuid"] in link
    longest = listing.xpath("//a[text()='Mark the attempt waiting longest']/@href")
    assert first["uuid"] in longest[0]

    page = _doc(
        lti_client.get(f"/lti/assessor/attempt/{first['uuid']}", query_string={"ls": staff})
    )
    assert page.xpath("//button[@name='then'][@value='next']")
    body = _extended(app, first)
    saved = _post(
        lti_client, "/lti/assessor/mark", _mark_form(staff, first, body) + [("then", "next")]
    )
    assert saved.status_code == 303
    assert f"/lti/assessor/attempt/{second['uuid']}" in saved.headers["Location"]
    # The marks were saved on the way.
    assert body["id"] in _stored(app, first["uuid"], lambda a: a.marks)

    # Plain save stays on the attempt.
    body = _extended(app, second)
    stay = _post(lti_client, "/lti/assessor/mark", _mark_form(staff, second, body))
    assert f"/lti/assessor/attempt/{second['uuid']}" in stay.headers["Location"]


def test_save_and_mark_next_with_nothing_left_goes_back_to_the_list(app, lti_client):
    course = _course("queue-end")
    learner = _submitted(app, lti_client, course, needs=("extended_response",))
    _path, staff = _launch(app, lti_client, "instructor-1", course, nrps=False)
    body = _extended(app, learner)
    saved = _post(
        lti_client, "/lti/assessor/mark", _mark_form(staff, learner, body) + [("then", "next")]
    )
    assert saved.status_code == 303 and urlsplit(saved.headers["Location"]).path == "/lti/assessor"
    after = lti_client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "No other attempt is waiting for marking" in after


# ---------------------------------------------------------------------------- 4. comments


def _latest_score_comment(app, learner) -> tuple[int, str | None]:
    """(how many scores are queued for the learner's activity line item, the newest comment)."""
    from lti.gradebook_vocabulary import LineItemTag
    from lti.models import LtiLineItem, ScoreDelivery

    with app.app_context():
        rows = (
            db.session()
            .scalars(
                select(ScoreDelivery)
                .join(LtiLineItem, LtiLineItem.id == ScoreDelivery.line_item_id)
                .where(
                    ScoreDelivery.user_sub == learner["sub"],
                    LtiLineItem.tag == LineItemTag.ASSESSMENT,
                )
                .order_by(ScoreDelivery.id)
            )
            .all()
        )
        return len(rows), rows[-1].comment if rows else None


def test_comments_reach_the_learner_and_the_score_comment(app, lti_client):
    course = _course("comments")
    learner = _submitted(app, lti_client, course)
    _path, staff = _launch(app, lti_client, "instructor-1", course, nrps=False)
    body = _extended(app, learner)
    criterion = f"CSC-01.{body['criteria'][0]}"
    queued_before, _ = _latest_score_comment(app, learner)

    form = _mark_form(staff, learner, body) + [(f"comment-{criterion}", "You named BR1 well.")]
    marked = _post(lti_client, "/lti/assessor/mark", form)
    assert marked.status_code == 303, marked.get_data(as_text=True)
    page = lti_client.get(marked.headers["Location"])
    doc = _doc(page)
    # The comment box is labelled and shows what is stored.
    box = doc.xpath(f"//textarea[@name='comment-{criterion}']")[0]
    assert box.text == "You named BR1 well."
    assert doc.xpath(f"//label[@for='{box.get('id')}']")

    overall = _post(
        lti_client,
        "/lti/assessor/comment",
        [("ls", staff), ("attempt", learner["uuid"]), ("comment", "Well done overall.")],
    )
    assert overall.status_code == 303
    assert "Your comment to the learner is saved" in lti_client.get(
        overall.headers["Location"]
    ).get_data(as_text=True)

    # Stored as rows: one per criterion, one (criterion NULL) for the attempt.
    rows = _stored(
        app,
        learner["uuid"],
        lambda a: sorted(
            (c.criterion_code or "", c.text, c.author)
            for c in db.session().scalars(
                select(AttemptComment).where(AttemptComment.attempt_id == a.id)
            )
        ),
    )
    author = rows[0][2]
    assert author.startswith("lti:") and author.endswith(":dev-instructor-1")
    assert [(code, text) for code, text, _ in rows] == [
        ("", "Well done overall."),
        (criterion, "You named BR1 well."),
    ]

    # The score queued for the gradebook carries both; the comment alone queued a new state.
    queued_after, comment = _latest_score_comment(app, learner)
    assert queued_after >= queued_before + 2
    assert f"{criterion}: You named BR1 well." in comment
    assert comment.endswith("Well done overall.")

    # The learner sees them with the result.
    result = lti_client.get("/lti/attempt", query_string={"ls": learner["ls"]})
    html = result.get_data(as_text=True)
    assert "Well done overall." in html and "You named BR1 well." in html
    assert "Your assessor\u2019s feedback" in html

    # Emptying the overall comment removes it everywhere.
    _post(
        lti_client,
        "/lti/assessor/comment",
        [("ls", staff), ("attempt", learner["uuid"]), ("comment", "")],
    )
    _count, comment = _latest_score_comment(app, learner)
    assert "Well done overall." not in comment
    html = lti_client.get("/lti/attempt", query_string={"ls": learner["ls"]}).get_data(as_text=True)
    assert "Well done overall." not in html


def test_a_too_long_comment_gets_the_error_summary(app, lti_client):
    course = _course("long-comment")
    learner = _submitted(app, lti_client, course)
    _path, staff = _launch(app, lti_client, "instructor-1", course, nrps=False)
    too_long = _post(
        lti_client,
        "/lti/assessor/comment",
        [("ls", staff), ("attempt", learner["uuid"]), ("comment", "x" * 2001)],
    )
    assert too_long.status_code == 422
    doc = _doc(too_long)
    summary = doc.xpath("//div[@class='error-summary']//a")
    assert summary and summary[0].get("href") == "#comment-attempt"
    assert doc.xpath("//textarea[@id='comment-attempt']")[0].text == "x" * 2001

    # A criterion's comment too long: the summary links to its box; nothing is marked.
    body = _extended(app, learner)
    criterion = f"CSC-01.{body['criteria'][0]}"
    form = _mark_form(staff, learner, body) + [(f"comment-{criterion}", "y" * 2001)]
    refused = _post(lti_client, "/lti/assessor/mark", form)
    assert refused.status_code == 422
    doc = _doc(refused)
    target = doc.xpath("//div[@class='error-summary']//a/@href")[0].lstrip("#")
    box = doc.xpath(f"//textarea[@id='{target}']")[0]
    assert box.get("name") == f"comment-{criterion}" and box.text == "y" * 2001
    assert _stored(app, learner["uuid"], lambda a: a.marks) == {}


# ---------------------------------------------------------------------------- 5. decision history


def test_every_decision_is_kept_and_concurrent_marking_is_refused(app, lti_client):
    course = _course("history")
    learner = _submitted(app, lti_client, course)
    _path, first = _launch(app, lti_client, "instructor-1", course, nrps=False, name="Ann First")
    _path, second = _launch(
        app,
        lti_client,
        "instructor-1",
        course,
        sub="dev-instructor-2",
        name="Bo Second",
        nrps=False,
    )
    body = _extended(app, learner)
    criteria = [f"CSC-01.{c}" for c in body["criteria"]]
    # Both open the page with the item unmarked; the first saves.
    saved = _post(
        lti_client, "/lti/assessor/mark", _mark_form(first, learner, body, "met", previous={})
    )
    assert saved.status_code == 303
    # The second's page showed it unmarked: refused, nothing overwritten.
    stale = _post(
        lti_client,
        "/lti/assessor/mark",
        _mark_form(second, learner, body, "not_yet_met", previous={}),
    )
    assert stale.status_code == 409
    assert "Another assessor changed the marks" in stale.get_data(as_text=True)
    assert set(_stored(app, learner["uuid"], lambda a: a.marks[body["id"]]).values()) == {"met"}
    # Having seen the first's levels, the second changes them.
    changed = _post(
        lti_client,
        "/lti/assessor/mark",
        _mark_form(second, learner, body, "not_yet_met", previous=dict.fromkeys(criteria, "met")),
    )
    assert changed.status_code == 303

    events = _stored(
        app,
        learner["uuid"],
        lambda a: [
            (e.criterion_code, e.old_quality, e.new_quality, e.marked_by.rsplit(":", 1)[1])
            for e in attempt_service.mark_history(db.session(), a.id)
        ],
    )
    assert events == [(c, None, "met", "dev-instructor-1") for c in sorted(criteria)] + [
        (c, "met", "not_yet_met", "dev-instructor-2") for c in sorted(criteria)
    ]
    page = lti_client.get(changed.headers["Location"])
    doc = _doc(page)
    table = doc.xpath("//h2[text()='Marking history']/following-sibling::table[1]")[0]
    headers = [th.text_content() for th in table.xpath(".//thead//th")]
    assert headers[1:] == ["Assessor", "Question", "Criterion", "Level before", "Level chosen"]
    assert all(th.get("scope") == "col" for th in table.xpath(".//thead//th"))
    # Each cell's value, without the label shown when the rows stack (hidden from AT).
    rows = [
        [
            cell.text_content().removeprefix(
                "".join(cell.xpath("./span[@class='cell-label']//text()"))
            )
            for cell in row.xpath("./*")
        ]
        for row in table.xpath(".//tbody/tr")
    ]
    assert len(rows) == 2 * len(criteria)
    # Newest first.
    assert rows[0][1:] == ["Bo Second", rows[0][2], sorted(criteria)[-1], "Met", "Not yet met"]
    assert rows[-1][1] == "Ann First" and rows[-1][4:] == ["Not marked", "Met"]


# ---------------------------------------------------------------------------- 6. submission review

FOR_USER = LTI + "for_user"


def _review(app, client, user, course, for_user, sub=None, **changes):
    """An LtiSubmissionReviewRequest from `course`'s gradebook for `for_user`'s work; the
    review's claims carry no custom values (the course activity's assessment is used)."""

    def mutate(claims):
        claims[LTI + "message_type"] = "LtiSubmissionReviewRequest"
        claims.pop(LTI + "custom", None)
        if for_user is not None:
            claims[FOR_USER] = {
                "user_id": for_user,
                "name": "Someone Reviewed",
                "email": "reviewed@example.com",
            }
        for claim, value in changes.items():
            claims[claim] = value

    def change(claims):
        claims[LTI + "resource_link"]["id"] = course["link"]
        claims[LTI + "context"]["id"] = course["context"]
        del claims[NRPS_CLAIM]
        # A review launch names the line item whose grade was clicked.
        ags = claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]
        ags["lineitem"] = ags["lineitems"].split("?")[0] + "/1"
        if sub:
            claims["sub"] = sub
        mutate(claims)

    response, _token, _state = lti_flow.launch(app, client, user, mutate=change)
    return response


def _landing(response):
    assert response.status_code == 303, response.get_data(as_text=True)
    location = response.headers["Location"]
    return urlsplit(location).path, parse_qs(urlsplit(location).query)["ls"][0]


def test_an_instructor_reviews_a_learners_latest_attempt_of_this_course(app, lti_client):
    course, other = _course("review"), _course("review-other")
    learner = _submitted(app, lti_client, course)
    body = _extended(app, learner)
    _path, staff = _launch(app, lti_client, "instructor-1", course, nrps=False)
    _post(lti_client, "/lti/assessor/mark", _mark_form(staff, learner, body))

    path, ls = _landing(_review(app, lti_client, "instructor-1", course, learner["sub"]))
    assert path == "/lti/review"
    opened = lti_client.get(path, query_string={"ls": ls})
    assert opened.status_code == 303
    assert urlsplit(opened.headers["Location"]).path == f"/lti/assessor/attempt/{learner['uuid']}"
    page = lti_client.get(opened.headers["Location"])
    assert page.status_code == 200
    doc = _doc(page)
    assert doc.xpath("//h1")[0].text_content().startswith("Marking: ")
    criterion = f"CSC-01.{body['criteria'][0]}"
    assert doc.xpath(f"//input[@name='level-{criterion}'][@checked]/@value") == ["met"]
    assert doc.xpath("//h2[text()='Decisions for each criterion']")
    # What the review's for_user carried beyond the user id is not kept.
    from lti.models import LtiSession

    with app.app_context():
        kept = (
            db.session().scalars(select(LtiSession.claims).order_by(LtiSession.id.desc())).first()
        )
    assert kept[FOR_USER] == {"user_id": learner["sub"]}
    # The review did not rewrite the activity (its claims had no custom assessment).
    assert lti_client.get("/lti/assessor", query_string={"ls": ls}).status_code == 200
    from lti.models import LtiResourceLink

    with app.app_context():
        link = db.session().scalar(
            select(LtiResourceLink).where(LtiResourceLink.resource_link_id == course["link"])
        )
        assert link.assessment_code == ASSESSMENT

    # Another course's gradebook cannot open this learner's attempt.
    _launch(app, lti_client, "instructor-1", other, nrps=False)
    path, ls = _landing(_review(app, lti_client, "instructor-1", other, learner["sub"]))
    missing = lti_client.get(path, query_string={"ls": ls})
    html = missing.get_data(as_text=True)
    assert missing.status_code == 200 and "No attempt to review" in html
    assert learner["uuid"] not in html
    # Nor can that course's session open it directly.
    direct = lti_client.get(f"/lti/assessor/attempt/{learner['uuid']}", query_string={"ls": ls})
    assert direct.status_code == 404


def test_a_learner_reviews_only_their_own_result(app, lti_client):
    course = _course("review-learner")
    learner = _submitted(app, lti_client, course)
    someone = _submitted(app, lti_client, course)
    path, ls = _landing(
        _review(app, lti_client, "learner-1", course, learner["sub"], sub=learner["sub"])
    )
    own = lti_client.get(path, query_string={"ls": ls})
    assert own.status_code == 303 and urlsplit(own.headers["Location"]).path == "/lti/attempt"
    result = lti_client.get(own.headers["Location"])
    assert result.status_code == 200 and "Your result" in result.get_data(as_text=True)

    path, ls = _landing(
        _review(app, lti_client, "learner-1", course, someone["sub"], sub=learner["sub"])
    )
    assert lti_client.get(path, query_string={"ls": ls}).status_code == 403
    # A review session is not a way into the other pages' roles either.
    assert lti_client.get("/lti/assessor", query_string={"ls": ls}).status_code == 403


def test_review_launches_are_validated(app, lti_client):
    course = _course("review-bad")
    learner = _submitted(app, lti_client, course)
    _launch(app, lti_client, "instructor-1", course, nrps=False)
    # No for_user: refused (pylti1p3 and the claim checks).
    assert _review(app, lti_client, "instructor-1", course, None).status_code == 400
    bad = _review(app, lti_client, "instructor-1", course, None, **{FOR_USER: {"user_id": 7}})
    assert bad.status_code == 400
    # A resource link the tool has never seen: nothing to review, and no link made from it.
    never = _course("never")
    path, ls = _landing(_review(app, lti_client, "instructor-1", never, learner["sub"]))
    page = lti_client.get(path, query_string={"ls": ls})
    assert page.status_code == 200 and "No attempt to review" in page.get_data(as_text=True)
    from lti.models import LtiResourceLink

    with app.app_context():
        made = db.session().scalar(
            select(LtiResourceLink).where(LtiResourceLink.resource_link_id == never["link"])
        )
    assert made is None


def test_the_registration_and_deep_links_offer_submission_review(app, lti_client):
    import jwt

    from lti import tool_config

    urls = tool_config.ToolUrls(
        login="https://tool.example/lti/login",
        launch="https://tool.example/lti/launch",
        jwks="https://tool.example/lti/jwks",
        logo="https://tool.example/lti/logo.svg",
    )
    platform = {
        tool_config.PLATFORM_CONFIGURATION: {
            "messages_supported": [{"type": "LtiSubmissionReviewRequest"}]
        }
    }
    sent = tool_config.tool_registration(urls, platform)
    messages = {m["type"]: m for m in sent[tool_config.TOOL_CONFIGURATION]["messages"]}
    assert messages["LtiSubmissionReviewRequest"]["target_link_uri"] == urls.launch
    # Not asked of a platform that does not say it sends them (Moodle 4.5).
    moodle = tool_config.tool_registration(urls, {})
    assert "LtiSubmissionReviewRequest" not in {
        m["type"] for m in moodle[tool_config.TOOL_CONFIGURATION]["messages"]
    }
    assert "LtiSubmissionReviewRequest" in tool_config.manual_configuration(urls)["messages"]

    response, _token, _state = lti_flow.launch(app, lti_client, "instructor-1", "deep_link")
    ls = parse_qs(urlsplit(response.headers["Location"]).query)["ls"][0]
    chosen = lti_client.post("/lti/deep-link", data={"ls": ls, "assessment": ASSESSMENT})
    token = chosen.get_data(as_text=True).split('name="JWT" value="')[1].split('"')[0]
    claims = jwt.decode(token, options={"verify_signature": False})
    item = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"][0]
    assert item["lineItem"]["submissionReview"] == {"reviewableStatus": ["Submitted", "Completed"]}
