"""The assessor's pages for one course activity (issue 8): only that course's learners, the
roster from NRPS, the marking queue, comments to the learner, the decision history and LTI
Submission Review launches. Through HTTP with launches signed by the development platform;
requests-mock answers the platform's token and NRPS endpoints."""

from __future__ import annotations

import itertools
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from werkzeug.datastructures import MultiDict

from tests import lti_flow
from tests.test_lti_pages import _bodies, _submit_keyed, _uuid, _view

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
