"""LTI Submission Review: a click on a grade in the gradebook launches the tool with
LtiSubmissionReviewRequest and for_user; staff see that learner's attempt in their own course
activity, a learner only their own work."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import jwt

from lti import tool_config
from lti.launch import FOR_USER
from lti.tool_config import ToolUrls
from service import db
from tests import lti_flow
from tests.test_lti_pages import (  # noqa: F401
    ASSESSMENT,
    _learner,
    _submit_keyed,
    _view,
    lti_client,
)

REVIEW = "LtiSubmissionReviewRequest"


def _review_launch(app, client, user, for_user, link="dev-link-1", extra=None, sub=None):
    def mutate(claims):
        if sub:
            claims["sub"] = sub
        claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] = REVIEW
        claims["https://purl.imsglobal.org/spec/lti/claim/resource_link"]["id"] = link
        # A review launch names the line item whose grade was clicked.
        ags = claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]
        ags["lineitem"] = ags["lineitems"].split("?")[0] + "/1"
        claims[FOR_USER] = {
            "user_id": for_user,
            "email": "learner@example.org",
            "name": "Some Learner",
            **(extra or {}),
        }

    custom = {"assessment": ASSESSMENT}
    response, _, _ = lti_flow.launch(app, client, user, custom=custom, mutate=mutate)
    return response


def _follow(client, response):
    assert response.status_code == 303, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert urlsplit(location).path == "/lti/review"
    return client.get(location), parse_qs(urlsplit(location).query)["ls"][0]


def test_an_instructor_reviewing_a_grade_opens_that_learners_attempt(app, lti_client):  # noqa: F811
    learner = _learner(app, lti_client)
    _submit_keyed(app, lti_client, learner)
    attempt_id = _view(app, learner["sub"])["id"]
    page, ls = _follow(lti_client, _review_launch(app, lti_client, "instructor-1", learner["sub"]))
    assert page.status_code == 303
    assert urlsplit(page.headers["Location"]).path == f"/lti/assessor/attempt/{attempt_id}"
    marking = lti_client.get(page.headers["Location"])
    assert marking.status_code == 200
    # The session keeps whose work it is, and nothing else of the for_user claim.
    with app.app_context():
        from lti import sessions

        row = sessions.find(db.session(), ls)
        assert row.claims[FOR_USER] == {"user_id": learner["sub"]}
        assert "learner@example.org" not in json.dumps(row.claims)


def test_an_instructor_of_another_course_activity_finds_no_attempt(app, lti_client):  # noqa: F811
    learner = _learner(app, lti_client)
    _submit_keyed(app, lti_client, learner)
    response = _review_launch(app, lti_client, "instructor-1", learner["sub"], link="other-link")
    page, _ = _follow(lti_client, response)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "No attempt to review" in html
    assert _view(app, learner["sub"])["id"] not in html


def test_a_learner_reviews_their_own_work_and_never_anothers(app, lti_client):  # noqa: F811
    learner = _learner(app, lti_client)
    _submit_keyed(app, lti_client, learner)
    mine = _review_launch(app, lti_client, "learner-1", learner["sub"], sub=learner["sub"])
    page, _ = _follow(lti_client, mine)
    assert page.status_code == 303 and urlsplit(page.headers["Location"]).path == "/lti/attempt"
    other = _review_launch(app, lti_client, "learner-1", learner["sub"], sub="review-someone-else")
    refused, _ = _follow(lti_client, other)
    assert refused.status_code == 403
    # A review never starts a timed attempt: with none, there is nothing to show.
    fresh = _review_launch(app, lti_client, "learner-1", "review-new", sub="review-new")
    nothing, _ = _follow(lti_client, fresh)
    assert nothing.status_code == 200 and "No attempt to review" in nothing.get_data(as_text=True)


def test_a_review_launch_without_a_usable_for_user_is_refused(app, lti_client):  # noqa: F811
    response = _review_launch(app, lti_client, "instructor-1", "x" * 256)
    assert response.status_code == 400
    response = _review_launch(app, lti_client, "instructor-1", "", extra={"user_id": 7})
    assert response.status_code == 400


def test_the_review_page_is_only_for_review_launches(app, lti_client):  # noqa: F811
    response, _, _ = lti_flow.launch(
        app, lti_client, "instructor-1", custom={"assessment": ASSESSMENT}
    )
    ls = parse_qs(urlsplit(response.headers["Location"]).query)["ls"][0]
    assert lti_client.get("/lti/review", query_string={"ls": ls}).status_code == 403


def test_deep_link_line_items_declare_submission_review(app, lti_client):  # noqa: F811
    response, _, _ = lti_flow.launch(app, lti_client, "instructor-1", message="deep_link")
    ls = parse_qs(urlsplit(response.headers["Location"]).query)["ls"][0]
    chosen = lti_client.post("/lti/deep-link", data={"ls": ls, "assessment": ASSESSMENT})
    assert chosen.status_code == 200
    html = chosen.get_data(as_text=True)
    token = html.split('name="JWT" value="', 1)[1].split('"', 1)[0]
    items = jwt.decode(token, options={"verify_signature": False})[
        "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
    ]
    assert items[0]["lineItem"]["submissionReview"] == {
        "reviewableStatus": ["Submitted", "Completed"]
    }


def test_registration_asks_for_review_launches_only_where_the_platform_sends_them():
    urls = ToolUrls(
        login="https://tool.example/lti/login",
        launch="https://tool.example/lti/launch",
        jwks="https://tool.example/lti/jwks",
        logo="https://tool.example/logo.svg",
    )
    platform = "https://purl.imsglobal.org/spec/lti-platform-configuration"
    moodle = {platform: {"messages_supported": [{"type": "LtiResourceLinkRequest"}]}}
    reviewing = {platform: {"messages_supported": [{"type": REVIEW}]}}

    def types(config):
        registration = tool_config.tool_registration(urls, config)
        messages = registration["https://purl.imsglobal.org/spec/lti-tool-configuration"]
        return {m["type"] for m in messages["messages"]}

    assert REVIEW not in types(moodle)
    assert REVIEW in types(reviewing)
