"""LTI 1.3 launches through HTTP: the happy paths, and deep linking."""

from __future__ import annotations

import jwt
import pytest

from tests import lti_flow


@pytest.fixture()
def lti_client(app, requests_mock):
    lti_flow.register(app)
    lti_flow.mock_platform_jwks(app, requests_mock)
    return app.test_client()


def test_learner_launch_opens_the_attempt_page(app, lti_client):
    response, _token, _state = lti_flow.launch(app, lti_client, custom={"assessment": "CSC-01-A1"})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert "/lti/attempt?ls=" in response.headers["Location"]


def test_instructor_deep_link_returns_a_signed_resource_link_with_a_line_item(app, lti_client):
    response, _token, _state = lti_flow.launch(app, lti_client, "instructor-1", "deep_link")
    assert response.status_code == 303
    page = lti_client.get(response.headers["Location"])
    assert page.status_code == 200 and "CSC-03-A1" in page.get_data(as_text=True)
    ls = response.headers["Location"].split("ls=")[1]
    chosen = lti_client.post("/lti/deep-link", data={"ls": ls, "assessment": "CSC-03-A1"})
    assert chosen.status_code == 200
    html = chosen.get_data(as_text=True)
    token = html.split('name="JWT" value="')[1].split('"')[0]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == "dev-platform-tool" and claims["aud"] == [lti_flow.ISS]
    assert claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] == (
        "LtiDeepLinkingResponse"
    )
    item = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"][0]
    assert item["type"] == "ltiResourceLink" and item["custom"] == {"assessment": "CSC-03-A1"}
    assert item["lineItem"]["scoreMaximum"] == 100 and item["lineItem"]["resourceId"] == "CSC-03-A1"
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "dev-deep-link-data"
    # The dev platform accepts it (signature checked against the tool's JWKS).
    back = lti_client.post("/dev-platform/deep-link-return", data={"JWT": token})
    assert back.status_code == 303


def test_purge_deletes_only_expired_rows(fresh, requests_mock):
    from datetime import timedelta

    from sqlalchemy import func, select, update

    from lti.models import LtiLoginState, LtiNonce, LtiSession
    from service import db
    from service.models import utcnow

    app, _content_dir = fresh  # its own database: the purge touches every row
    lti_flow.register(app)
    lti_flow.mock_platform_jwks(app, requests_mock)
    client = app.test_client()
    lti_flow.launch(app, client, custom={"assessment": "CSC-01-A1"})
    live_state, _nonce = lti_flow.login(client)
    with app.app_context():
        session = db.session()
        past = utcnow() - timedelta(hours=1)
        for model in (LtiNonce, LtiSession):
            session.execute(update(model).values(expires_at=past))
        session.execute(
            update(LtiLoginState).where(LtiLoginState.state != live_state).values(expires_at=past)
        )
        session.commit()
    result = app.test_cli_runner().invoke(args=["lti", "purge"])
    assert result.exit_code == 0 and "deleted" in result.output
    with app.app_context():
        session = db.session()
        assert session.scalar(select(func.count()).select_from(LtiSession)) == 0
        assert session.scalar(select(func.count()).select_from(LtiNonce)) == 0
        states = session.scalars(select(LtiLoginState.state)).all()
        assert states == [live_state]


def _count(app, model):
    from sqlalchemy import func, select

    from service import db

    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model))


def _expire_all(app, model):
    from datetime import timedelta

    from sqlalchemy import update

    from service import db
    from service.models import utcnow

    with app.app_context():
        session = db.session()
        session.execute(update(model).values(expires_at=utcnow() - timedelta(hours=1)))
        session.commit()


def test_logins_delete_expired_states_and_keep_at_most_the_cap(fresh, requests_mock):
    """Unauthenticated logins cannot grow lti_login_states without bound, with no cron."""
    from lti.housekeeping import SWEEP_BATCH
    from lti.models import LtiLoginState

    app, _content_dir = fresh
    lti_flow.register(app)
    lti_flow.mock_platform_jwks(app, requests_mock)
    client = app.test_client()
    app.config["LTI_SWEEP_EVERY"] = 1  # every login sweeps: the bound is the cap itself
    app.config["LTI_MAX_LOGIN_STATES"] = 5
    for n in range(12):
        lti_flow.login(client, user=f"learner-{n}")
        assert _count(app, LtiLoginState) == min(n + 1, 5)
    # The newest logins survive the cap: a real user's launch still works.
    response, _token, _state = lti_flow.launch(app, client, custom={"assessment": "CSC-01-A1"})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]

    # Expired states go in the request path too, a batch per login.
    app.config["LTI_MAX_LOGIN_STATES"] = 10_000
    for n in range(SWEEP_BATCH + 30):
        lti_flow.login(client, user=f"flood-{n}")
    before = _count(app, LtiLoginState)
    _expire_all(app, LtiLoginState)
    lti_flow.login(client)
    assert _count(app, LtiLoginState) == before - SWEEP_BATCH + 1
    lti_flow.login(client)
    assert _count(app, LtiLoginState) == 2  # the rest of the expired ones, and two live logins


def test_one_login_in_lti_sweep_every_sweeps(fresh, requests_mock, monkeypatch):
    """A class logging in at once does not pay for the sweep on every login: one in
    LTI_SWEEP_EVERY (per process) deletes the expired states and applies the cap."""
    import itertools

    from lti import housekeeping
    from lti.models import LtiLoginState

    app, _content_dir = fresh
    lti_flow.register(app)
    lti_flow.mock_platform_jwks(app, requests_mock)
    client = app.test_client()
    app.config["LTI_SWEEP_EVERY"] = 4
    monkeypatch.setitem(housekeeping._asked, LtiLoginState, itertools.count(1))
    for n in range(4):
        lti_flow.login(client, user=f"learner-{n}")  # the 4th sweeps (nothing expired yet)
    _expire_all(app, LtiLoginState)
    counts = []
    for n in range(4):
        lti_flow.login(client, user=f"later-{n}")
        counts.append(_count(app, LtiLoginState))
    assert counts == [5, 6, 7, 8 - 4]  # the 4 expired states went at the 8th login only


def test_launches_delete_expired_nonces(fresh, requests_mock):
    from lti.models import LtiNonce

    app, _content_dir = fresh
    lti_flow.register(app)
    lti_flow.mock_platform_jwks(app, requests_mock)
    client = app.test_client()
    app.config["LTI_SWEEP_EVERY"] = 1
    for user in ("learner-1", "learner-2", "instructor-1"):
        lti_flow.launch(app, client, user=user, custom={"assessment": "CSC-01-A1"})
    assert _count(app, LtiNonce) == 3
    _expire_all(app, LtiNonce)
    response, _token, _state = lti_flow.launch(app, client, custom={"assessment": "CSC-01-A1"})
    assert response.status_code in (302, 303)
    assert _count(app, LtiNonce) == 1
