"""Security tests for the LTI 1.3 login and launch (lti/login.py, lti/launch.py, lti/views.py,
lti/platform_keys.py).

Every rejection test arranges a login and launch that are valid in every respect but the one
under test, and checks that the tool refuses it with its error page (400, a reference number, no
internals), that the log line carrying that reference names the check that refused it (so the
test fails if that check is removed, not merely if something else happens to refuse the launch)
and that no launch session was created. Time-dependent cases set claims or database rows; no
test sleeps.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import html
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import delete, func, select, update

from lti import dev_platform, keys
from lti.models import LtiDeployment, LtiKey, LtiLoginState, LtiNonce, LtiPlatform, LtiSession
from service import db
from service.models import utcnow
from tests import lti_flow
from tests.conftest import CAPTURES, loaded_database, make_app

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
RESOURCE = "LtiResourceLinkRequest"
DEEP_LINK = "LtiDeepLinkingRequest"
ISS = lti_flow.ISS
CLIENT_ID = dev_platform.CLIENT_ID
DEPLOYMENT_ID = dev_platform.DEPLOYMENT_ID
LAUNCH_URL = f"{lti_flow.BASE}/lti/launch"
JWKS_URL = f"{ISS}/jwks"
COOKIE = "lti-browser-"
REFERENCE = re.compile(r"Reference: ([0-9A-F]{10})\b")
# What an error page must never show: internals of the failure.
LEAKS = ("Traceback", "Exception", "LaunchRejected", "LoginRejected", 'File "', "reason=")
# What a browser sends with a form post from our own page, and from another site's page.
SAME_ORIGIN = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
CROSS_SITE = {"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"}
# Explicit, so that environment variables cannot change what these tests check.
SETTINGS = {
    # The test platform's JWKS is on http://localhost: only the embedded default fetches it.
    "DEV_PLATFORM": True,
    "PUBLIC_BASE_URL": "",
    "TRUSTED_PROXIES": 0,
    "LTI_SECURE_COOKIES": True,
    "LTI_COOKIE_CHECK": True,
    "LTI_CLOCK_LEEWAY_SECONDS": 30,
    "LTI_MAX_TOKEN_AGE_SECONDS": 300,
    "LTI_JWKS_MIN_REFETCH_SECONDS": 60,
}


# --- helpers -------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value) -> str:
    return b64(json.dumps(value).encode())


def unsigned(header: dict, payload) -> str:
    return f"{segment(header)}.{segment(payload)}."


def hmac_token(header: dict, payload: dict, secret: bytes, digest=hashlib.sha256) -> str:
    """An HMAC-signed JWT built by hand (PyJWT refuses a PEM as an HMAC secret)."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    signature = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def platform_key(app) -> LtiKey:
    with app.app_context():
        return keys.signing_key(db.session(), dev_platform.OWNER)


def edit(app, model, where, **values) -> None:
    with app.app_context():
        session = db.session()
        session.execute(update(model).where(where).values(**values))
        session.commit()


@contextlib.contextmanager
def platform_changed(app, **values):
    """Change the test platform's registration for the duration of a block."""
    where = LtiPlatform.issuer == ISS
    with app.app_context():
        row = db.session().scalar(select(LtiPlatform).where(where))
        before = {name: getattr(row, name) for name in values}
    edit(app, LtiPlatform, where, **values)
    try:
        yield
    finally:
        edit(app, LtiPlatform, where, **before)


def data_attribute(page: str, name: str) -> str:
    match = re.search(rf'data-{name}="([^"]*)"', page)
    assert match, f"no data-{name} in the page"
    return html.unescape(match[1])


def input_value(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no input {name} in the page"
    return html.unescape(match[1])


def new_window_link(page: str) -> str:
    match = re.search(r'href="([^"]*new_window=1[^"]*)"', page)
    assert match, "no new-window link in the login page"
    return html.unescape(match[1])


def state_cookie_header(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(COOKIE)]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


@dataclass
class Login:
    state: str
    nonce: str
    client: object

    @property
    def cookie_name(self) -> str:
        return COOKIE + self.state[:16]

    def secret(self) -> str:
        cookie = self.client.get_cookie(self.cookie_name, path="/lti")
        assert cookie is not None, "the login set no state cookie"
        return cookie.value

    def forget_cookie(self) -> None:
        """What a browser blocking third-party cookies in the LMS frame does."""
        self.client.delete_cookie(self.cookie_name, path="/lti")


class Flow:
    """A browser (test client) driving the login and launch against the test platform."""

    def __init__(self, app, requests_mock, caplog):
        self.app = app
        self.requests_mock = requests_mock
        self.caplog = caplog
        self.client = app.test_client()
        self.jwks = lti_flow.mock_platform_jwks(app, requests_mock)
        caplog.set_level(logging.WARNING, logger="lti.views")
        self._sessions_before: int | None = None

    # login
    def login(self, client=None, user="learner-1", message="resource", **overrides) -> Login:
        client = client or self.app.test_client()
        state, nonce = lti_flow.login(client, user, message, **overrides)
        return Login(state, nonce, client)

    # id_token
    def claims(self, nonce: str, message_type: str = RESOURCE, mutate=None) -> dict:
        user = "instructor-1" if message_type == DEEP_LINK else "learner-1"
        custom = {"assessment": "CSC-01-A1"} if message_type == RESOURCE else None
        payload = lti_flow.claims(user, message_type, nonce, custom=custom)
        if mutate:
            mutate(payload)
        return payload

    def token(self, login: Login, mutate=None, **header) -> str:
        return lti_flow.sign(self.app, self.claims(login.nonce, mutate=mutate), **header)

    # launch
    def post(self, token: str | None, state: str | None, client=None, headers=None, **form):
        self._sessions_before = self.sessions()
        data = {"id_token": token, "state": state, **form}
        data = {name: value for name, value in data.items() if value is not None}
        return (client or self.client).post("/lti/launch", data=data, headers=headers or {})

    def launch(self, login: Login, token: str, client=None, headers=None, **form):
        return self.post(token, login.state, client or login.client, headers, **form)

    # observations
    def sessions(self) -> int:
        with self.app.app_context():
            return db.session().scalar(select(func.count()).select_from(LtiSession))

    def jwks_calls(self) -> int:
        return sum(1 for r in self.requests_mock.request_history if r.url == JWKS_URL)

    def logged_reason(self, reference: str) -> str:
        lines = [
            r.getMessage()
            for r in self.caplog.records
            if r.name == "lti.views" and f"reference={reference}" in r.getMessage()
        ]
        assert len(lines) == 1, f"expected one log line for reference {reference}: {lines}"
        return lines[0].split(" reason=", 1)[1]

    def assert_rejected(self, response, *reasons: str) -> str:
        """The error page, with a reference that the log ties to one of `reasons`."""
        body = response.get_data(as_text=True)
        assert response.status_code == 400, f"{response.status_code}: {body[:400]}"
        assert "Location" not in response.headers
        assert response.mimetype == "text/html"
        match = REFERENCE.search(body)
        assert match, f"no reference number on the error page: {body[:400]}"
        for leak in LEAKS:
            assert leak not in body, f"the error page shows {leak!r}"
        reason = self.logged_reason(match[1])
        assert reason.split(": ", 1)[-1] not in body, "the error page shows the reason"
        if reasons:
            assert any(r in reason for r in reasons), f"refused for another reason: {reason}"
        if self._sessions_before is not None:
            assert self.sessions() == self._sessions_before, "a rejected launch made a session"
        self._sessions_before = None
        return reason

    def assert_accepted(self, response, landing: str = "/lti/attempt?ls=") -> None:
        assert response.status_code == 303, response.get_data(as_text=True)[:600]
        assert landing in response.headers["Location"]
        assert self.sessions() == self._sessions_before + 1
        self._sessions_before = None


@contextlib.contextmanager
def make_app_context(tmp_path, **config):
    """An app on an isolated database with the test platform registered."""
    with loaded_database(tmp_path) as url:
        application = make_app(url, loaded=True, **{**SETTINGS, **config})
        lti_flow.register(application)
        try:
            yield application
        finally:
            application.extensions["db_engine"].dispose()


@pytest.fixture(scope="module")
def lti_app(tmp_path_factory):
    """Shared by the tests that leave the registration and keys as they found them."""
    with make_app_context(tmp_path_factory.mktemp("lti-security")) as application:
        yield application


@pytest.fixture()
def own_app(tmp_path):
    """A database of its own, for tests that rotate keys or depend on the JWKS cache."""
    with make_app_context(tmp_path) as application:
        yield application


@pytest.fixture()
def flow(lti_app, requests_mock, caplog):
    return Flow(lti_app, requests_mock, caplog)


@pytest.fixture()
def own_flow(own_app, requests_mock, caplog):
    return Flow(own_app, requests_mock, caplog)


def seed_jwks_cache(app, jwks: dict, age_seconds: int = 3600) -> None:
    """The platform's JWKS as if fetched `age_seconds` ago (outside the refetch interval)."""
    edit(
        app,
        LtiPlatform,
        LtiPlatform.issuer == ISS,
        jwks=jwks,
        jwks_fetched_at=utcnow() - timedelta(seconds=age_seconds),
    )


# --- the baseline: what every rejection test changes one thing of --------------------------


def test_baseline_launch_is_accepted_and_clears_the_state_cookie(flow):
    login = flow.login()
    response = flow.launch(login, flow.token(login))
    flow.assert_accepted(response)
    cleared = state_cookie_header(response)
    assert cleared.startswith(f"{login.cookie_name}=;") and "Max-Age=0" in cleared


def test_launch_with_the_secret_in_the_form_instead_of_the_cookie_is_accepted(flow):
    login = flow.login()
    secret = login.secret()
    login.forget_cookie()
    response = flow.launch(login, flow.token(login), headers=SAME_ORIGIN, browser_secret=secret)
    flow.assert_accepted(response)


def test_cross_site_post_cannot_supply_the_browser_secret(flow):
    """Login CSRF. The attacker logs in from their own browser and keeps the id_token, the
    state and the secret from their own cookie, then makes the victim's browser post all three
    to /lti/launch from another site: the victim would work in the attacker's launch. The
    cookie binding stops this (the victim has no cookie for that state); the browser_secret
    field must not reopen it. It exists for the tool's own storage page, which posts from our
    origin; a cross-site post carrying it did not get it from the platform's storage."""
    attacker = flow.login()
    token = flow.token(attacker)
    victim = flow.app.test_client()
    response = flow.launch(
        attacker, token, victim, headers=CROSS_SITE, browser_secret=attacker.secret()
    )
    flow.assert_rejected(response)


# --- state and browser binding -------------------------------------------------------------


def test_missing_state_is_rejected(flow):
    login = flow.login()
    response = flow.post(flow.token(login), None, login.client)
    flow.assert_rejected(response, "missing state")


def test_state_not_issued_by_a_login_is_rejected(flow):
    login = flow.login()
    forged = "x" * 43
    login.client.set_cookie(COOKIE + forged[:16], login.secret(), path="/lti")
    response = flow.post(flow.token(login), forged, login.client)
    flow.assert_rejected(response, "unknown, used or expired state")


def test_state_from_another_login_is_rejected(flow):
    first = flow.login()
    second = flow.login(first.client)
    # The browser holds both cookies; the token is the first login's, the state the second's.
    response = flow.post(flow.token(first), second.state, first.client)
    flow.assert_rejected(response, "nonce is not the one issued at login")


def test_expired_state_is_rejected(flow):
    login = flow.login()
    edit(
        flow.app,
        LtiLoginState,
        LtiLoginState.state == login.state,
        expires_at=utcnow() - timedelta(seconds=1),
    )
    flow.assert_rejected(flow.launch(login, flow.token(login)), "unknown, used or expired state")


def test_launch_without_browser_binding_is_rejected(flow):
    login = flow.login()
    login.forget_cookie()
    flow.assert_rejected(flow.launch(login, flow.token(login)), "not bound to this browser")


@pytest.mark.parametrize("carried_in", ["form", "cookie"])
def test_another_browsers_secret_is_rejected(flow, carried_in):
    victim = flow.login()
    attacker = flow.login()
    token = flow.token(victim)
    if carried_in == "form":
        secret = attacker.secret()
        response = flow.launch(
            victim, token, attacker.client, headers=SAME_ORIGIN, browser_secret=secret
        )
    else:
        attacker.client.set_cookie(victim.cookie_name, attacker.secret(), path="/lti")
        response = flow.launch(victim, token, attacker.client)
    flow.assert_rejected(response, "state bound to another browser")


def test_replayed_token_and_state_is_rejected(flow):
    login = flow.login()
    secret = login.secret()  # the successful launch clears the cookie; the form still binds
    token = flow.token(login)
    flow.assert_accepted(flow.launch(login, token))
    response = flow.launch(login, token, headers=SAME_ORIGIN, browser_secret=secret)
    flow.assert_rejected(response, "unknown, used or expired state")


def test_replayed_token_with_a_fresh_login_state_is_rejected(flow):
    first = flow.login()
    token = flow.token(first)
    flow.assert_accepted(flow.launch(first, token))
    fresh = flow.login(first.client)
    flow.assert_rejected(flow.launch(fresh, token), "nonce is not the one issued at login")


def test_nonce_is_single_use_even_when_a_login_state_carries_it_again(flow):
    """The unique nonce row, on its own: a second login state with the used nonce (as a
    second process or a forged state row would have) still cannot launch with it."""
    first = flow.login()
    token = flow.token(first)
    flow.assert_accepted(flow.launch(first, token))
    fresh = flow.login(first.client)
    edit(flow.app, LtiLoginState, LtiLoginState.state == fresh.state, nonce=first.nonce)
    flow.assert_rejected(flow.launch(fresh, token), "nonce already used (replay)")


def test_state_is_single_use_even_without_the_nonce_record(flow):
    """Marking the state used, on its own: with the used-nonce row gone, the state still
    cannot be used twice."""
    login = flow.login()
    secret = login.secret()
    token = flow.token(login)
    flow.assert_accepted(flow.launch(login, token))
    with flow.app.app_context():
        session = db.session()
        session.execute(delete(LtiNonce).where(LtiNonce.nonce == login.nonce))
        session.commit()
    response = flow.launch(login, token, headers=SAME_ORIGIN, browser_secret=secret)
    flow.assert_rejected(response, "unknown, used or expired state")


# --- algorithm, key and signature ----------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_unsigned_alg_none_token_is_rejected(flow, alg):
    login = flow.login()
    header = {"alg": alg, "typ": "JWT", "kid": platform_key(flow.app).kid}
    token = unsigned(header, flow.claims(login.nonce))
    flow.assert_rejected(flow.launch(login, token), "not allowed")


def _public_key_forms(key: LtiKey) -> dict[str, bytes]:
    private = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
    public = private.public_key()
    encoding = serialization.Encoding.PEM
    return {
        "spki-pem": public.public_bytes(encoding, serialization.PublicFormat.SubjectPublicKeyInfo),
        "pkcs1-pem": public.public_bytes(encoding, serialization.PublicFormat.PKCS1),
        "jwk-json": json.dumps(key.public_jwk).encode(),
        "jwk-json-sorted": json.dumps(key.public_jwk, sort_keys=True).encode(),
    }


@pytest.mark.parametrize("secret_form", ["spki-pem", "pkcs1-pem", "jwk-json", "jwk-json-sorted"])
def test_hs256_signed_with_the_platform_public_key_is_rejected(flow, secret_form):
    """Key confusion: HMAC with the (public) RSA key as the shared secret."""
    login = flow.login()
    key = platform_key(flow.app)
    secret = _public_key_forms(key)[secret_form]
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    token = hmac_token(header, flow.claims(login.nonce), secret)
    flow.assert_rejected(flow.launch(login, token), "algorithm 'HS256' not allowed")


def test_alg_none_and_hmac_tokens_never_reach_a_key_lookup(own_flow):
    """With no JWKS cached, any key lookup would fetch one: these tokens must not cause it."""
    key = platform_key(own_flow.app)
    header = {"typ": "JWT", "kid": key.kid}
    for token_for in (
        lambda payload: unsigned({**header, "alg": "none"}, payload),
        lambda payload: hmac_token(
            {**header, "alg": "HS256"}, payload, _public_key_forms(key)["spki-pem"]
        ),
        lambda payload: hmac_token({**header, "alg": "HS512"}, payload, b"guess", hashlib.sha512),
    ):
        login = own_flow.login()
        token = token_for(own_flow.claims(login.nonce))
        own_flow.assert_rejected(own_flow.launch(login, token), "not allowed")
    assert own_flow.jwks_calls() == 0


def test_rs256_token_without_kid_is_rejected(flow):
    login = flow.login()
    token = jwt.encode(
        flow.claims(login.nonce), platform_key(flow.app).private_pem, algorithm="RS256"
    )
    assert "kid" not in jwt.get_unverified_header(token)
    flow.assert_rejected(flow.launch(login, token), "no kid in the JWT header")


def test_tampered_payload_is_rejected(flow):
    login = flow.login()
    header, _payload, signature = flow.token(login).split(".")
    tampered = flow.claims(login.nonce)
    tampered[LTI + "roles"] = dev_platform.ROLE["instructor"]
    token = f"{header}.{segment(tampered)}.{signature}"
    flow.assert_rejected(flow.launch(login, token), "InvalidSignatureError")


def test_token_signed_by_another_key_under_the_platform_kid_is_rejected(flow):
    login = flow.login()
    attacker_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        flow.claims(login.nonce),
        attacker_key,
        algorithm="RS256",
        headers={"kid": platform_key(flow.app).kid},
    )
    flow.assert_rejected(flow.launch(login, token), "InvalidSignatureError")


@pytest.mark.parametrize(
    "change",
    [{"alg": "RS384"}, {"alg": "HS256"}, {"kty": "EC"}, {"kty": "oct", "k": "c2Vj"}],
    ids=["alg-RS384", "alg-HS256", "kty-EC", "kty-oct"],
)
def test_platform_key_that_is_not_an_rs256_rsa_key_is_refused(own_flow, change):
    jwks = {"keys": [{**k, **change} for k in own_flow.jwks["keys"]]}
    own_flow.requests_mock.get(JWKS_URL, json=jwks)
    login = own_flow.login()
    response = own_flow.launch(login, own_flow.token(login))
    own_flow.assert_rejected(response, "the platform key is not an RS256 key")


# --- platform JWKS: cache, refetch on an unknown kid, failures -----------------------------


def test_unknown_kid_still_missing_after_the_refetch_is_rejected(own_flow):
    seed_jwks_cache(own_flow.app, own_flow.jwks)
    login = own_flow.login()
    token = own_flow.token(login, kid="kid-the-platform-never-published")
    own_flow.assert_rejected(own_flow.launch(login, token), "unknown kid")
    assert own_flow.jwks_calls() == 1


def test_key_rotation_is_picked_up_by_one_refetch(own_flow):
    app = own_flow.app
    seed_jwks_cache(app, own_flow.jwks)  # the cache holds the old key only
    with app.app_context():
        new_kid = keys.rotate(db.session(), dev_platform.OWNER).kid
    rotated = lti_flow.mock_platform_jwks(app, own_flow.requests_mock)
    assert new_kid in {k["kid"] for k in rotated["keys"]}
    assert new_kid not in {k["kid"] for k in own_flow.jwks["keys"]}

    login = own_flow.login()
    token = own_flow.token(login)
    assert jwt.get_unverified_header(token)["kid"] == new_kid
    own_flow.assert_accepted(own_flow.launch(login, token))
    assert own_flow.jwks_calls() == 1

    # The refetched set is cached: the next launch with the new key fetches nothing.
    login = own_flow.login()
    own_flow.assert_accepted(own_flow.launch(login, own_flow.token(login)))
    assert own_flow.jwks_calls() == 1


def test_second_unknown_kid_within_the_refetch_interval_is_rejected_without_a_fetch(own_flow):
    app = own_flow.app
    seed_jwks_cache(app, own_flow.jwks)
    with app.app_context():
        keys.rotate(db.session(), dev_platform.OWNER)
    lti_flow.mock_platform_jwks(app, own_flow.requests_mock)
    login = own_flow.login()
    own_flow.assert_accepted(own_flow.launch(login, own_flow.token(login)))
    assert own_flow.jwks_calls() == 1

    # The platform rotates again at once: the new kid is unknown, and the interval not over.
    with app.app_context():
        keys.rotate(db.session(), dev_platform.OWNER)
    lti_flow.mock_platform_jwks(app, own_flow.requests_mock)
    login = own_flow.login()
    response = own_flow.launch(login, own_flow.token(login))
    own_flow.assert_rejected(response, "refetched recently")
    login = own_flow.login()
    response = own_flow.launch(login, own_flow.token(login, kid="forged-kid"))
    own_flow.assert_rejected(response, "refetched recently")
    assert own_flow.jwks_calls() == 1

    # Once the interval is over, one refetch picks the new key up.
    seed_jwks_cache(app, own_flow.jwks, age_seconds=SETTINGS["LTI_JWKS_MIN_REFETCH_SECONDS"] + 1)
    login = own_flow.login()
    own_flow.assert_accepted(own_flow.launch(login, own_flow.token(login)))
    assert own_flow.jwks_calls() == 2


JWKS_FAILURES = {
    "http-500": {"status_code": 500, "json": {"error": "oops"}},
    "http-404": {"status_code": 404, "text": "not found"},
    "connection-error": {"exc": requests.exceptions.ConnectionError},
    "timeout": {"exc": requests.exceptions.ConnectTimeout},
    "not-json": {"text": "<html>maintenance</html>"},
    "json-not-a-key-set": {"json": ["not", "a", "key", "set"]},
    "keys-not-a-list": {"json": {"keys": {"kid": "x"}}},
}


@pytest.mark.parametrize("failure", list(JWKS_FAILURES))
def test_jwks_fetch_failure_is_a_clear_rejection(own_flow, failure):
    own_flow.requests_mock.get(JWKS_URL, **JWKS_FAILURES[failure])
    login = own_flow.login()
    response = own_flow.launch(login, own_flow.token(login))
    own_flow.assert_rejected(
        response, "could not fetch the platform's JWKS", "the platform's JWKS is not a key set"
    )
    assert own_flow.jwks_calls() == 1


def test_failed_jwks_fetch_also_counts_against_the_refetch_interval(own_flow):
    """platform_keys promises at most one fetch per LTI_JWKS_MIN_REFETCH_SECONDS, so that
    forged kids cannot make the tool hammer the LMS (or tie up workers on 5 s timeouts)."""
    own_flow.requests_mock.get(JWKS_URL, exc=requests.exceptions.ConnectTimeout)
    for _ in range(3):
        login = own_flow.login()
        response = own_flow.launch(login, own_flow.token(login, kid="forged-kid"))
        own_flow.assert_rejected(response)
    assert own_flow.jwks_calls() == 1, "every launch with an unknown kid fetched the JWKS again"


# --- claims --------------------------------------------------------------------------------


def _times(iat_offset: int, exp_offset: int):
    def mutate(payload):
        now = int(time.time())
        payload["iat"] = now + iat_offset
        payload["exp"] = now + exp_offset

    return mutate


LEEWAY = SETTINGS["LTI_CLOCK_LEEWAY_SECONDS"]
MAX_AGE = SETTINGS["LTI_MAX_TOKEN_AGE_SECONDS"]


def test_expired_token_is_rejected(flow):
    login = flow.login()
    token = flow.token(login, _times(-120, -(LEEWAY + 30)))
    flow.assert_rejected(flow.launch(login, token), "ExpiredSignatureError")


def test_token_expired_within_the_clock_leeway_is_accepted(flow):
    login = flow.login()
    token = flow.token(login, _times(-60, -(LEEWAY // 3)))
    flow.assert_accepted(flow.launch(login, token))


def test_iat_in_the_future_beyond_the_leeway_is_rejected(flow):
    login = flow.login()
    token = flow.token(login, _times(LEEWAY + 60, LEEWAY + 600))
    # PyJWT refuses it first (ImmatureSignatureError); launch.py checks again.
    flow.assert_rejected(
        flow.launch(login, token), "iat is in the future", "ImmatureSignatureError"
    )


def test_iat_too_long_ago_is_rejected_although_exp_is_in_the_future(flow):
    login = flow.login()
    token = flow.token(login, _times(-(MAX_AGE + 60), 60))
    flow.assert_rejected(flow.launch(login, token), "iat is too old")


def test_missing_exp_is_rejected(flow):
    login = flow.login()
    token = flow.token(login, lambda payload: payload.pop("exp"))
    flow.assert_rejected(flow.launch(login, token), "MissingRequiredClaimError")


class _Missing:
    """A claim value meaning: leave the claim out."""

    def __repr__(self) -> str:
        return "missing"


_DROP = _Missing()


def _set(name, value):
    def mutate(payload):
        if value is _DROP:
            payload.pop(name, None)
        else:
            payload[name] = value

    return mutate


def test_wrong_aud_is_rejected(flow):
    login = flow.login()
    token = flow.token(login, _set("aud", "another-tool"))
    flow.assert_rejected(flow.launch(login, token), "Registration not found")


@pytest.mark.parametrize("aud", [[], _DROP], ids=["empty-list", "missing"])
def test_aud_without_our_client_id_is_rejected(flow, aud):
    login = flow.login()
    token = flow.token(login, _set("aud", aud))
    flow.assert_rejected(
        flow.launch(login, token),
        "our client id is not in aud",
        "Client id not registered",
        "iss or aud is not a string",  # an empty or missing aud fails the shape check first
    )


def test_aud_with_our_client_id_and_an_untrusted_audience_is_rejected(flow):
    login = flow.login()
    token = flow.token(login, _set("aud", [CLIENT_ID, "https://untrusted.example/client"]))
    flow.assert_rejected(flow.launch(login, token), "aud names other, untrusted audiences")


def test_aud_with_an_untrusted_audience_first_is_rejected(flow):
    login = flow.login()
    token = flow.token(login, _set("aud", ["https://untrusted.example/client", CLIENT_ID]))
    flow.assert_rejected(flow.launch(login, token), "Registration not found")


def test_aud_list_with_only_our_client_id_and_matching_azp_is_accepted(flow):
    login = flow.login()

    def mutate(payload):
        payload["aud"] = [CLIENT_ID]
        payload["azp"] = CLIENT_ID

    flow.assert_accepted(flow.launch(login, flow.token(login, mutate)))


def test_azp_other_than_our_client_id_is_rejected(flow):
    login = flow.login()
    token = flow.token(login, _set("azp", "another-tool"))
    flow.assert_rejected(flow.launch(login, token), "azp is not our client id")


def test_token_for_another_registration_than_the_logins_is_rejected(own_flow):
    """Same issuer, second client id (another registration of the tool in the same LMS):
    the launch must belong to the registration the login was for."""
    app = own_flow.app
    with app.app_context():
        session = db.session()
        first = session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == ISS))
        second = LtiPlatform(
            name="Second registration",
            issuer=ISS,
            client_id="second-client",
            auth_login_url=first.auth_login_url,
            auth_token_url=first.auth_token_url,
            key_set_url=first.key_set_url,
            active=True,
        )
        second.deployments.append(LtiDeployment(deployment_id=DEPLOYMENT_ID))
        session.add(second)
        session.commit()
    login = own_flow.login()
    token = own_flow.token(login, _set("aud", "second-client"))
    own_flow.assert_rejected(
        own_flow.launch(login, token), "the token's issuer and client are not the login's"
    )


def test_unknown_deployment_in_the_token_is_rejected(flow):
    login = flow.login()
    token = flow.token(login, _set(LTI + "deployment_id", "deployment-we-never-saw"))
    flow.assert_rejected(flow.launch(login, token), "is not recognised")


@pytest.mark.parametrize("version", ["1.1", "1.3.1", "1.3", _DROP], ids=str)
def test_wrong_lti_version_is_rejected(flow, version):
    login = flow.login()
    token = flow.token(login, _set(LTI + "version", version))
    flow.assert_rejected(flow.launch(login, token), "version", "LTI version is not 1.3.0")


@pytest.mark.parametrize(
    "message_type", ["LtiMadeUpRequest", "", _DROP], ids=["made-up", "empty", "missing"]
)
def test_unknown_message_type_is_rejected(flow, message_type):
    login = flow.login()
    token = flow.token(login, _set(LTI + "message_type", message_type))
    flow.assert_rejected(
        flow.launch(login, token), "Unrecognized message type", "Invalid message type"
    )


@pytest.mark.parametrize("nonce", ["not-the-login-nonce", ""], ids=["other", "empty"])
def test_wrong_nonce_is_rejected(flow, nonce):
    login = flow.login()
    token = flow.token(login, _set("nonce", nonce))
    flow.assert_rejected(flow.launch(login, token), "nonce is not the one issued at login")


def test_missing_nonce_is_rejected(flow):
    login = flow.login()
    token = flow.token(login, _set("nonce", _DROP))
    flow.assert_rejected(flow.launch(login, token), "MissingRequiredClaimError")


@pytest.mark.parametrize(
    "target",
    [f"{lti_flow.BASE}/lti/elsewhere", f"{LAUNCH_URL}?x=1", f"{LAUNCH_URL}/", _DROP],
    ids=["other-path", "extra-query", "trailing-slash", "missing"],
)
def test_target_link_uri_different_from_the_logins_is_rejected(flow, target):
    login = flow.login()
    token = flow.token(login, _set(LTI + "target_link_uri", target))
    flow.assert_rejected(
        flow.launch(login, token),
        "target_link_uri differs from the login's",
        "target_link_uri is not on this host",
    )


def test_target_link_uri_on_another_host_is_rejected_even_if_the_login_state_agrees(flow):
    """The launch-time host check, on its own (the login refuses such a target already)."""
    elsewhere = "https://attacker.example/lti/launch"
    login = flow.login()
    edit(flow.app, LtiLoginState, LtiLoginState.state == login.state, target_link_uri=elsewhere)
    token = flow.token(login, _set(LTI + "target_link_uri", elsewhere))
    flow.assert_rejected(flow.launch(login, token), "target_link_uri is not on this host")


def test_wrong_issuer_in_the_token_is_rejected(flow):
    login = flow.login()
    token = flow.token(login, _set("iss", "https://lms.attacker.example"))
    flow.assert_rejected(flow.launch(login, token), "Registration not found")


def test_launch_after_the_platform_was_deactivated_is_rejected(flow):
    login = flow.login()
    token = flow.token(login)
    with platform_changed(flow.app, active=False):
        flow.assert_rejected(flow.launch(login, token), "Registration not found")


# --- malformed tokens (unsigned input reaches the parsing before any signature check) ------


def _malformed_tokens(flow, login) -> dict[str, str]:
    kid = platform_key(flow.app).kid
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    payload = flow.claims(login.nonce)
    signature = flow.token(login).split(".")[2]
    return {
        "empty": "",
        "one-part": "not-a-jwt",
        "two-parts": "a.b",
        "not-base64": "!!!.@@@.###",
        "header-not-json": f"{b64(b'{')}.{segment(payload)}.{signature}",
        "header-a-list": f"{segment([])}.{segment(payload)}.{signature}",
        "header-a-string": f"{segment('RS256')}.{segment(payload)}.{signature}",
        "body-a-list": f"{segment(header)}.{segment([])}.{signature}",
        "body-a-string": f"{segment(header)}.{segment('x')}.{signature}",
        "kid-a-list": f"{segment({**header, 'kid': [kid]})}.{segment(payload)}.{signature}",
        "aud-a-number": f"{segment(header)}.{segment({**payload, 'aud': 5})}.{signature}",
        "aud-an-object": f"{segment(header)}.{segment({**payload, 'aud': {'a': 1}})}.{signature}",
        "iss-a-list": f"{segment(header)}.{segment({**payload, 'iss': [ISS]})}.{signature}",
    }


MALFORMED = [
    "empty",
    "one-part",
    "two-parts",
    "not-base64",
    "header-not-json",
    "header-a-list",
    "header-a-string",
    "body-a-list",
    "body-a-string",
    "kid-a-list",
    "aud-a-number",
    "aud-an-object",
    "iss-a-list",
]


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_id_token_gets_the_error_page(flow, case):
    login = flow.login()
    token = _malformed_tokens(flow, login)[case]
    flow.assert_rejected(flow.launch(login, token))


# --- login ---------------------------------------------------------------------------------


def login_params(**overrides) -> dict:
    params = {
        "iss": ISS,
        "login_hint": "learner-1",
        "target_link_uri": LAUNCH_URL,
        "lti_message_hint": json.dumps({"user": "learner-1", "message": "resource"}),
        "client_id": CLIENT_ID,
        "lti_deployment_id": DEPLOYMENT_ID,
        "new_window": "1",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def test_login_redirects_to_the_platform_with_state_nonce_and_our_redirect_uri(flow):
    response = flow.client.get("/lti/login", query_string=login_params())
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{ISS}/auth"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == CLIENT_ID and query["redirect_uri"] == LAUNCH_URL
    assert query["response_type"] == "id_token" and query["response_mode"] == "form_post"
    assert query["scope"] == "openid" and query["prompt"] == "none"
    assert query["login_hint"] == "learner-1"
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert query["state"] != query["nonce"]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("missing", ["iss", "login_hint", "target_link_uri"])
def test_login_without_a_required_parameter_is_refused(flow, missing):
    response = flow.client.get("/lti/login", query_string=login_params(**{missing: None}))
    flow.assert_rejected(response, "iss, login_hint and target_link_uri are required")
    assert not any(c.startswith(COOKIE) for c in response.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize(
    "target",
    [
        "https://localhost/lti/launch",
        "http://attacker.example/lti/launch",
        "http://localhost.attacker.example/lti/launch",
        "http://localhost@attacker.example/lti/launch",
        "http://localhost:8443/lti/launch",
        "//attacker.example/lti/launch",
        "javascript:alert(1)",
    ],
)
def test_login_with_target_link_uri_on_another_host_is_refused(flow, target):
    response = flow.client.get("/lti/login", query_string=login_params(target_link_uri=target))
    flow.assert_rejected(response, "target_link_uri is not on this host")


@pytest.mark.parametrize(
    "change",
    [{"iss": "https://lms.attacker.example"}, {"client_id": "another-tool"}],
    ids=["unknown-issuer", "unknown-client"],
)
def test_login_for_an_unknown_registration_is_refused(flow, change):
    response = flow.client.get("/lti/login", query_string=login_params(**change))
    flow.assert_rejected(response, "no active registration for this issuer and client")


def test_login_for_an_inactive_platform_is_refused(flow):
    with platform_changed(flow.app, active=False):
        response = flow.client.get("/lti/login", query_string=login_params())
        flow.assert_rejected(response, "no active registration for this issuer and client")
    # And accepted again once active: the refusal was the registration's state, nothing else.
    assert flow.client.get("/lti/login", query_string=login_params()).status_code == 302


def test_login_with_an_unknown_lti_deployment_id_is_refused(flow):
    response = flow.client.get(
        "/lti/login", query_string=login_params(lti_deployment_id="deployment-we-never-saw")
    )
    flow.assert_rejected(response, "unknown deployment")


def test_canvas_deployment_id_login_parameter_is_accepted_and_checked(flow):
    """Canvas sends `deployment_id`, not the specification's `lti_deployment_id`."""
    known = login_params(lti_deployment_id=None, deployment_id=DEPLOYMENT_ID)
    response = flow.client.get("/lti/login", query_string=known)
    assert response.status_code == 302, response.get_data(as_text=True)
    # ... and the launch that follows works.
    login = flow.login(lti_deployment_id=None, deployment_id=DEPLOYMENT_ID)
    flow.assert_accepted(flow.launch(login, flow.token(login)))
    unknown = login_params(lti_deployment_id=None, deployment_id="deployment-we-never-saw")
    response = flow.client.get("/lti/login", query_string=unknown)
    flow.assert_rejected(response, "unknown deployment")


def test_login_by_post_is_checked_like_a_get(flow):
    response = flow.client.post("/lti/login", data=login_params())
    assert response.status_code == 302
    response = flow.client.post("/lti/login", data=login_params(iss="https://x.example"))
    flow.assert_rejected(response, "no active registration")


@pytest.mark.parametrize(
    "change",
    [{"lti_storage_target": "t" * 200}, {"target_link_uri": f"{LAUNCH_URL}?{'a' * 3000}"}],
    ids=["long-storage-target", "long-target-link-uri"],
)
def test_oversized_login_parameters_are_refused_cleanly(flow, change):
    """Login parameters are anyone's to send; none may crash the login (a 500)."""
    response = flow.client.get("/lti/login", query_string=login_params(**change))
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        flow.assert_rejected(response)


@pytest.mark.parametrize(
    "extra",
    [{"endpoint": "x"}, {"_anchor": "x"}, {"_scheme": "https"}, {"_external": "1"}],
    ids=["endpoint", "_anchor", "_scheme", "_external"],
)
def test_extra_login_parameters_neither_crash_nor_redirect_the_new_window_link(flow, extra):
    """Parameter names are the sender's: they must not become url_for() options."""
    params = login_params(new_window=None, **extra)
    response = flow.client.get("/lti/login", query_string=params)
    assert response.status_code == 200, response.status_code
    link = urlsplit(new_window_link(response.get_data(as_text=True)))
    assert (link.scheme, link.netloc) in {("", ""), ("http", "localhost")}, link
    assert link.path == "/lti/login", link
    assert not link.fragment


# --- the state cookie and the login page ---------------------------------------------------


@pytest.mark.parametrize("new_window", ["1", None], ids=["redirect", "page"])
def test_state_cookie_attributes(flow, new_window):
    response = flow.client.get("/lti/login", query_string=login_params(new_window=new_window))
    assert response.status_code == (302 if new_window else 200)
    header = state_cookie_header(response)
    name_value, *attributes = [part.strip() for part in header.split(";")]
    name, value = name_value.split("=", 1)
    assert name.startswith(COOKIE) and len(name) == len(COOKIE) + 16 and len(value) >= 32
    lowered = {a.lower() for a in attributes}
    assert {"secure", "httponly", "samesite=none", "partitioned", "path=/lti"} <= lowered
    assert "max-age=600" in lowered
    assert not any(a.startswith("domain=") for a in lowered)


def test_login_page_offers_the_platform_and_a_new_window(flow):
    response = flow.client.get("/lti/login", query_string=login_params(new_window=None))
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    auth_url = data_attribute(page, "auth-url")
    assert auth_url.startswith(f"{ISS}/auth?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(auth_url).query).items()}
    assert query["state"] == data_attribute(page, "state")
    assert query["redirect_uri"] == LAUNCH_URL and query["client_id"] == CLIENT_ID
    # Without platform storage the secret is in the cookie only, never in the page.
    assert data_attribute(page, "secret") == "" and data_attribute(page, "storage-target") == ""
    assert data_attribute(page, "platform-origin") == lti_flow.BASE
    assert "new window" in page
    link = new_window_link(page)
    assert {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()} == login_params()
    # The new-window link starts a login of its own, which redirects to the platform.
    followed = flow.client.get(link)
    assert followed.status_code == 302 and followed.headers["Location"].startswith(f"{ISS}/auth?")


def _cookie_attributes(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


PARTITIONED = {"secure", "samesite=none", "partitioned", "httponly", "path=/lti"}


@pytest.mark.parametrize(
    ("base_url", "headers", "partitioned"),
    [
        # Loopback is a secure context over plain http: browsers keep Secure cookies there.
        ("http://127.0.0.1:5000", {}, True),
        ("http://localhost:5000", {}, True),
        ("http://app.localhost", {}, True),
        # https, here as a trusted proxy says it.
        ("http://assess.example", {"X-Forwarded-Proto": "https"}, True),
        # Plain http on another host: a Secure cookie would be dropped; a Lax one works in a
        # new window.
        ("http://assess.example", {}, False),
    ],
    ids=["127.0.0.1", "localhost", "name.localhost", "https", "plain-http"],
)
def test_state_and_session_cookies_are_partitioned_where_the_browser_can_keep_them(
    tmp_path, requests_mock, base_url, headers, partitioned
):
    """Issue 8: decided from https OR a loopback host, not the scheme alone; the launch's
    session cookie follows the same rule as the login's state cookie."""
    with make_app_context(
        tmp_path, TRUSTED_PROXIES=1, TRUSTED_HOSTS="assess.example,127.0.0.1,localhost,.localhost"
    ) as app:
        lti_flow.mock_platform_jwks(app, requests_mock)
        client = app.test_client()
        host = urlsplit(base_url).netloc
        scheme = "https" if headers else "http"
        target = f"{scheme}://{host}/lti/launch"
        response = client.get(
            "/lti/login",
            query_string=login_params(target_link_uri=target),
            base_url=base_url,
            headers=headers,
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        attributes = _cookie_attributes(state_cookie_header(response))
        if partitioned:
            assert attributes >= PARTITIONED, attributes
        else:
            assert "secure" not in attributes and "partitioned" not in attributes
            assert "samesite=lax" in attributes and "httponly" in attributes
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        payload = lti_flow.claims("learner-1", RESOURCE, query["nonce"][0])
        payload[LTI + "target_link_uri"] = target
        launched = client.post(
            "/lti/launch",
            data={"id_token": lti_flow.sign(app, payload), "state": query["state"][0]},
            base_url=base_url,
            headers=headers,
        )
        assert launched.status_code == 303, launched.get_data(as_text=True)[:600]
        [session_cookie] = [
            c for c in launched.headers.getlist("Set-Cookie") if c.startswith("lti-session-")
        ]
        assert _cookie_attributes(session_cookie) & PARTITIONED == attributes & PARTITIONED


def test_login_check_answers_whether_the_state_cookie_came_back(flow):
    """The login page's probe is the state cookie itself (issue 8): /lti/login/check says
    whether the request carried the cookie the login set for that state."""
    browser = flow.app.test_client()
    response = browser.get("/lti/login", query_string=login_params(new_window=None))
    page = response.get_data(as_text=True)
    state = data_attribute(page, "state")
    check_url = data_attribute(page, "check-url")
    assert urlsplit(check_url).path == "/lti/login/check"
    answer = browser.get(check_url)
    assert answer.get_json() == {"cookie": True}
    assert answer.headers["Cache-Control"] == "no-store"
    # Another browser (no cookie), a cookie for another login, or no state: false.
    assert flow.app.test_client().get(check_url).get_json() == {"cookie": False}
    other = flow.app.test_client()
    other.get("/lti/login", query_string=login_params(new_window=None))
    name = COOKIE + state[:16]
    other.set_cookie(name, "another-browsers-secret", path="/lti")
    assert other.get(check_url).get_json() == {"cookie": False}
    assert browser.get("/lti/login/check").get_json() == {"cookie": False}
    # Once the state is used, its cookie proves nothing more.
    browser.delete_cookie(name, path="/lti")
    assert browser.get(check_url).get_json() == {"cookie": False}


DEEP_LINKING_TARGET = f"{LAUNCH_URL}?message=deep-linking"
MOODLE_DEEP_LINKING_HINT = json.dumps({"launchid": "ltilaunch_ContentItemSelectionRequest7"})


@pytest.mark.parametrize(
    "change",
    [
        {"target_link_uri": DEEP_LINKING_TARGET},
        {"lti_message_hint": MOODLE_DEEP_LINKING_HINT},
    ],
    ids=["registered-deep-linking-url", "moodle-hint"],
)
def test_deep_linking_login_page_explains_instead_of_offering_a_new_window(flow, change):
    """Issue 8: Moodle's dialog needs the deep-linking response from its frame, so a
    deep-linking login whose cookie is blocked says what to do, never "new window"."""
    response = flow.client.get("/lti/login", query_string=login_params(new_window=None, **change))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert data_attribute(page, "deep-linking") == "1"
    assert 'id="lti-cookies-needed"' in page and 'id="lti-new-window"' not in page
    assert "Open the assessment in a new window" not in page and "new_window=1" not in page
    assert "third-party cookies" in page and "https" in page


def test_resource_link_login_page_keeps_the_new_window_offer(flow):
    page = flow.client.get("/lti/login", query_string=login_params(new_window=None))
    text = page.get_data(as_text=True)
    assert data_attribute(text, "deep-linking") == ""
    assert 'id="lti-new-window"' in text and 'id="lti-cookies-needed"' not in text


def test_what_a_login_can_tell_about_deep_linking_from_moodle_captures():
    """From tests/data/captures/moodle-4.5.6/login-initiation.json (a course activity) and the
    hint Moodle 4.5 builds for "Select content" (build_login_request: launchid
    "ltilaunch_ContentItemSelectionRequest<n>", no cmid)."""
    from lti.login import deep_linking_at_login

    launch = "http://127.0.0.1:5001/launch"
    activity = json.loads((CAPTURES / "login-initiation.json").read_text())
    assert not deep_linking_at_login(activity, launch)
    select_content = {**activity, "lti_message_hint": MOODLE_DEEP_LINKING_HINT}
    assert deep_linking_at_login(select_content, launch)
    registered = {**activity, "target_link_uri": f"{launch}?message=deep-linking"}
    assert deep_linking_at_login(registered, launch)
    # Canvas's opaque hint, a JSON list, junk: not known to be deep linking.
    for hint in ("eyJhbGciOi.x.y", "[1]", "{", ""):
        assert not deep_linking_at_login({**activity, "lti_message_hint": hint}, launch)


def test_deep_linking_the_login_could_not_tell_stops_in_the_new_window(flow):
    """Issue 8: when the login could not tell deep linking (a platform that registered it on
    the plain launch URL with an opaque hint) and fell back to a new window, the launch,
    where the message type is known, explains instead of letting the teacher choose in vain."""
    login = flow.login(user="instructor-1", message="deep_link")  # new_window=1
    top_level = {"Sec-Fetch-Dest": "document"}
    token = lti_flow.sign(flow.app, flow.claims(login.nonce, DEEP_LINK))
    response = flow.launch(login, token, headers=top_level)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="lti-cookies-needed"' in page and "third-party cookies" in page
    assert "new_window" not in page and "Location" not in response.headers
    assert flow.sessions() == flow._sessions_before  # no session started
    # A resource link in the same new window goes ahead, and so does deep linking that the
    # LMS itself opened (no new-window cookie from our login).
    login = flow.login()
    flow.assert_accepted(flow.launch(login, flow.token(login), headers=top_level))
    login = flow.login(user="instructor-1", message="deep_link")
    login.client.delete_cookie("lti-new-window-" + login.state[:16], path="/lti")
    token = lti_flow.sign(flow.app, flow.claims(login.nonce, DEEP_LINK))
    flow.assert_accepted(flow.launch(login, token, headers=top_level), "/lti/deep-link?ls=")


def test_deep_linking_through_the_registered_url_is_accepted(flow):
    login = flow.login(
        user="instructor-1", message="deep_link", target_link_uri=DEEP_LINKING_TARGET
    )

    def to_deep_linking_url(claims):
        claims[LTI + "target_link_uri"] = DEEP_LINKING_TARGET

    payload = flow.claims(login.nonce, DEEP_LINK, mutate=to_deep_linking_url)
    response = flow.launch(login, lti_flow.sign(flow.app, payload))
    flow.assert_accepted(response, "/lti/deep-link?ls=")


def test_login_redirects_at_once_when_the_cookie_check_is_off(flow, monkeypatch):
    monkeypatch.setitem(flow.app.config, "LTI_COOKIE_CHECK", False)
    response = flow.client.get("/lti/login", query_string=login_params(new_window=None))
    assert response.status_code == 302 and response.headers["Location"].startswith(ISS)


def test_platform_storage_login_and_launch(flow):
    browser = flow.app.test_client()
    params = login_params(new_window=None, lti_storage_target="_parent")
    response = browser.get("/lti/login", query_string=params)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert data_attribute(page, "storage-target") == "_parent"
    assert data_attribute(page, "platform-origin") == lti_flow.BASE
    state = data_attribute(page, "state")
    nonce = parse_qs(urlsplit(data_attribute(page, "auth-url")).query)["nonce"][0]
    login = Login(state, nonce, browser)
    secret = data_attribute(page, "secret")
    assert secret and secret == login.secret()

    # Cookies blocked in the frame: the launch asks the platform's storage for the secret.
    login.forget_cookie()
    token = flow.token(login)
    before = flow.sessions()
    response = flow.launch(login, token)
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    storage_page = response.get_data(as_text=True)
    assert 'id="lti-storage-form"' in storage_page
    assert input_value(storage_page, "state") == state
    assert input_value(storage_page, "id_token") == token
    assert input_value(storage_page, "browser_secret") == ""
    assert data_attribute(storage_page, "storage-target") == "_parent"
    assert data_attribute(storage_page, "platform-origin") == lti_flow.BASE
    assert secret not in storage_page
    assert flow.sessions() == before

    # The storage page posts back what the platform returned: a wrong secret is refused...
    response = flow.launch(login, token, headers=SAME_ORIGIN, browser_secret="not-the-secret")
    flow.assert_rejected(response, "state bound to another browser")
    # ... the right one launches, once.
    response = flow.launch(login, token, headers=SAME_ORIGIN, browser_secret=secret)
    flow.assert_accepted(response)
    response = flow.launch(login, token, headers=SAME_ORIGIN, browser_secret=secret)
    flow.assert_rejected(response, "unknown, used or expired state")


# --- X-Forwarded-Proto and trusted proxies -------------------------------------------------


@pytest.mark.parametrize("trusted_proxies", [1, 0])
def test_forwarded_proto_is_honoured_only_behind_trusted_proxies(tmp_path, trusted_proxies):
    https_launch = "https://localhost/lti/launch"
    with make_app_context(tmp_path, TRUSTED_PROXIES=trusted_proxies) as app:
        client = app.test_client()
        forwarded = {"X-Forwarded-Proto": "https"}
        params = login_params(target_link_uri=https_launch)
        response = client.get("/lti/login", query_string=params, headers=forwarded)
        if trusted_proxies:
            assert response.status_code == 302, response.get_data(as_text=True)
            query = parse_qs(urlsplit(response.headers["Location"]).query)
            assert query["redirect_uri"] == [https_launch]
            # Without the header, the same request is plain http: refused.
            assert client.get("/lti/login", query_string=params).status_code == 400
        else:
            assert response.status_code == 400
            assert REFERENCE.search(response.get_data(as_text=True))
        # X-Forwarded-Host is never a way to pass another host's target off as ours.
        if not trusted_proxies:
            response = client.get(
                "/lti/login",
                query_string=login_params(target_link_uri="http://attacker.example/lti/launch"),
                headers={"X-Forwarded-Host": "attacker.example"},
            )
            assert response.status_code == 400


def test_http_activity_still_launches_after_the_tool_moves_to_https(tmp_path, requests_mock):
    """Issue 8: an activity created while the tool ran on http (its target_link_uri is http)
    keeps working once the same host serves https; an https target on an http tool does not."""
    with make_app_context(tmp_path, TRUSTED_PROXIES=1) as app:
        lti_flow.mock_platform_jwks(app, requests_mock)
        client = app.test_client()
        https = {"X-Forwarded-Proto": "https"}
        response = client.get("/lti/login", query_string=login_params(), headers=https)
        assert response.status_code == 302, response.get_data(as_text=True)
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        assert query["redirect_uri"] == ["https://localhost/lti/launch"]
        payload = lti_flow.claims("learner-1", RESOURCE, query["nonce"][0])
        assert payload[LTI + "target_link_uri"] == LAUNCH_URL  # http, as the LMS kept it
        token = lti_flow.sign(app, payload)
        launched = client.post(
            "/lti/launch", data={"id_token": token, "state": query["state"][0]}, headers=https
        )
        assert launched.status_code == 303, launched.get_data(as_text=True)[:600]
        assert "/lti/attempt?ls=" in launched.headers["Location"]
        # Never the other way: an https activity on a tool that serves http is refused.
        downgrade = login_params(target_link_uri="https://localhost/lti/launch")
        assert client.get("/lti/login", query_string=downgrade).status_code == 400


# --- what a real Moodle sends --------------------------------------------------------------


@pytest.mark.parametrize(
    "capture, landing",
    [
        ("resource-link-launch.json", "/lti/attempt?ls="),
        ("deep-linking-request.json", "/lti/deep-link?ls="),
    ],
)
def test_moodle_4_5_6_launch_is_accepted(flow, capture, landing):
    """The captured Moodle 4.5.6 messages, moved to the test platform and re-signed."""
    initiation = json.loads((CAPTURES / "login-initiation.json").read_text())
    params = {
        **initiation,
        "iss": ISS,
        "client_id": CLIENT_ID,
        "lti_deployment_id": DEPLOYMENT_ID,
        "target_link_uri": LAUNCH_URL,
        "new_window": "1",
    }
    browser = flow.app.test_client()
    response = browser.get("/lti/login", query_string=params)
    assert response.status_code == 302, response.get_data(as_text=True)
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["lti_message_hint"] == [initiation["lti_message_hint"]]
    login = Login(query["state"][0], query["nonce"][0], browser)

    captured = json.loads((CAPTURES / capture).read_text())
    payload = copy.deepcopy(captured["payload"])
    assert isinstance(payload["aud"], str)  # Moodle sends aud as a string
    now = int(time.time())
    payload.update(
        {
            "iss": ISS,
            "aud": CLIENT_ID,
            "nonce": login.nonce,
            "iat": now,
            "exp": now + (captured["payload"]["exp"] - captured["payload"]["iat"]),
            LTI + "deployment_id": DEPLOYMENT_ID,
            LTI + "target_link_uri": LAUNCH_URL,
        }
    )
    header = {k: v for k, v in captured["header"].items() if k not in ("alg", "kid")}
    token = lti_flow.sign(flow.app, payload, **header)
    response = flow.launch(login, token)
    flow.assert_accepted(response, landing)
    assert browser.get(response.headers["Location"]).status_code == 200


# --- claim shapes and limits (signed by the platform, still its input) ---------------------


def _set_claim(path: str, value):
    """A mutate function setting claims[LTI + path] (or a top-level claim) to `value`."""

    def mutate(claims):
        claim, _, field = path.partition(".")
        name = claim if claim in ("sub", "name") else LTI + claim
        if field:
            claims[name] = {**(claims.get(name) or {}), field: value}
        else:
            claims[name] = value

    return mutate


BADLY_SHAPED = {
    "custom-a-list": ("custom", ["assessment", "CSC-01-A1"]),
    "custom-a-string": ("custom", "assessment=CSC-01-A1"),
    "custom-assessment-an-object": ("custom.assessment", {"code": "CSC-01-A1"}),
    "custom-value-a-list": ("custom.colour", ["red"]),
    "name-an-object": ("name", {"given": "Ada"}),
    "context-a-list": ("context", ["dev-course-1"]),
    "context-id-an-object": ("context.id", {"id": "x"}),
    "context-title-a-list": ("context.title", ["t"]),
    "resource-link-a-string": ("resource_link", "dev-link-1"),
    "resource-link-id-a-number-list": ("resource_link.id", [1]),
    "roles-a-string": ("roles", "Learner"),
    "roles-a-number": ("roles", 7),
    "deployment-id-an-object": ("deployment_id", {"id": DEPLOYMENT_ID}),
    "launch-presentation-a-list": ("launch_presentation", []),
}


@pytest.mark.parametrize("case", sorted(BADLY_SHAPED))
def test_signed_but_badly_shaped_claims_get_the_error_page(flow, case):
    login = flow.login()
    response = flow.launch(login, flow.token(login, mutate=_set_claim(*BADLY_SHAPED[case])))
    flow.assert_rejected(response, "claims: ")


def test_deep_linking_settings_not_an_object_get_the_error_page(flow):
    login = flow.login(user="instructor-1", message="deep_link")
    payload = lti_flow.claims("instructor-1", DEEP_LINK, login.nonce)
    payload["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = ["x"]
    response = flow.launch(login, lti_flow.sign(flow.app, payload))
    flow.assert_rejected(response, "claims: ")


TOO_LONG = {
    "sub": ("sub", "s" * 256),
    "context-id": ("context.id", "c" * 256),
    "resource-link-id": ("resource_link.id", "r" * 256),
    "custom-assessment": ("custom.assessment", "A" * 25),
    "custom-value": ("custom.note", "v" * 4097),
    "custom-name": ("custom." + "n" * 256, "v"),
    "custom-count": ("custom", {f"p{i}": "v" for i in range(101)}),
    "kept-claims": ("launch_presentation", {"return_url": "https://x.example/" + "p" * 70000}),
}


@pytest.mark.parametrize("case", sorted(TOO_LONG))
def test_identifiers_over_their_limit_get_the_error_page(flow, case):
    """On PostgreSQL these were 500s (String(n) columns); identifiers are refused, not cut."""
    login = flow.login()
    response = flow.launch(login, flow.token(login, mutate=_set_claim(*TOO_LONG[case])))
    flow.assert_rejected(response, "claims: ")


def test_identifiers_at_their_limit_are_accepted(flow):
    def mutate(claims):
        _set_claim("sub", "s" * 255)(claims)
        _set_claim("context.id", "c" * 255)(claims)
        _set_claim("resource_link.id", "r" * 255)(claims)
        _set_claim("custom", {"assessment": "CSC-01-A1", "note": "v" * 4096})(claims)

    login = flow.login()
    flow.assert_accepted(flow.launch(login, flow.token(login, mutate=mutate)))


def test_long_display_text_is_cut_not_refused(flow):
    """A course with a very long title must not stop its learners: names and titles are cut."""

    def mutate(claims):
        _set_claim("name", "N" * 5000)(claims)
        _set_claim("context.title", "T" * 5000)(claims)
        _set_claim("context.label", "L" * 300)(claims)
        _set_claim("resource_link.title", "R" * 5000)(claims)

    login = flow.login()
    flow.assert_accepted(flow.launch(login, flow.token(login, mutate=mutate)))
    with flow.app.app_context():
        row = db.session().scalars(select(LtiSession).order_by(LtiSession.id.desc())).first()
        assert len(row.user_name) == 255 and row.user_name.endswith("\u2026")
        assert len(row.claims[LTI + "context"]["title"]) == 255
        assert len(row.claims[LTI + "context"]["label"]) == 255
        assert len(row.claims[LTI + "resource_link"]["title"]) == 255
