"""The network edge: trusted hosts, security headers (HSTS, CSP and frame-ancestors,
Cache-Control) and when the development platform runs."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update

from lti import dev_platform, sessions
from lti.models import LtiPlatform, LtiSession
from service import bank, create_app, db
from service.config import PROJECT_ROOT, Config
from service.models import utcnow
from tests import lti_flow
from tests.test_lti_pages import _launch


def bare_app(tmp_path: Path, **config):
    """An app whose requests here touch no table (JSON config, the landing page, docs)."""
    settings = {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "PUBLIC_BASE_URL": "",
        "TRUSTED_HOSTS": "",
        "TRUSTED_PROXIES": 0,
        "DEV_PLATFORM": False,
        **config,
    }
    return create_app(settings)


# --- trusted hosts -------------------------------------------------------------------------


def test_a_forged_host_gets_400_and_never_reaches_the_configuration(tmp_path):
    client = bare_app(tmp_path).test_client()
    assert client.get("/lti/config").status_code == 200
    for path in ("/lti/config", "/lti/config/canvas", "/lti/login", "/"):
        response = client.get(path, headers={"Host": "attacker.example"})
        assert response.status_code == 400, path
        # No URL is built on it (werkzeug's message may name the refused host).
        assert "://attacker.example" not in response.get_data(as_text=True)


@pytest.mark.parametrize("trusted_proxies", [0, 1])
def test_a_forged_forwarded_host_never_appears_in_the_configuration(tmp_path, trusted_proxies):
    client = bare_app(tmp_path, TRUSTED_PROXIES=trusted_proxies).test_client()
    response = client.get("/lti/config", headers={"X-Forwarded-Host": "attacker.example"})
    assert "://attacker.example" not in response.get_data(as_text=True)
    if trusted_proxies:
        # Behind a proxy the forwarded host is the host, and it is not a trusted one.
        assert response.status_code == 400
    else:
        # Not behind a proxy the header is ignored.
        assert response.status_code == 200
        assert response.get_json()["tool_url"] == "http://localhost/lti/launch"


def test_public_base_url_is_trusted_and_is_what_absolute_urls_use(tmp_path):
    app = bare_app(tmp_path, PUBLIC_BASE_URL="https://assess.example.ac.uk")
    assert app.config["TRUSTED_HOSTS"] == ["assess.example.ac.uk", "localhost", "127.0.0.1"]
    client = app.test_client()
    for host in ("assess.example.ac.uk", "localhost"):
        config = client.get("/lti/config", headers={"Host": host}).get_json()
        assert config["tool_url"] == "https://assess.example.ac.uk/lti/launch"
        assert config["public_jwk_url"] == "https://assess.example.ac.uk/lti/jwks"
    assert client.get("/lti/config", headers={"Host": "other.example"}).status_code == 400


def test_trusted_hosts_from_the_environment_are_exactly_those(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTED_HOSTS", "assess.example.ac.uk, .assess.example.org")
    app = bare_app(tmp_path, TRUSTED_HOSTS=Config().TRUSTED_HOSTS)
    client = app.test_client()
    assert client.get("/lti/config", headers={"Host": "assess.example.ac.uk"}).status_code == 200
    assert client.get("/lti/config", headers={"Host": "a.assess.example.org"}).status_code == 200
    assert client.get("/lti/config").status_code == 400  # localhost is not in the list


# --- HSTS ----------------------------------------------------------------------------------

HSTS = "max-age=31536000; includeSubDomains"


def test_hsts_only_over_https(tmp_path):
    client = bare_app(tmp_path).test_client()
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == HSTS


@pytest.mark.parametrize("trusted_proxies", [0, 1])
def test_hsts_behind_a_trusted_proxy_only(tmp_path, trusted_proxies):
    client = bare_app(tmp_path, TRUSTED_PROXIES=trusted_proxies).test_client()
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert ("Strict-Transport-Security" in response.headers) == bool(trusted_proxies)


# --- CSP on every HTML page -----------------------------------------------------------------


def inline_scripts(html: str) -> list[str]:
    return re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_the_landing_page_has_a_strict_csp_and_no_framing(tmp_path):
    response = bare_app(tmp_path).test_client().get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert inline_scripts(response.get_data(as_text=True)) == []


def test_docs_have_a_csp_and_no_script(tmp_path):
    client = bare_app(tmp_path).test_client()
    response = client.get("/docs")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'none';" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "<script" not in response.get_data(as_text=True)


def test_docs_explorer_has_a_csp_and_no_inline_script(tmp_path):
    client = bare_app(tmp_path).test_client()
    response = client.get("/docs/explorer")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    html = response.get_data(as_text=True)
    assert inline_scripts(html) == []
    for src in re.findall(r'<script src="([^"]+)"', html):
        assert client.get(src).status_code == 200, src
    assert client.get("/docs/init.js").get_data(as_text=True).count("SwaggerUIBundle") == 1


def test_json_answers_carry_nosniff_and_no_page_csp(tmp_path):
    response = bare_app(tmp_path).test_client().get("/lti/config")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response.headers


# --- LTI pages: frame-ancestors and no-store ------------------------------------------------

OTHER_ISSUER = "https://moodle.other-college.example.ac.uk"


@pytest.fixture()
def lti_app(fresh, requests_mock):
    """An app of its own (platform rows change), the dev platform registered and a second,
    active platform elsewhere."""
    app, _content = fresh
    app.config["DEV_PLATFORM"] = True  # the test platform's JWKS is on http://localhost
    lti_flow.register(app)
    lti_flow.mock_platform_jwks(app, requests_mock)
    with app.app_context():
        session = db.session()
        session.add(
            LtiPlatform(
                name="Other college",
                issuer=OTHER_ISSUER,
                client_id="other",
                auth_login_url="https://sso.other-college.example.ac.uk/auth",
                auth_token_url=f"{OTHER_ISSUER}/token",
                key_set_url=f"{OTHER_ISSUER}/certs",
                active=True,
            )
        )
        session.commit()
    return app


def frame_ancestors(response) -> list[str]:
    csp = response.headers["Content-Security-Policy"]
    [directive] = [d.strip() for d in csp.split(";") if d.strip().startswith("frame-ancestors")]
    return directive.split()[1:]


def test_a_launched_page_may_be_framed_by_its_own_platform_only(lti_app):
    client = lti_app.test_client()
    path, ls = _launch(lti_app, client)
    page = client.get(path, query_string={"ls": ls})
    assert page.status_code == 200
    assert frame_ancestors(page) == ["'self'", "http://localhost"]
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_an_assessor_page_is_no_store_and_framed_by_its_platform(lti_app):
    client = lti_app.test_client()
    path, ls = _launch(lti_app, client, user="instructor-1")
    page = client.get(path, query_string={"ls": ls})
    assert path == "/lti/assessor" and page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert OTHER_ISSUER not in frame_ancestors(page)


def test_a_page_without_a_launch_may_be_framed_by_every_active_platform(lti_app):
    page = lti_app.test_client().get("/lti/attempt", query_string={"ls": "not-a-session"})
    assert page.status_code == 403
    ancestors = frame_ancestors(page)
    assert {"'self'", "http://localhost", OTHER_ISSUER} <= set(ancestors)
    assert "https://sso.other-college.example.ac.uk" in ancestors
    assert page.headers["Cache-Control"] == "no-store"
    with lti_app.app_context():
        session = db.session()
        session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == OTHER_ISSUER)).active = False
        session.commit()
    page = lti_app.test_client().get("/lti/attempt", query_string={"ls": "not-a-session"})
    assert OTHER_ISSUER not in frame_ancestors(page)


def test_the_registration_page_may_be_framed_by_the_registering_platform(tmp_path):
    response = (
        bare_app(tmp_path)
        .test_client()
        .get("/lti/register", query_string={"openid_configuration": "http://10.0.0.1/x"})
    )
    assert response.status_code == 400
    assert frame_ancestors(response) == ["'self'", "http://10.0.0.1"]


# --- the development platform ---------------------------------------------------------------


def test_the_development_platform_is_off_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("DEV_PLATFORM", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert Config().DEV_PLATFORM is False
    app = bare_app(tmp_path, DEV_PLATFORM=Config().DEV_PLATFORM)
    assert app.test_client().get("/dev-platform/").status_code == 404


def test_the_development_platform_is_refused_with_another_database(tmp_path):
    app = create_app(
        {
            "TESTING": False,
            "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
            "DEV_PLATFORM": True,
        }
    )
    assert app.config["DEV_PLATFORM"] is False
    assert "dev_platform" not in app.blueprints


def test_only_the_run_command_turns_the_development_platform_on():
    serve = (PROJECT_ROOT / "scripts" / "serve.sh").read_text()
    assert 'export DEV_PLATFORM="${DEV_PLATFORM:-1}"' in serve
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "DEV_PLATFORM=0" in dockerfile


def test_the_development_platform_registers_only_a_loopback_base(tmp_path, fresh):
    app, _content = fresh
    with app.app_context():
        with pytest.raises(ValueError):
            dev_platform.ensure_registered(db.session(), "https://assess.example.ac.uk")
        assert dev_platform.ensure_registered(db.session(), "http://127.0.0.1:5000").active


def test_the_development_platform_refuses_a_public_base(tmp_path):
    app = bare_app(tmp_path, DEV_PLATFORM=True, PUBLIC_BASE_URL="https://assess.example.ac.uk")
    client = app.test_client()
    assert client.get("/dev-platform/", headers={"Host": "assess.example.ac.uk"}).status_code == 404


# --- the launch session: lifetime, rotation, browser binding --------------------------------


def session_row(app, ls: str) -> LtiSession:
    with app.app_context():
        row = sessions.find(db.session(), ls)
        db.session().expunge(row)
        return row


def test_a_launch_lasts_90_minutes_and_a_learners_is_kept_open_to_their_deadline(lti_app):
    """The launch reads nothing to size its session (issue 12): 90 minutes as it starts, for
    a learner and for staff; Start keeps the learner's open until the deadline and 30 minutes
    more (to submit and see the result)."""
    client = lti_app.test_client()
    _path, ls = _launch(lti_app, client)
    row = session_row(lti_app, ls)
    assert abs((row.expires_at - row.created_at) - timedelta(minutes=90)) < timedelta(seconds=5)
    assert client.post("/lti/attempt/start", data={"ls": ls, "attempt": ""}).status_code == 303
    with lti_app.app_context():
        limit = bank.get_assessment(db.session(), "CSC-01-A1").time_limit_minutes
    row = session_row(lti_app, ls)
    assert abs((row.expires_at - row.created_at) - timedelta(minutes=limit + 30)) < timedelta(
        seconds=5
    )
    _path, staff_ls = _launch(lti_app, lti_app.test_client(), user="instructor-1")
    staff = session_row(lti_app, staff_ls)
    assert abs((staff.expires_at - staff.created_at) - timedelta(minutes=90)) < timedelta(seconds=5)


def test_the_launch_binds_the_session_to_the_browser_with_a_partitioned_cookie(lti_app):
    client = lti_app.test_client()
    response, _token, _state = lti_flow.launch(lti_app, client, custom={"assessment": "CSC-01-A1"})
    ls = parse_qs(urlsplit(response.headers["Location"]).query)["ls"][0]
    row = session_row(lti_app, ls)
    [header] = [
        h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"lti-session-{row.id}=")
    ]
    for attribute in ("HttpOnly", "Secure", "SameSite=None", "Partitioned", "Path=/lti"):
        assert attribute in header
    assert row.browser_hash and row.browser_seen_at is None
    assert client.get("/lti/attempt", query_string={"ls": ls}).status_code == 200
    # A page view writes nothing (issue 12); the first write (Start) records the browser.
    assert session_row(lti_app, ls).browser_seen_at is None
    started = client.post("/lti/attempt/start", data={"ls": ls, "attempt": ""})
    assert started.status_code == 303
    assert session_row(lti_app, ls).browser_seen_at is not None
    # Another browser's session cookie for this launch does not fit it.
    other = lti_app.test_client()
    other.set_cookie(f"lti-session-{row.id}", "another-browsers-secret", path="/lti")
    assert other.get("/lti/attempt", query_string={"ls": ls}).status_code == 403


def test_a_cookie_that_does_not_match_is_refused(lti_app):
    client = lti_app.test_client()
    _path, ls = _launch(lti_app, client)
    row = session_row(lti_app, ls)
    other = lti_app.test_client()
    other.set_cookie(f"lti-session-{row.id}", "not-the-secret", path="/lti")
    assert other.get("/lti/attempt", query_string={"ls": ls}).status_code == 403


def test_without_cookies_the_token_alone_works(lti_app):
    client = lti_app.test_client()
    _path, ls = _launch(lti_app, client)
    row = session_row(lti_app, ls)
    client.delete_cookie(f"lti-session-{row.id}", path="/lti")  # the frame blocked it
    assert client.get("/lti/attempt", query_string={"ls": ls}).status_code == 200
    assert client.get("/lti/attempt", query_string={"ls": ls}).status_code == 200


def test_an_old_token_is_rotated_on_a_page_load_and_the_previous_one_overlaps(lti_app):
    client = lti_app.test_client()
    _path, ls = _launch(lti_app, client)
    assert client.get("/lti/attempt", query_string={"ls": ls}).status_code == 200
    with lti_app.app_context():
        session = db.session()
        session.execute(
            update(LtiSession)
            .where(LtiSession.token_hash == sessions.token_hash(ls))
            .values(token_issued_at=utcnow() - timedelta(minutes=16))
        )
        session.commit()
    rotated = client.get("/lti/attempt", query_string={"ls": ls})
    assert rotated.status_code == 303
    location = urlsplit(rotated.headers["Location"])
    assert location.path == "/lti/attempt"
    fresh = parse_qs(location.query)["ls"][0]
    assert fresh != ls
    assert client.get("/lti/attempt", query_string={"ls": fresh}).status_code == 200
    # The previous token still works during the overlap (an open page saving)...
    assert client.get("/lti/attempt", query_string={"ls": ls}).status_code == 200
    # ...and not after it.
    with lti_app.app_context():
        session = db.session()
        session.execute(
            update(LtiSession)
            .where(LtiSession.token_hash == sessions.token_hash(fresh))
            .values(previous_expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    assert client.get("/lti/attempt", query_string={"ls": ls}).status_code == 403
    assert client.get("/lti/attempt", query_string={"ls": fresh}).status_code == 200
