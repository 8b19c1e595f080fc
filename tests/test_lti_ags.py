"""LTI Advantage service calls: access tokens (lti/service_tokens.py), the AGS client (lti/ags.py)
and how every answer is classified (lti/service_calls.py).

The platform is a Moodle 4.5.6 as captured in tests/data/captures (its URLs, claim, line items
and results), answered by requests-mock. Each test gets its own database.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs

import jwt
import pytest
import requests
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lti import keys, sessions
from lti.ags import (
    CANVAS_SUBMISSION,
    CLAIM,
    ActivityProgress,
    AgsClient,
    AgsEndpoint,
    CanvasSubmission,
    GradingProgress,
    LineItem,
    NewLineItem,
    SubmissionReview,
    line_item_payload,
    score_payload,
    service_url,
)
from lti.models import LtiPlatform, LtiServiceToken
from lti.service_calls import (
    Delivered,
    Refused,
    RetryLater,
    ServiceFailure,
    ServiceSettings,
    StaleTimestamp,
    TokenRejected,
    retry_after_seconds,
)
from lti.service_tokens import ServiceTokens
from service import create_app, migrations
from service.models import utcnow
from tests.conftest import isolated_database

CAPTURES = Path(__file__).resolve().parent / "data" / "captures" / "moodle-4.5.6"
EXCHANGE = json.loads((CAPTURES / "ags-exchange.json").read_text())
LAUNCH = json.loads((CAPTURES / "resource-link-launch.json").read_text())["payload"]

ISSUER = LAUNCH["iss"]
CLIENT_ID = LAUNCH["aud"]
TOKEN_URL = f"{ISSUER}/mod/lti/token.php"
AGS_CLAIM = LAUNCH[CLAIM]
LINEITEMS_URL = AGS_CLAIM["lineitems"]  # .../2/lineitems?type_id=1
LINEITEMS = EXCHANGE["get_lineitems"][1]
DEEP_LINKED = LINEITEMS[2]  # the line item made by deep linking, with resourceId and tag
SCORES_URL = f"{ISSUER}/mod/lti/services.php/2/lineitems/4/lineitem/scores?type_id=1"
RESULTS_URL = f"{ISSUER}/mod/lti/services.php/2/lineitems/4/lineitem/results?type_id=1"
SCORE_SCOPES = EXCHANGE["token_scope"]  # Moodle grants the four AGS scopes, space-separated
WHEN = datetime(2026, 11, 23, 13, 45, 12, 345678, tzinfo=UTC)


def token_answer(token: str = "moodle-token-1", expires_in: int = 3600) -> dict:
    """Moodle's token.php answer, with the scopes it granted in the capture."""
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": SCORE_SCOPES,
    }


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture()
def database_url(tmp_path):
    with isolated_database(tmp_path) as url:
        migrations.upgrade(url)
        yield url


def tool_app(database_url: str):
    """An app instance, as one process of the tool would have (no content needed here)."""
    return create_app({"TESTING": True, "DATABASE_URL": database_url, "DEV_PLATFORM": False})


@pytest.fixture()
def app(database_url):
    application = tool_app(database_url)
    yield application
    application.extensions["db_engine"].dispose()


@pytest.fixture()
def engine(app):
    return app.extensions["db_engine"]


@pytest.fixture()
def platform_id(engine) -> int:
    """The captured Moodle, registered, and the tool's signing key."""
    with Session(engine) as session:
        platform = LtiPlatform(
            name="Moodle 4.5.6",
            issuer=ISSUER,
            client_id=CLIENT_ID,
            auth_login_url=f"{ISSUER}/mod/lti/auth.php",
            auth_token_url=TOKEN_URL,
            key_set_url=f"{ISSUER}/mod/lti/certs.php",
            active=True,
        )
        session.add(platform)
        session.commit()
        keys.signing_key(session)
        return platform.id


@pytest.fixture()
def tokens(engine) -> ServiceTokens:
    return ServiceTokens(engine)


@pytest.fixture()
def client(tokens, platform_id) -> AgsClient:
    return AgsClient(tokens, platform_id, AgsEndpoint.from_claim(AGS_CLAIM))


@pytest.fixture()
def moodle(requests_mock):
    """The token endpoint answering with one token per request: moodle-token-1, -2, ..."""
    issued = iter(range(1, 100))
    requests_mock.post(
        TOKEN_URL, json=lambda request, context: token_answer(f"moodle-token-{next(issued)}")
    )
    return requests_mock


def token_form(request) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(request.text).items()}


def token_requests(mock) -> list:
    return [r for r in mock.request_history if r.url == TOKEN_URL]


def stored_tokens(engine) -> list[LtiServiceToken]:
    with Session(engine) as session:
        return list(session.scalars(select(LtiServiceToken)))


# --- access tokens ---------------------------------------------------------------------------


def test_token_request_is_a_client_credentials_grant_with_a_signed_assertion(
    engine, tokens, platform_id, moodle
):
    scopes = AGS_CLAIM["scope"]
    before = int(datetime.now(UTC).timestamp())
    assert tokens.get(platform_id, reversed(scopes)) == "moodle-token-1"

    (request,) = token_requests(moodle)
    form = token_form(request)
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"] == (
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )
    assert form["scope"] == " ".join(sorted(scopes))
    assert request.headers["User-Agent"]
    assert request.timeout == (5.0, 20.0)

    with Session(engine) as session:
        signing = keys.signing_key(session)
    assertion = form["client_assertion"]
    assert jwt.get_unverified_header(assertion) == {
        "alg": "RS256",
        "typ": "JWT",
        "kid": signing.kid,
    }
    public_key = RSAAlgorithm.from_jwk(json.dumps(signing.public_jwk))
    claims = jwt.decode(assertion, public_key, algorithms=["RS256"], audience=TOKEN_URL)
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert before <= claims["iat"] <= before + 5
    assert claims["exp"] == claims["iat"] + 300
    assert claims["jti"]


def test_assertion_audience_is_auth_audience_when_registered(engine, tokens, platform_id, moodle):
    with Session(engine) as session:
        session.execute(
            update(LtiPlatform).values(auth_audience="https://moodle.example/oauth2/aud")
        )
        session.commit()
    tokens.get(platform_id, AGS_CLAIM["scope"])
    (request,) = token_requests(moodle)
    assertion = token_form(request)["client_assertion"]
    assert jwt.decode(assertion, options={"verify_signature": False})["aud"] == (
        "https://moodle.example/oauth2/aud"
    )


def test_token_signed_with_the_current_key_after_rotation(engine, tokens, platform_id, moodle):
    with Session(engine) as session:
        newest = keys.rotate(session).kid
    tokens.get(platform_id, AGS_CLAIM["scope"])
    assertion = token_form(token_requests(moodle)[0])["client_assertion"]
    assert jwt.get_unverified_header(assertion)["kid"] == newest


def test_token_is_cached_one_per_platform_and_scope_set(engine, tokens, platform_id, moodle):
    scopes = AGS_CLAIM["scope"]
    assert tokens.get(platform_id, scopes) == "moodle-token-1"
    # Same set in another order: the same row, no request.
    assert tokens.get(platform_id, list(reversed(scopes))) == "moodle-token-1"
    assert len(token_requests(moodle)) == 1
    # Another set: its own token.
    assert tokens.get(platform_id, scopes[:1]) == "moodle-token-2"
    rows = stored_tokens(engine)
    assert sorted(r.scope_set for r in rows) == sorted([" ".join(sorted(scopes)), scopes[0]])
    expires = {r.token: r.expires_at for r in rows}
    assert timedelta(seconds=3590) < expires["moodle-token-1"] - utcnow() <= timedelta(hours=1)


def test_token_cache_is_shared_by_two_app_instances(database_url, platform_id, moodle):
    first, second = tool_app(database_url), tool_app(database_url)
    try:
        one = ServiceTokens(first.extensions["db_engine"])
        other = ServiceTokens(second.extensions["db_engine"])
        assert one.get(platform_id, AGS_CLAIM["scope"]) == "moodle-token-1"
        assert other.get(platform_id, AGS_CLAIM["scope"]) == "moodle-token-1"
        assert len(token_requests(moodle)) == 1
    finally:
        first.extensions["db_engine"].dispose()
        second.extensions["db_engine"].dispose()


@pytest.mark.parametrize(("seconds_left", "refetched"), [(59, True), (61, False), (-5, True)])
def test_token_refetched_within_the_expiry_margin(
    engine, tokens, platform_id, moodle, seconds_left, refetched
):
    tokens.get(platform_id, AGS_CLAIM["scope"])
    with Session(engine) as session:
        session.execute(
            update(LtiServiceToken).values(expires_at=utcnow() + timedelta(seconds=seconds_left))
        )
        session.commit()
    expected = "moodle-token-2" if refetched else "moodle-token-1"
    assert tokens.get(platform_id, AGS_CLAIM["scope"]) == expected
    assert len(token_requests(moodle)) == (2 if refetched else 1)
    assert [r.token for r in stored_tokens(engine)] == [expected]


def test_concurrent_refreshes_upsert_one_row(engine, tokens, platform_id):
    """Two processes that both missed the cache both store: no error, one row, the token that
    lasts longer kept."""
    scope_set = " ".join(sorted(AGS_CLAIM["scope"]))
    later = utcnow() + timedelta(hours=1)
    other = ServiceTokens(engine)
    tokens._store(platform_id, scope_set, "from-process-a", later)
    other._store(platform_id, scope_set, "from-process-b", later - timedelta(seconds=1))
    assert [r.token for r in stored_tokens(engine)] == ["from-process-a"]
    other._store(platform_id, scope_set, "from-process-c", later + timedelta(seconds=1))
    assert [r.token for r in stored_tokens(engine)] == ["from-process-c"]


def test_concurrent_refreshes_from_two_processes_do_not_fail(database_url, platform_id, moodle):
    """Both miss the cache (neither asks the platform until both have looked), both fetch, both
    store: neither fails and one row remains. (requests-mock answers one request at a time, so
    the two processes meet before their requests.)"""
    both_looked = threading.Barrier(2, timeout=10)

    class Racing(ServiceTokens):
        def _request(self, *args):
            both_looked.wait()
            return super()._request(*args)

    apps = [tool_app(database_url), tool_app(database_url)]
    got, errors = [], []

    def fetch(app):
        try:
            got.append(Racing(app.extensions["db_engine"]).get(platform_id, ["a", "b"]))
        except Exception as error:  # noqa: BLE001 - the test reports any failure
            errors.append(error)

    threads = [threading.Thread(target=fetch, args=(app,)) for app in apps]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []
        assert sorted(got) == ["moodle-token-1", "moodle-token-2"]
        with Session(apps[0].extensions["db_engine"]) as session:
            (row,) = session.scalars(select(LtiServiceToken)).all()
        assert row.token in got and row.scope_set == "a b"
    finally:
        for app in apps:
            app.extensions["db_engine"].dispose()


def test_discard_drops_only_the_refused_token(engine, tokens, platform_id, moodle):
    tokens.get(platform_id, AGS_CLAIM["scope"])
    tokens.discard(platform_id, AGS_CLAIM["scope"], "some-other-token")
    assert len(stored_tokens(engine)) == 1
    tokens.discard(platform_id, AGS_CLAIM["scope"], "moodle-token-1")
    assert stored_tokens(engine) == []


def test_token_missing_expires_in_gets_a_short_default_lifetime(
    engine, tokens, platform_id, requests_mock
):
    requests_mock.post(TOKEN_URL, json={"access_token": "t", "token_type": "Bearer"})
    tokens.get(platform_id, AGS_CLAIM["scope"])
    (row,) = stored_tokens(engine)
    assert timedelta(seconds=290) < row.expires_at - utcnow() <= timedelta(seconds=300)


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ({"status_code": 500, "text": "oops"}, RetryLater),
        ({"status_code": 503, "headers": {"Retry-After": "30"}}, RetryLater),
        ({"status_code": 400, "json": {"error": "invalid_scope"}}, Refused),
        ({"status_code": 401, "json": {"error": "invalid_client"}}, TokenRejected),
        ({"status_code": 200, "json": {"token_type": "Bearer"}}, Refused),
        ({"status_code": 200, "text": "<html>maintenance</html>"}, Refused),
        ({"exc": requests.exceptions.ConnectTimeout}, RetryLater),
        ({"exc": requests.exceptions.ConnectionError}, RetryLater),
    ],
)
def test_token_endpoint_failures_are_classified(
    engine, tokens, platform_id, requests_mock, answer, outcome
):
    requests_mock.post(TOKEN_URL, **answer)
    with pytest.raises(ServiceFailure) as raised:
        tokens.get(platform_id, AGS_CLAIM["scope"])
    assert type(raised.value.outcome) is outcome
    assert stored_tokens(engine) == []


def test_tokens_are_never_logged(tokens, platform_id, client, moodle, caplog):
    moodle.post(SCORES_URL, [{"status_code": 401}, {"status_code": 200, "text": ""}])
    caplog.set_level(logging.DEBUG)
    assert isinstance(client.post_score(DEEP_LINKED["id"], a_score()), Delivered)
    assert caplog.records
    assert "moodle-token" not in caplog.text
    assert "client_assertion" not in caplog.text


# --- line items ------------------------------------------------------------------------------


def test_line_items_follow_next_links_with_the_query_kept(client, moodle):
    second_page = f"{ISSUER}/mod/lti/services.php/2/lineitems?type_id=1&page=2"
    moodle.get(
        LINEITEMS_URL,
        json=LINEITEMS[:2],
        headers={"Link": f'<{second_page}>; rel="next", <{LINEITEMS_URL}>; rel="first"'},
        complete_qs=True,
    )
    moodle.get(second_page, json=LINEITEMS[2:], complete_qs=True)

    items = client.line_items()

    assert [item.id for item in items] == [entry["id"] for entry in LINEITEMS]
    gets = [r for r in moodle.request_history if r.method == "GET"]
    assert [r.url for r in gets] == [LINEITEMS_URL, second_page]
    for request in gets:
        assert request.headers["Accept"] == "application/vnd.ims.lis.v2.lineitemcontainer+json"
        assert request.headers["Authorization"] == "Bearer moodle-token-1"
        assert request.headers["User-Agent"]
        assert request.timeout == (5.0, 20.0)
    assert len(token_requests(moodle)) == 1


def test_line_items_from_the_capture(client, moodle):
    moodle.get(LINEITEMS_URL, json=LINEITEMS)
    default, extra, deep_linked = client.line_items()
    # Moodle sends "" for what is unset.
    assert default == LineItem(
        id=LINEITEMS[0]["id"], label="Stub LTI activity", score_maximum=10, resource_link_id="1"
    )
    assert (extra.resource_id, extra.tag, extra.score_maximum) == ("extra-1", "extra", 20)
    assert deep_linked.resource_link_id == "2"


def test_find_line_item_sends_filters_and_checks_them_again(client, moodle):
    # This platform ignores the filters and answers with everything.
    moodle.get(LINEITEMS_URL, json=LINEITEMS)

    found = client.find_line_item(resource_id="dl-res-42", tag="dl")
    assert found.id == DEEP_LINKED["id"]
    query = moodle.request_history[-1].qs
    assert query == {"type_id": ["1"], "resource_id": ["dl-res-42"], "tag": ["dl"]}

    assert client.find_line_item(resource_link_id="1").label == "Stub LTI activity"
    assert client.find_line_item(resource_link_id="1", tag="extra").label == "Stub extra column"
    assert client.find_line_item(resource_id="dl-res-42", tag="other") is None


class FakeMoodleLineItems:
    """A line items container that remembers what the tool creates (Moodle with "grade sync
    and column management")."""

    def __init__(self, mock) -> None:
        self.items = [dict(item) for item in LINEITEMS]
        mock.get(LINEITEMS_URL, json=lambda request, context: self.items)
        mock.post(LINEITEMS_URL, json=self.create)

    def create(self, request, context):
        assert request.headers["Content-Type"] == "application/vnd.ims.lis.v2.lineitem+json"
        assert request.headers["Accept"] == "application/vnd.ims.lis.v2.lineitem+json"
        item = {
            **request.json(),
            "id": f"{ISSUER}/mod/lti/services.php/2/lineitems/{len(self.items) + 2}"
            "/lineitem?type_id=1",
        }
        self.items.append(item)
        context.status_code = 201
        return item


def test_find_or_create_never_duplicates(client, moodle):
    platform = FakeMoodleLineItems(moodle)
    wanted = NewLineItem(
        label="CSC-01 knowledge check",
        score_maximum=100,
        resource_id="csc-01-kc",
        tag="grade",
        resource_link_id="1",
    )

    created = client.find_or_create_line_item(wanted)
    again = client.find_or_create_line_item(wanted)
    existing = client.find_or_create_line_item(
        NewLineItem(label="Deep-linked", score_maximum=50, resource_id="dl-res-42", tag="dl")
    )

    assert again == created
    assert created.resource_id == "csc-01-kc" and created.score_maximum == 100
    assert existing.id == DEEP_LINKED["id"]
    posts = [r for r in moodle.request_history if r.method == "POST" and r.url == LINEITEMS_URL]
    assert len(posts) == 1
    assert len(platform.items) == len(LINEITEMS) + 1


def test_line_item_payload():
    review = SubmissionReview(label="Open in the tool", custom={"view": "review"})
    payload = line_item_payload(
        NewLineItem(
            label="CSC-01",
            score_maximum=24,
            resource_id="csc-01",
            tag="criteria",
            resource_link_id="1",
            submission_review=review,
        )
    )
    assert payload == {
        "label": "CSC-01",
        "scoreMaximum": 24,
        "resourceId": "csc-01",
        "tag": "criteria",
        "resourceLinkId": "1",
        "submissionReview": {
            "reviewableStatus": ["Submitted", "Completed"],
            "label": "Open in the tool",
            "custom": {"view": "review"},
        },
    }
    assert line_item_payload(NewLineItem(label="Only", score_maximum=1)) == {
        "label": "Only",
        "scoreMaximum": 1,
    }
    for bad in (NewLineItem(label=" ", score_maximum=1), NewLineItem(label="x", score_maximum=0)):
        with pytest.raises(ValueError):
            line_item_payload(bad)


def test_creating_needs_the_lineitem_scope(tokens, platform_id, moodle):
    readonly = dict(AGS_CLAIM, scope=[s for s in AGS_CLAIM["scope"] if not s.endswith("lineitem")])
    client = AgsClient(tokens, platform_id, AgsEndpoint.from_claim(readonly))
    with pytest.raises(ServiceFailure) as raised:
        client.create_line_item(NewLineItem(label="x", score_maximum=1))
    assert isinstance(raised.value.outcome, Refused)
    assert moodle.request_history == []


# --- scores and results ----------------------------------------------------------------------


def a_score(**overrides) -> dict:
    values = {
        "user_id": LAUNCH["sub"],
        "activity_progress": ActivityProgress.COMPLETED,
        "grading_progress": GradingProgress.FULLY_GRADED,
        "timestamp": WHEN,
        "score_given": 21,
        "score_maximum": 50,
        "comment": "stub passback",
    }
    return score_payload(**(values | overrides))


def test_score_payload():
    assert a_score() == {
        "userId": "4",
        "scoreGiven": 21,
        "scoreMaximum": 50,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": "2026-11-23T13:45:12.345+00:00",
        "comment": "stub passback",
    }
    # Awaiting a marker: no score, a submission.
    pending = score_payload(
        user_id="4",
        activity_progress=ActivityProgress.SUBMITTED,
        grading_progress=GradingProgress.PENDING_MANUAL,
        timestamp=WHEN.astimezone(timezone(timedelta(hours=-5))),
    )
    assert pending == {
        "userId": "4",
        "activityProgress": "Submitted",
        "gradingProgress": "PendingManual",
        "timestamp": "2026-11-23T13:45:12.345+00:00",  # converted to UTC
    }


def test_score_payload_refuses_what_platforms_refuse():
    with pytest.raises(ValueError):
        a_score(timestamp=WHEN.replace(tzinfo=None))
    with pytest.raises(ValueError):
        a_score(score_maximum=None)
    with pytest.raises(ValueError):
        a_score(score_given=-1)
    with pytest.raises(ValueError):
        a_score(score_maximum=0)
    with pytest.raises(ValueError):
        a_score(grading_progress="Graded")


def test_score_payload_canvas_submission_extension():
    payload = a_score(
        canvas_submission=CanvasSubmission(
            submission_type="basic_lti_launch",
            submission_data="https://tool.example/attempts/7",
            submitted_at=WHEN - timedelta(minutes=5),
        )
    )
    assert payload[CANVAS_SUBMISSION] == {
        "new_submission": True,
        "submission_type": "basic_lti_launch",
        "submission_data": "https://tool.example/attempts/7",
        "submitted_at": "2026-11-23T13:40:12.345+00:00",
    }


def test_scores_and_results_urls_keep_moodles_query():
    assert service_url(DEEP_LINKED["id"], "scores") == SCORES_URL
    assert service_url(DEEP_LINKED["id"], "results") == RESULTS_URL
    assert service_url("https://canvas.example/api/lti/courses/1/line_items/7/", "scores") == (
        "https://canvas.example/api/lti/courses/1/line_items/7/scores"
    )


def test_post_score_to_the_scores_url(client, moodle):
    moodle.post(SCORES_URL, status_code=EXCHANGE["post_score"][0], text=EXCHANGE["post_score"][1])

    assert client.post_score(DEEP_LINKED["id"], a_score()) == Delivered()

    (request,) = [r for r in moodle.request_history if r.url == SCORES_URL]
    assert request.qs == {"type_id": ["1"]}
    assert request.headers["Content-Type"] == "application/vnd.ims.lis.v1.score+json"
    assert request.headers["Authorization"] == "Bearer moodle-token-1"
    assert request.headers["User-Agent"]
    assert request.timeout == (5.0, 20.0)
    assert request.json() == a_score()


def test_results_from_the_capture(client, moodle):
    status, body = EXCHANGE["get_results"]
    moodle.get(RESULTS_URL, status_code=status, text=body)

    (result,) = client.results(DEEP_LINKED["id"], user_id="4")

    assert moodle.request_history[-1].qs == {"type_id": ["1"], "user_id": ["4"]}
    assert moodle.request_history[-1].headers["Accept"] == (
        "application/vnd.ims.lis.v2.resultcontainer+json"
    )
    assert (result.user_id, result.result_score, result.result_maximum) == ("4", 21, 50)
    assert result.comment == "stub passback"
    assert result.score_of == DEEP_LINKED["id"]


def test_client_for_a_launch_session(engine, tokens, platform_id):
    with Session(engine) as session:
        platform = session.get(LtiPlatform, platform_id)
        token = sessions.start(session, platform, LAUNCH, timedelta(minutes=90)).token
        session.commit()
        lti_session = sessions.find(session, token)
    client = AgsClient.for_launch(tokens, lti_session)
    assert client.platform_id == platform_id
    assert client.endpoint.lineitems == LINEITEMS_URL
    assert client.endpoint.lineitem == AGS_CLAIM["lineitem"]
    assert set(client.endpoint.scopes) == set(AGS_CLAIM["scope"])
    assert AgsClient.for_launch(tokens, SimpleNamespace(claims={}, platform_id=1)) is None


# --- outcomes --------------------------------------------------------------------------------

MOODLE_STALE = "Refusing score with an earlier timestamp for item 4 and user 4"
CANVAS_STALE = {
    "errors": {
        "type": "bad_request",
        "message": "Provided timestamp of 2026-11-23T13:45:12.345+00:00 before last updated "
        "timestamp of 2026-11-23T13:50:00.000Z",
    }
}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"status_code": 409, "text": MOODLE_STALE}, StaleTimestamp),
        ({"status_code": 400, "json": CANVAS_STALE}, StaleTimestamp),
        # Canvas's other timestamp 400s are real errors.
        ({"status_code": 400, "text": "Provided timestamp of x not a valid timestamp"}, Refused),
        ({"status_code": 400, "text": "Incorrect score received"}, Refused),
        ({"status_code": 404, "text": "No line item"}, Refused),
        ({"status_code": 403}, Refused),
        ({"status_code": 422, "text": "User not found in course or is not a student"}, Refused),
        ({"status_code": 500}, RetryLater),
        ({"status_code": 502}, RetryLater),
        ({"status_code": 408}, RetryLater),
        ({"status_code": 429}, RetryLater),
        ({"exc": requests.exceptions.ReadTimeout}, RetryLater),
        ({"exc": requests.exceptions.ConnectTimeout}, RetryLater),
        ({"exc": requests.exceptions.ConnectionError}, RetryLater),
        ({"exc": requests.exceptions.TooManyRedirects}, Refused),
    ],
)
def test_score_outcomes(client, moodle, answer, expected):
    moodle.post(SCORES_URL, **answer)
    outcome = client.post_score(DEEP_LINKED["id"], a_score())
    assert type(outcome) is expected


def test_retry_after_in_seconds_and_as_a_date(client, moodle):
    moodle.post(SCORES_URL, status_code=429, headers={"Retry-After": "120"})
    assert client.post_score(DEEP_LINKED["id"], a_score()).retry_after == 120

    in_90_seconds = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    moodle.post(SCORES_URL, status_code=503, headers={"Retry-After": in_90_seconds})
    outcome = client.post_score(DEEP_LINKED["id"], a_score())
    assert isinstance(outcome, RetryLater)
    assert 85 <= outcome.retry_after <= 90

    moodle.post(SCORES_URL, status_code=500)
    assert client.post_score(DEEP_LINKED["id"], a_score()).retry_after is None


def test_retry_after_parsing():
    now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    assert retry_after_seconds("0", now) == 0
    assert retry_after_seconds("Sat, 28 Nov 2026 03:01:30 GMT", now) == 90
    assert retry_after_seconds("Sat, 28 Nov 2026 02:59:00 GMT", now) == 0  # already past
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_permanent_failure_keeps_the_answer_truncated(client, moodle):
    moodle.post(SCORES_URL, status_code=404, text="No such line item " + "x" * 5000)
    outcome = client.post_score(DEEP_LINKED["id"], a_score())
    assert isinstance(outcome, Refused)
    assert "No such line item" in outcome.detail
    assert len(outcome.detail) < 600


def test_409_outside_a_score_post_is_not_stale(client, moodle):
    moodle.post(LINEITEMS_URL, status_code=409, text="conflict")
    with pytest.raises(ServiceFailure) as raised:
        client.create_line_item(NewLineItem(label="x", score_maximum=1))
    assert isinstance(raised.value.outcome, Refused)


def test_reads_raise_with_the_outcome(client, moodle):
    moodle.get(LINEITEMS_URL, status_code=503, headers={"Retry-After": "7"})
    with pytest.raises(ServiceFailure) as raised:
        client.line_items()
    assert raised.value.outcome == RetryLater(raised.value.outcome.reason, 7)

    moodle.get(LINEITEMS_URL, exc=requests.exceptions.ReadTimeout)
    with pytest.raises(ServiceFailure) as raised:
        client.line_items()
    assert isinstance(raised.value.outcome, RetryLater)


def test_a_refused_token_is_dropped_and_the_request_made_once_more(engine, client, moodle):
    moodle.post(SCORES_URL, [{"status_code": 401, "text": "expired"}, {"status_code": 200}])

    assert client.post_score(DEEP_LINKED["id"], a_score()) == Delivered()

    scores = [r for r in moodle.request_history if r.url == SCORES_URL]
    assert [r.headers["Authorization"] for r in scores] == [
        "Bearer moodle-token-1",
        "Bearer moodle-token-2",
    ]
    assert [r.token for r in stored_tokens(engine)] == ["moodle-token-2"]


def test_a_second_refusal_is_token_rejected(engine, client, moodle):
    moodle.post(SCORES_URL, status_code=401, text="no")
    assert isinstance(client.post_score(DEEP_LINKED["id"], a_score()), TokenRejected)
    assert len([r for r in moodle.request_history if r.url == SCORES_URL]) == 2
    assert len(token_requests(moodle)) == 2

    moodle.get(LINEITEMS_URL, status_code=401)
    with pytest.raises(ServiceFailure) as raised:
        client.line_items()
    assert isinstance(raised.value.outcome, TokenRejected)


def test_token_failure_is_the_score_outcome(client, requests_mock):
    requests_mock.post(TOKEN_URL, status_code=503, headers={"Retry-After": "60"})
    assert client.post_score(DEEP_LINKED["id"], a_score()) == RetryLater("HTTP 503", retry_after=60)
    assert not [r for r in requests_mock.request_history if r.url == SCORES_URL]


def test_malformed_answers_are_refused(client, moodle):
    moodle.get(LINEITEMS_URL, json=[{"label": "no id"}])
    with pytest.raises(ServiceFailure) as raised:
        client.line_items()
    assert isinstance(raised.value.outcome, Refused)
    moodle.get(LINEITEMS_URL, json={"not": "a list"})
    with pytest.raises(ServiceFailure):
        client.line_items()
    moodle.post(LINEITEMS_URL, status_code=201, text="created")
    with pytest.raises(ServiceFailure):
        client.create_line_item(NewLineItem(label="x", score_maximum=1))


def test_next_page_on_another_site_is_not_followed(client, moodle):
    moodle.get(
        LINEITEMS_URL, json=LINEITEMS, headers={"Link": '<https://evil.example/p2>; rel="next"'}
    )
    with pytest.raises(ServiceFailure) as raised:
        client.line_items()
    assert isinstance(raised.value.outcome, Refused)
    assert not [r for r in moodle.request_history if "evil" in r.url]


def test_settings_from_config(engine, platform_id, moodle):
    settings = ServiceSettings.from_config(
        {"LTI_SERVICE_CONNECT_TIMEOUT": 2, "LTI_SERVICE_READ_TIMEOUT": 9, "OTHER": 1}
    )
    assert settings.timeout == (2, 9)
    ServiceTokens(engine, settings).get(platform_id, AGS_CLAIM["scope"])
    assert token_requests(moodle)[0].timeout == (2, 9)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(LtiServiceToken)) == 1
