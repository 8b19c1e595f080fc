"""The development platform as a platform: its token endpoint, AGS 2.0 line items, scores and
results, NRPS 2.0 memberships, the claims its launches carry, and its gradebook page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import delete

from lti import dev_platform, keys
from lti.models import DevLineItem, DevPlatformMessage
from lti.service_tokens import ASSERTION_TYPE, client_assertion
from service import db
from tests import lti_flow
from tests.conftest import loaded_database, make_app

BASE = lti_flow.BASE
ISS = lti_flow.ISS
TOKEN_URL = f"{ISS}/token"
LINEITEMS = "/dev-platform/contexts/dev-course-1/lineitems"
MEMBERSHIPS = "/dev-platform/contexts/dev-course-1/memberships"
LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
SCORE = "application/vnd.ims.lis.v1.score+json"
ALL_SCOPES = " ".join(dev_platform.GRANTABLE_SCOPES)


@pytest.fixture(scope="module")
def platform_app(tmp_path_factory):
    """An app on a database of this module's own: the tests count line items and results."""
    with loaded_database(tmp_path_factory.mktemp("dev-platform")) as url:
        app = make_app(url, DEV_PLATFORM=True, loaded=True)
        lti_flow.register(app)
        yield app
        app.extensions["db_engine"].dispose()


@pytest.fixture()
def platform(platform_app):
    """The app and a client; the gradebook is emptied after each test (results and scores go
    with their line items)."""
    yield platform_app, platform_app.test_client()
    with platform_app.app_context():
        session = db.session()
        session.execute(delete(DevLineItem))
        session.execute(delete(DevPlatformMessage))
        session.commit()


def assertion(app, audience: str = TOKEN_URL, owner: str = "tool", **overrides) -> str:
    with app.app_context():
        key = keys.signing_key(db.session(), owner)
        return client_assertion(
            overrides.get("client_id", dev_platform.CLIENT_ID), audience, key.private_pem, key.kid
        )


def grant(client, signed: str, scope: str = ALL_SCOPES):
    return client.post(
        "/dev-platform/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed,
            "scope": scope,
        },
    )


def bearer(app, client, scope: str = ALL_SCOPES) -> dict:
    response = grant(client, assertion(app), scope)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def create(client, headers, **fields):
    body = {"label": "Assessment", "scoreMaximum": 100, **fields}
    response = client.post(
        LINEITEMS, data=json.dumps(body), headers={**headers, "Content-Type": LINEITEM}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def path(url: str) -> str:
    return url.removeprefix(BASE)


def score(client, headers, item_url, when, **fields):
    body = {
        "userId": "dev-learner-1",
        "scoreGiven": 21,
        "scoreMaximum": 50,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": when.isoformat(),
        **fields,
    }
    return client.post(
        path(item_url) + "/scores",
        data=json.dumps(body),
        headers={**headers, "Content-Type": SCORE},
    )


NOW = datetime(2026, 11, 28, 6, 0, 0, 500_000, tzinfo=UTC)


# --- the token endpoint ------------------------------------------------------------------------


def test_token_granted_for_an_assertion_signed_by_the_tool_key(platform):
    app, client = platform
    response = grant(client, assertion(app), "https://purl.imsglobal.org/spec/lti-ags/scope/score")
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["token_type"] == "Bearer" and answer["expires_in"] > 0
    assert answer["scope"] == "https://purl.imsglobal.org/spec/lti-ags/scope/score"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_registration_can_grant_every_scope_the_tool_asks_for():
    from lti.tool_config import SCOPES

    assert set(SCOPES) <= set(dev_platform.GRANTABLE_SCOPES)


@pytest.mark.parametrize(
    ("make", "status", "error"),
    [
        # signed by the platform's key, not the tool's
        (lambda app: assertion(app, owner=dev_platform.OWNER), 401, "invalid_client"),
        (lambda app: assertion(app, audience=f"{ISS}/elsewhere"), 401, "invalid_client"),
        (lambda app: assertion(app, client_id="someone-else"), 401, "invalid_client"),
        (lambda app: "not-a-jwt", 401, "invalid_client"),
    ],
)
def test_a_bad_assertion_gets_no_token(platform, make, status, error):
    app, client = platform
    response = grant(client, make(app))
    assert response.status_code == status and response.get_json()["error"] == error


def test_a_token_request_without_assertion_or_grantable_scope_is_refused(platform):
    app, client = platform
    response = client.post("/dev-platform/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    response = grant(client, assertion(app), "https://example.com/scope/other")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_scope"


def test_services_need_a_valid_token_with_the_right_scope(platform):
    app, client = platform
    assert client.get(LINEITEMS).status_code == 401
    forged = {"Authorization": f"Bearer {assertion(app)}"}  # the tool's own JWT is no token
    assert client.get(LINEITEMS, headers=forged).status_code == 401
    assert client.get(MEMBERSHIPS).status_code == 401
    score_only = bearer(app, client, "https://purl.imsglobal.org/spec/lti-ags/scope/score")
    response = client.get(LINEITEMS, headers=score_only)
    assert response.status_code == 403
    assert client.get(MEMBERSHIPS, headers=score_only).status_code == 403


# --- AGS -------------------------------------------------------------------------------------


def test_line_items_are_created_found_by_filter_and_paged(platform):
    app, client = platform
    headers = bearer(app, client)
    made = create(
        client,
        headers,
        resourceId="CSC-01-A1",
        resourceLinkId="dev-link-1",
        tag="assessment",
        submissionReview={"reviewableStatus": ["Submitted"]},
    )
    assert made["id"].startswith(f"{ISS}{LINEITEMS.removeprefix('/dev-platform')}/")
    assert made["submissionReview"] == {"reviewableStatus": ["Submitted"]}
    for number in range(3):
        create(client, headers, label=f"Criterion {number}", scoreMaximum=1, tag="criterion")
    found = client.get(LINEITEMS, query_string={"resource_id": "CSC-01-A1"}, headers=headers)
    assert found.content_type == "application/vnd.ims.lis.v2.lineitemcontainer+json"
    assert [item["id"] for item in found.get_json()] == [made["id"]]
    by_link = client.get(
        LINEITEMS, query_string={"resource_link_id": "dev-link-1"}, headers=headers
    )
    assert len(by_link.get_json()) == 1
    first = client.get(LINEITEMS, query_string={"tag": "criterion", "limit": 2}, headers=headers)
    assert [i["label"] for i in first.get_json()] == ["Criterion 0", "Criterion 1"]
    link = first.headers["Link"]
    assert link.endswith('; rel="next"')
    second = client.get(path(link.split(">")[0].lstrip("<")), headers=headers)
    assert [i["label"] for i in second.get_json()] == ["Criterion 2"]
    assert "Link" not in second.headers


def test_a_line_item_is_read_replaced_and_deleted(platform):
    app, client = platform
    headers = bearer(app, client)
    made = create(client, headers, resourceLinkId="dev-link-1")
    url = path(made["id"])
    got = client.get(url, headers=headers)
    assert got.status_code == 200 and got.content_type == LINEITEM
    body = {"label": "Renamed", "scoreMaximum": 10, "resourceLinkId": "other"}
    put = client.put(url, data=json.dumps(body), headers={**headers, "Content-Type": LINEITEM})
    assert put.status_code == 200
    assert put.get_json()["label"] == "Renamed" and put.get_json()["scoreMaximum"] == 10
    assert put.get_json()["resourceLinkId"] == "dev-link-1"
    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(url, headers=headers).status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"label": "", "scoreMaximum": 1}, {"label": "x", "scoreMaximum": 0}, {"label": "x"}, []],
)
def test_a_malformed_line_item_is_refused(platform, body):
    app, client = platform
    headers = {**bearer(app, client), "Content-Type": LINEITEM}
    assert client.post(LINEITEMS, data=json.dumps(body), headers=headers).status_code == 400


def test_scores_are_kept_and_read_back_as_results(platform):
    app, client = platform
    headers = bearer(app, client)
    item = create(client, headers, scoreMaximum=50)
    response = score(client, headers, item["id"], NOW, comment="well done")
    assert response.status_code == 200
    results = client.get(path(item["id"]) + "/results", headers=headers)
    assert results.content_type == "application/vnd.ims.lis.v2.resultcontainer+json"
    [result] = results.get_json()
    assert result["userId"] == "dev-learner-1" and result["resultScore"] == 21
    assert result["resultMaximum"] == 50 and result["comment"] == "well done"
    assert result["scoreOf"] == item["id"]
    # On the line item's scale, as Moodle reports it.
    score(client, headers, item["id"], NOW + timedelta(seconds=5), scoreGiven=1, scoreMaximum=2)
    filtered = client.get(
        path(item["id"]) + "/results", query_string={"user_id": "dev-learner-1"}, headers=headers
    )
    assert filtered.get_json()[0]["resultScore"] == 25
    none = client.get(
        path(item["id"]) + "/results", query_string={"user_id": "dev-learner-2"}, headers=headers
    )
    assert none.get_json() == []


def test_a_score_not_newer_than_the_one_held_is_refused_with_409(platform):
    app, client = platform
    headers = bearer(app, client)
    item = create(client, headers)
    assert score(client, headers, item["id"], NOW).status_code == 200
    # The same second, though later within it: Moodle compares whole seconds.
    same_second = NOW + timedelta(milliseconds=400)
    assert score(client, headers, item["id"], same_second, scoreGiven=40).status_code == 409
    assert score(client, headers, item["id"], NOW - timedelta(hours=1)).status_code == 409
    assert score(client, headers, item["id"], NOW + timedelta(seconds=1)).status_code == 200
    # Another learner has a score of their own.
    other = score(client, headers, item["id"], NOW, userId="dev-learner-2")
    assert other.status_code == 200


def test_a_score_that_is_not_fully_graded_blanks_the_grade(platform):
    app, client = platform
    headers = bearer(app, client)
    item = create(client, headers, scoreMaximum=50)
    score(client, headers, item["id"], NOW)
    pending = score(
        client,
        headers,
        item["id"],
        NOW + timedelta(seconds=2),
        gradingProgress="PendingManual",
        activityProgress="Submitted",
        comment="awaiting the assessor",
    )
    assert pending.status_code == 200
    [result] = client.get(path(item["id"]) + "/results", headers=headers).get_json()
    assert "resultScore" not in result and result["comment"] == "awaiting the assessor"


@pytest.mark.parametrize(
    ("fields", "content_type"),
    [
        ({"userId": "nobody"}, SCORE),
        ({"activityProgress": "Finished"}, SCORE),
        ({"scoreMaximum": None}, SCORE),
        ({"scoreGiven": -1}, SCORE),
        ({"timestamp": "2026-11-28T06:00:00"}, SCORE),  # no zone
        ({"timestamp": "yesterday"}, SCORE),
        ({}, "application/json"),  # the wrong media type: 415
    ],
)
def test_a_malformed_score_is_refused(platform, fields, content_type):
    app, client = platform
    headers = bearer(app, client)
    item = create(client, headers)
    body = {
        "userId": "dev-learner-1",
        "scoreGiven": 1,
        "scoreMaximum": 2,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": NOW.isoformat(),
    }
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post(
        path(item["id"]) + "/scores",
        data=json.dumps(body),
        headers={**headers, "Content-Type": content_type},
    )
    assert response.status_code == (415 if content_type != SCORE else 400)


# --- NRPS ------------------------------------------------------------------------------------


def test_memberships_list_the_roster_with_a_role_filter_and_pages(platform):
    app, client = platform
    headers = bearer(app, client)
    response = client.get(MEMBERSHIPS, headers=headers)
    assert response.content_type == "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
    body = response.get_json()
    assert body["context"]["id"] == "dev-course-1" and body["id"] == f"{BASE}{MEMBERSHIPS}"
    assert {m["user_id"] for m in body["members"]} == {
        "dev-learner-1",
        "dev-learner-2",
        "dev-instructor-1",
    }
    assert all("email" not in m for m in body["members"])
    learners = client.get(MEMBERSHIPS, query_string={"role": "Learner"}, headers=headers)
    assert [m["name"] for m in learners.get_json()["members"]] == ["Ada Learner", "Bilal Learner"]
    first = client.get(MEMBERSHIPS, query_string={"limit": 2}, headers=headers)
    assert len(first.get_json()["members"]) == 2
    following = first.headers["Link"].split(">")[0].lstrip("<")
    second = client.get(path(following), headers=headers)
    assert [m["user_id"] for m in second.get_json()["members"]] == ["dev-instructor-1"]
    assert "Link" not in second.headers
    for bad in ("0", "-1", "²", "x"):
        refused = client.get(MEMBERSHIPS, query_string={"limit": bad}, headers=headers)
        assert refused.status_code == 400


# --- launches and the page -------------------------------------------------------------------


def deep_link(app, client, requests_mock):
    """An instructor deep links CSC-03-A1 (with its lineItem) and the platform keeps it."""
    lti_flow.mock_platform_jwks(app, requests_mock)
    response, _token, _state = lti_flow.launch(app, client, "instructor-1", "deep_link")
    ls = response.headers["Location"].split("ls=")[1]
    chosen = client.post("/lti/deep-link", data={"ls": ls, "assessment": "CSC-03-A1"})
    token = chosen.get_data(as_text=True).split('name="JWT" value="')[1].split('"')[0]
    assert client.post("/dev-platform/deep-link-return", data={"JWT": token}).status_code == 303


def launch_claims(client, user="learner-1") -> dict:
    """The id_token the platform's authorisation endpoint signs for a resource link launch."""
    state, nonce = lti_flow.login(client, user)
    response = client.get(
        "/dev-platform/auth",
        query_string={
            "client_id": dev_platform.CLIENT_ID,
            "redirect_uri": f"{BASE}/lti/launch",
            "nonce": nonce,
            "state": state,
            "lti_message_hint": json.dumps({"user": user, "message": "resource"}),
        },
    )
    html = response.get_data(as_text=True)
    token = html.split('name="id_token" value="')[1].split('"')[0]
    return jwt.decode(token, options={"verify_signature": False})


def test_launches_carry_the_ags_nrps_context_and_resource_link_claims(platform, requests_mock):
    app, client = platform
    deep_link(app, client, requests_mock)
    claims = launch_claims(client)
    ags = claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]
    assert set(ags["scope"]) == set(dev_platform.AGS_SCOPES)
    assert ags["lineitems"] == f"{BASE}{LINEITEMS}"
    nrps = claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"]
    assert nrps == {"context_memberships_url": f"{BASE}{MEMBERSHIPS}", "service_versions": ["2.0"]}
    lti = "https://purl.imsglobal.org/spec/lti/claim/"
    assert claims[lti + "context"]["id"] == "dev-course-1"
    assert claims[lti + "tool_platform"]["product_family_code"] == "dev-platform"
    link = claims[lti + "resource_link"]
    assert link["id"].startswith("dev-link-") and claims[lti + "custom"] == {
        "assessment": "CSC-03-A1"
    }
    assert launch_claims(client, "learner-2")[lti + "resource_link"]["id"] == link["id"]
    # The deep link's lineItem became the link's line item, named in the launch.
    headers = bearer(app, client)
    item = client.get(path(ags["lineitem"]), headers=headers).get_json()
    assert item["resourceLinkId"] == link["id"] and item["resourceId"] == "CSC-03-A1"
    assert item["scoreMaximum"] == 100 and item["tag"] == "assessment"


def test_the_page_shows_the_gradebook_and_the_scores_received(platform, requests_mock):
    app, client = platform
    deep_link(app, client, requests_mock)
    headers = bearer(app, client)
    [activity] = client.get(LINEITEMS, headers=headers).get_json()
    met = create(client, headers, label="Greets the customer", scoreMaximum=1, tag="criterion")
    not_met = create(client, headers, label="Checks understanding", scoreMaximum=1, tag="criterion")
    score(client, headers, activity["id"], NOW, scoreGiven=70, scoreMaximum=100, comment="Good")
    score(client, headers, met["id"], NOW, scoreGiven=1, scoreMaximum=1)
    score(client, headers, not_met["id"], NOW, scoreGiven=0, scoreMaximum=1)
    score(client, headers, not_met["id"], NOW, scoreGiven=1, scoreMaximum=1)  # stale: 409
    page = client.get("/dev-platform/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<caption>Gradebook of CS101</caption>" in html
    assert '<th scope="col">Greets the customer</th>' in html
    assert '<th scope="row">Ada Learner' in html and '<th scope="row">Bilal Learner' in html
    assert "Ian Instructor <span" not in html  # the instructor is not a gradebook row
    assert "<td>70/100</td>" in html and "<td>Good</td>" in html
    assert '<td class="met">1 (met)</td>' in html
    assert '<td class="not-met">0 (not yet met)</td>' in html
    assert "refused (409)" in html and "<script>" not in html


# --- the tool's own AGS client against the dev platform ----------------------------------------


def route_to_app(client, requests_mock):
    """Send every request for the dev platform to the Flask test client, as HTTP would."""
    import re
    from urllib.parse import urlsplit

    import requests_mock as mocking

    def answer(request, context):
        parts = urlsplit(request.url)
        response = client.open(
            parts.path,
            method=request.method,
            query_string=parts.query,
            headers={k: v for k, v in request.headers.items() if k.lower() != "content-length"},
            data=request.body,
        )
        context.status_code = response.status_code
        context.headers = dict(response.headers)
        return response.get_data()

    requests_mock.register_uri(mocking.ANY, re.compile(rf"^{ISS}/"), content=answer)


def test_the_tools_ags_client_talks_to_the_dev_platform(platform, requests_mock):
    from lti.ags import AgsClient, AgsEndpoint, NewLineItem, score_payload
    from lti.service_calls import Delivered, StaleTimestamp
    from lti.service_tokens import ServiceTokens

    app, client = platform
    route_to_app(client, requests_mock)
    with app.app_context():
        platform_id = dev_platform.ensure_registered(db.session(), BASE).id
    endpoint = AgsEndpoint(
        scopes=tuple(dev_platform.AGS_SCOPES), lineitems=f"{BASE}{LINEITEMS}", lineitem=None
    )
    ags = AgsClient(ServiceTokens(app.extensions["db_engine"]), platform_id, endpoint)
    wanted = NewLineItem(
        label="CSC-01-A1", score_maximum=100, resource_id="CSC-01-A1", resource_link_id="dev-link-1"
    )
    item = ags.find_or_create_line_item(wanted)
    assert ags.find_or_create_line_item(wanted) == item  # found, not made twice
    for number in range(3):
        ags.create_line_item(NewLineItem(label=f"C{number}", score_maximum=1, tag="criterion"))
    assert [i.label for i in ags.line_items(tag="criterion")] == ["C0", "C1", "C2"]
    body = score_payload(
        user_id="dev-learner-1",
        activity_progress="Completed",
        grading_progress="FullyGraded",
        timestamp=NOW,
        score_given=80,
        score_maximum=100,
    )
    assert ags.post_score(item.id, body) == Delivered()
    assert isinstance(ags.post_score(item.id, body), StaleTimestamp)
    [result] = ags.results(item.id, user_id="dev-learner-1")
    assert result.result_score == 80 and result.score_of == item.id


# --- the page in a real browser ------------------------------------------------------------


def test_the_gradebook_page_passes_axe_and_fits_320_pixels(server, page):
    from lti.ags_vocabulary import ActivityProgress, GradingProgress
    from lti.models import DevResult, DevScore
    from tests.test_accessibility import check_axe, fits_320_css_pixels, no_console_errors

    with server["app"].app_context():
        session = db.session()
        dev_platform.ensure_registered(session, server["base"])
        activity = DevLineItem(context_id="dev-course-1", label="CSC-01-A1", score_maximum=100)
        criteria = [
            DevLineItem(context_id="dev-course-1", label=f"Criterion {n}", score_maximum=1)
            for n in range(1, 4)
        ]
        for item in criteria:
            item.tag = dev_platform.CRITERION_TAG
        session.add_all([activity, *criteria])
        session.flush()
        graded = {
            "user_id": "dev-learner-1",
            "activity_progress": ActivityProgress.COMPLETED,
            "grading_progress": GradingProgress.FULLY_GRADED,
            "timestamp": NOW,
        }
        session.add_all(
            [
                DevResult(line_item_id=activity.id, score_given=70, score_maximum=100, **graded),
                DevResult(line_item_id=criteria[0].id, score_given=1, score_maximum=1, **graded),
                DevResult(line_item_id=criteria[1].id, score_given=0, score_maximum=1, **graded),
                DevScore(
                    line_item_id=activity.id,
                    score_given=70,
                    score_maximum=100,
                    accepted=True,
                    **graded,
                ),
            ]
        )
        session.commit()
    page.goto(f"{server['base']}/dev-platform/")
    assert "70/100" in page.locator("table").first.inner_text()
    check_axe(page, "development platform gradebook")
    fits_320_css_pixels(page)
    no_console_errors(page)
