"""LTI 1.3 registrations: Dynamic Registration (the real Moodle 4.5.6 exchange, Canvas's
documented shape), the https rule, the close page, the admin API and the `lti` CLI."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from jwt.algorithms import RSAAlgorithm

from lti import keys
from lti.models import LtiPlatform
from lti.tool_conf import DatabaseToolConf
from lti.tool_config import CANVAS, PLATFORM_CONFIGURATION, SCOPES, TOOL_CONFIGURATION
from service import create_app, db, migrations
from tests.conftest import CAPTURES, bearer, create_client, isolated_database
from tests.test_lti_url_policy import fake_dns

CAPTURE = CAPTURES / "dynamic-registration.json"
MOODLE_HTTP = "http://127.0.0.1:8080"  # the host the capture was made on
MOODLE_HTTPS = "https://moodle.northfield.example.ac.uk"
TOKEN = "registration-token-from-the-lms"
BASE = "http://localhost"  # the test client's host: the tool's own URLs
ADMIN_API = "/api/v1/admin/lti/platforms"


PUBLIC_ADDRESS = "93.184.215.14"


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    """Every test host name resolves to a public address (no DNS in tests); localhost and
    literals resolve as usual. lti/platform_http.py resolves before each request."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "localhost" or host.replace(".", "").isdigit():
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_ADDRESS, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture()
def make_app(tmp_path):
    """make_app(embedded): an app on a database of its own, without content (registration
    needs none). embedded=True is the embedded default (DEV_PLATFORM)."""
    with contextlib.ExitStack() as stack:
        apps = []

        def factory(embedded: bool):
            url = stack.enter_context(isolated_database(tmp_path))
            migrations.upgrade(url)
            app = create_app({"TESTING": True, "DATABASE_URL": url, "DEV_PLATFORM": embedded})
            apps.append(app)
            return app

        yield factory
        for app in apps:
            app.extensions["db_engine"].dispose()


@pytest.fixture()
def production(make_app):
    return make_app(False)


@pytest.fixture()
def embedded(make_app):
    return make_app(True)


def moodle_exchange(host: str = MOODLE_HTTP) -> dict:
    """The captured exchange, with Moodle moved to `host` if asked."""
    return json.loads(CAPTURE.read_text(encoding="utf-8").replace(MOODLE_HTTP, host))


def mock_platform(requests_mock, exchange: dict, status: int = 200, answer=None):
    requests_mock.get(exchange["openid_configuration_url"], json=exchange["openid_configuration"])
    requests_mock.post(
        exchange["openid_configuration"]["registration_endpoint"],
        status_code=status,
        json=answer if answer is not None else exchange["registration_response"],
    )


def register(client, config_url: str, token: str = TOKEN):
    return client.get(
        "/lti/register",
        query_string={"openid_configuration": config_url, "registration_token": token},
    )


def posted_registration(requests_mock) -> dict:
    posts = [r for r in requests_mock.request_history if r.method == "POST"]
    assert len(posts) == 1
    assert posts[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert posts[0].headers["Content-Type"] == "application/json"
    return posts[0].json()


def platforms(app) -> list[LtiPlatform]:
    with app.app_context():
        rows = db.session().query(LtiPlatform).order_by(LtiPlatform.id).all()
        for row in rows:
            _ = row.deployments
        return rows


def assert_error_page(response, status: int):
    assert response.status_code == status, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert "The tool could not be registered" in html
    assert re.search(r"Reference: [0-9A-F]{10}", html)


def moodle_accepts(registration: dict) -> None:
    """What Moodle 4.5's registration_helper::registration_to_config() refuses."""
    for key in (
        "response_types",
        "initiate_login_uri",
        "redirect_uris",
        "client_name",
        "jwks_uri",
        "token_endpoint_auth_method",
        TOOL_CONFIGURATION,
    ):
        assert registration.get(key), key
    config = registration[TOOL_CONFIGURATION]
    assert config["domain"] == urlsplit(config["target_link_uri"]).netloc
    assert "id_token" in registration["response_types"]
    assert isinstance(registration["redirect_uris"], list)
    assert registration["token_endpoint_auth_method"] == "private_key_jwt"
    assert registration.get("application_type", "web") == "web"


def login(client, issuer: str, client_id: str, deployment_id: str):
    return client.get(
        "/lti/login",
        query_string={
            "iss": issuer,
            "login_hint": "user-7",
            "target_link_uri": f"{BASE}/lti/launch",
            "client_id": client_id,
            "lti_deployment_id": deployment_id,
            "new_window": "1",
        },
    )


# --- Moodle 4.5.6: the captured exchange ---------------------------------------------------


def test_moodle_dynamic_registration_on_the_embedded_default_is_active_at_once(
    embedded, requests_mock
):
    exchange = moodle_exchange()
    mock_platform(requests_mock, exchange)
    client = embedded.test_client()

    response = register(client, exchange["openid_configuration_url"])

    assert response.status_code == 200, response.get_data(as_text=True)
    get = requests_mock.request_history[0]
    assert get.method == "GET" and get.headers["Authorization"] == f"Bearer {TOKEN}"
    sent = posted_registration(requests_mock)
    moodle_accepts(sent)
    assert sent["application_type"] == "web"
    assert sent["response_types"] == ["id_token"]
    assert set(sent["grant_types"]) == {"implicit", "client_credentials"}
    assert sent["initiate_login_uri"] == f"{BASE}/lti/login"
    assert sent["redirect_uris"] == [f"{BASE}/lti/launch"]
    assert sent["jwks_uri"] == f"{BASE}/lti/jwks"
    assert sent["logo_uri"] == f"{BASE}/lti/logo.svg"
    assert sent["client_name"]
    assert sent["token_endpoint_auth_method"] == "private_key_jwt"
    assert set(sent["scope"].split()) == set(SCOPES)
    config = sent[TOOL_CONFIGURATION]
    assert config["domain"] == "localhost"
    assert config["target_link_uri"] == f"{BASE}/lti/launch"
    assert config["claims"] == ["iss", "sub", "name"]
    assert config["description"]
    assert "email" not in json.dumps(sent)
    messages = {m["type"]: m for m in config["messages"]}
    assert set(messages) == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}
    deep_link = messages["LtiDeepLinkingRequest"]
    # Moodle reads the deep-linking message's target_link_uri (its ContentItemSelectionRequest
    # URL) and offers it in the activity chooser ("ContentArea", as Moodle advertises). Its
    # query tells the login that this is deep linking, which must stay in the frame (issue 8).
    assert deep_link["target_link_uri"] == f"{BASE}/lti/launch?message=deep-linking"
    assert "ContentArea" in deep_link["placements"]
    assert deep_link["label"] and deep_link["icon_uri"] == f"{BASE}/lti/logo.svg"

    captured = exchange["registration_response"]
    [platform] = platforms(embedded)
    assert platform.client_id == captured["client_id"] == "DvWxG2RKrK8ipKG"
    assert [d.deployment_id for d in platform.deployments] == ["2"]
    assert platform.issuer == MOODLE_HTTP
    assert platform.auth_login_url == f"{MOODLE_HTTP}/mod/lti/auth.php"
    assert platform.auth_token_url == f"{MOODLE_HTTP}/mod/lti/token.php"
    assert platform.key_set_url == f"{MOODLE_HTTP}/mod/lti/certs.php"
    assert platform.auth_audience is None
    assert platform.registered_by == "dynamic" and platform.active
    assert "Moodle" in platform.name

    html = response.get_data(as_text=True)
    assert "DvWxG2RKrK8ipKG" in html and "is active" in html
    assert "close.js" in html
    # Moodle's registration cannot put the tool in the activity chooser: the page says how.
    assert 'id="lti-moodle-chooser"' in html and "Show in activity chooser" in html
    # Active at once: Moodle can start a launch.
    started = login(client, MOODLE_HTTP, "DvWxG2RKrK8ipKG", "2")
    assert started.status_code == 302
    assert started.headers["Location"].startswith(f"{MOODLE_HTTP}/mod/lti/auth.php?")


def test_moodle_dynamic_registration_in_production_waits_for_an_administrator(
    production, requests_mock
):
    exchange = moodle_exchange(MOODLE_HTTPS)
    mock_platform(requests_mock, exchange)
    client = production.test_client()

    response = register(client, exchange["openid_configuration_url"])

    assert response.status_code == 200, response.get_data(as_text=True)
    assert "waiting for approval" in response.get_data(as_text=True)
    sent = posted_registration(requests_mock)
    moodle_accepts(sent)
    assert "email" not in sent[TOOL_CONFIGURATION]["claims"]
    [platform] = platforms(production)
    assert (platform.issuer, platform.client_id) == (MOODLE_HTTPS, "DvWxG2RKrK8ipKG")
    assert [d.deployment_id for d in platform.deployments] == ["2"]
    assert platform.registered_by == "dynamic" and not platform.active

    # An inactive registration cannot log in...
    refused = login(client, MOODLE_HTTPS, "DvWxG2RKrK8ipKG", "2")
    assert refused.status_code == 400
    assert "Reference:" in refused.get_data(as_text=True)
    # ...until an administrator activates it.
    headers = bearer(production, ["admin"])
    activated = client.post(f"{ADMIN_API}/{platform.id}/activate", headers=headers)
    assert activated.status_code == 200 and activated.get_json()["active"] is True
    started = login(client, MOODLE_HTTPS, "DvWxG2RKrK8ipKG", "2")
    assert started.status_code == 302
    query = parse_qs(urlsplit(started.headers["Location"]).query)
    assert query["client_id"] == ["DvWxG2RKrK8ipKG"]


def test_registering_the_same_answer_twice_keeps_one_registration(embedded, requests_mock):
    exchange = moodle_exchange()
    mock_platform(requests_mock, exchange)
    client = embedded.test_client()
    assert register(client, exchange["openid_configuration_url"]).status_code == 200
    again = register(client, exchange["openid_configuration_url"])
    assert again.status_code == 200 and "already registered" in again.get_data(as_text=True)
    assert len(platforms(embedded)) == 1


def test_the_same_answer_registered_at_once_keeps_one_registration(production, requests_mock):
    # An administrator's double click, or two tabs: the registrations race in the database.
    # One stores it; the others find it stored, or are told to try again (409), never a 500.
    exchange = moodle_exchange(MOODLE_HTTPS)
    mock_platform(requests_mock, exchange)
    threads = 6
    start = threading.Barrier(threads)

    def one(_n: int) -> int:
        client = production.test_client()
        start.wait()
        return register(client, exchange["openid_configuration_url"]).status_code

    with ThreadPoolExecutor(threads) as pool:
        statuses = list(pool.map(one, range(threads)))
    assert set(statuses) <= {200, 409} and 200 in statuses, statuses
    [platform] = platforms(production)
    assert [d.deployment_id for d in platform.deployments] == ["2"]


# --- Canvas: the documented shape ---------------------------------------------------------

CANVAS_ISS = "https://canvas.instructure.com"
CANVAS_CONFIG_URL = f"{CANVAS_ISS}/api/lti/security/openid-configuration?registration_token={TOKEN}"
CANVAS_CONFIG = {
    "issuer": CANVAS_ISS,
    "authorization_endpoint": "https://sso.canvaslms.com/api/lti/authorize_redirect",
    "registration_endpoint": f"{CANVAS_ISS}/api/lti/registrations",
    "jwks_uri": "https://sso.canvaslms.com/api/lti/security/jwks",
    "token_endpoint": "https://sso.canvaslms.com/login/oauth2/token",
    "token_endpoint_auth_methods_supported": ["private_key_jwt"],
    "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
    "scopes_supported": [
        "openid",
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
        "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
        "https://purl.imsglobal.org/spec/lti-ags/scope/score",
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
        "https://canvas.instructure.com/lti/public_jwk/scope/update",
        "https://canvas.instructure.com/lti/account_lookup/scope/show",
    ],
    "response_types_supported": ["id_token"],
    "id_token_signing_alg_values_supported": ["RS256"],
    "claims_supported": ["sub", "picture", "email", "name", "given_name", "family_name"],
    "subject_types_supported": ["public"],
    "authorization_server": "canvas.instructure.com",
    PLATFORM_CONFIGURATION: {
        "product_family_code": "canvas",
        "version": "vCloud",
        "messages_supported": [
            {
                "type": "LtiResourceLinkRequest",
                "placements": ["account_navigation", "course_navigation", "link_selection"],
            },
            {
                "type": "LtiDeepLinkingRequest",
                "placements": [
                    "assignment_selection",
                    "editor_button",
                    "link_selection",
                    "migration_selection",
                ],
            },
        ],
        "variables": ["ResourceLink.id", "Canvas.environment.test"],
        CANVAS + "account_name": "Northfield College",
        CANVAS + "account_lti_guid": "pNu5F9EoIATW6XqZ33C5tiqomb7bFJ4IGWFoCFy6:canvas-lms",
    },
}


def canvas_placement(placement: str) -> str:
    """Canvas's Lti::IMS::Registration#canvas_placement_name."""
    if placement == "ContentArea":
        return "link_selection"
    if placement == "RichTextEditor":
        return "editor_button"
    return placement.removeprefix(CANVAS)


def test_canvas_dynamic_registration_uses_canvas_placements(production, requests_mock):
    requests_mock.get(CANVAS_CONFIG_URL, json=CANVAS_CONFIG)

    def canvas_answer(request, _context):
        # Canvas answers with the registration it stored and the developer key's id.
        body = request.json()
        body["client_id"] = "10000000000001"
        body[TOOL_CONFIGURATION][CANVAS + "registration_config_url"] = (
            f"{CANVAS_ISS}/api/lti/registrations/1/view"
        )
        return body

    requests_mock.post(CANVAS_CONFIG["registration_endpoint"], json=canvas_answer)
    client = production.test_client()

    response = register(client, CANVAS_CONFIG_URL)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert "lti-moodle-chooser" not in response.get_data(as_text=True)  # Moodle's step only
    sent = posted_registration(requests_mock)
    # Canvas's required registration fields.
    assert sent["application_type"] == "web"
    assert {"client_credentials", "implicit"} <= set(sent["grant_types"])
    assert sent["response_types"] == ["id_token"]
    assert sent["token_endpoint_auth_method"] == "private_key_jwt"
    assert set(sent["scope"].split()) <= set(CANVAS_CONFIG["scopes_supported"]) - {"openid"}
    config = sent[TOOL_CONFIGURATION]
    assert config["domain"] and config["target_link_uri"] and config["claims"]
    assert "email" not in config["claims"]
    assert config[CANVAS + "privacy_level"] == "name_only"
    [deep_link] = [m for m in config["messages"] if m["type"] == "LtiDeepLinkingRequest"]
    assert CANVAS + "assignment_selection" in deep_link["placements"]
    assert CANVAS + "link_selection" in deep_link["placements"]
    canvas_supported = CANVAS_CONFIG[PLATFORM_CONFIGURATION]["messages_supported"][1]
    mapped = {canvas_placement(p) for p in deep_link["placements"]}
    assert mapped == {"assignment_selection", "link_selection"}
    assert mapped <= set(canvas_supported["placements"])
    # Canvas keeps the first message for a placement: deep linking owns link_selection.
    assert config["messages"][0]["type"] == "LtiDeepLinkingRequest"

    [platform] = platforms(production)
    assert platform.issuer == CANVAS_ISS and platform.client_id == "10000000000001"
    assert platform.auth_login_url == CANVAS_CONFIG["authorization_endpoint"]
    assert platform.auth_token_url == CANVAS_CONFIG["token_endpoint"]
    assert platform.key_set_url == CANVAS_CONFIG["jwks_uri"]
    assert platform.auth_audience == "canvas.instructure.com"
    assert platform.deployments == []  # Canvas makes deployments when the app is added
    assert platform.name == "Northfield College (Canvas)"
    assert not platform.active
    assert "none yet" in response.get_data(as_text=True)

    headers = bearer(production, ["admin"])
    added = client.post(
        f"{ADMIN_API}/{platform.id}/deployments",
        json={"deployment_id": "6:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"},
        headers=headers,
    )
    assert added.status_code == 201
    assert added.get_json()["deployment_ids"] == ["6:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"]


def test_platform_without_deep_linking_gets_only_resource_links(production, requests_mock):
    config = json.loads(json.dumps(CANVAS_CONFIG))
    config[PLATFORM_CONFIGURATION]["messages_supported"] = [{"type": "LtiResourceLinkRequest"}]
    requests_mock.get(CANVAS_CONFIG_URL, json=config)
    requests_mock.post(config["registration_endpoint"], json={"client_id": "42"})
    assert register(production.test_client(), CANVAS_CONFIG_URL).status_code == 200
    sent = posted_registration(requests_mock)
    types = [m["type"] for m in sent[TOOL_CONFIGURATION]["messages"]]
    assert types == ["LtiResourceLinkRequest"]


def test_canvas_json_configuration_matches_the_registration(production):
    config = production.test_client().get("/lti/config/canvas").get_json()
    assert config["oidc_initiation_url"] == f"{BASE}/lti/login"
    assert config["target_link_uri"] == f"{BASE}/lti/launch"
    assert config["public_jwk_url"] == f"{BASE}/lti/jwks"
    assert set(config["scopes"]) == set(SCOPES)
    [extension] = config["extensions"]
    assert extension["platform"] == "canvas.instructure.com"
    assert extension["privacy_level"] == "name_only"
    placements = extension["settings"]["placements"]
    assert {p["placement"] for p in placements} == {"assignment_selection", "link_selection"}
    assert {p["message_type"] for p in placements} == {"LtiDeepLinkingRequest"}
    assert "email" not in json.dumps(config)


# --- The https rule and the issuer rule -----------------------------------------------------


@pytest.mark.parametrize(
    "config_url",
    [
        "http://moodle.northfield.example.ac.uk/mod/lti/openid-configuration.php",
        f"{MOODLE_HTTP}/mod/lti/openid-configuration.php",
        "https://10.1.2.3/mod/lti/openid-configuration.php",
        "https://localhost/mod/lti/openid-configuration.php",
        "ftp://moodle.northfield.example.ac.uk/openid",
        "not a url",
    ],
)
def test_production_refuses_non_https_or_internal_configuration_urls(
    production, requests_mock, config_url
):
    response = register(production.test_client(), config_url)
    assert_error_page(response, 400)
    assert requests_mock.call_count == 0
    assert platforms(production) == []


@pytest.mark.parametrize("key", ["issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"])
def test_production_refuses_http_platform_endpoints(production, requests_mock, key):
    exchange = moodle_exchange(MOODLE_HTTPS)
    exchange["openid_configuration"][key] = exchange["openid_configuration"][key].replace(
        "https://", "http://"
    )
    mock_platform(requests_mock, exchange)
    response = register(production.test_client(), exchange["openid_configuration_url"])
    assert_error_page(response, 400)
    assert [r.method for r in requests_mock.request_history] == ["GET"]
    assert platforms(production) == []


def test_embedded_default_accepts_http_only_on_loopback(embedded, requests_mock):
    exchange = moodle_exchange("http://moodle.northfield.example.ac.uk")
    mock_platform(requests_mock, exchange)
    response = register(embedded.test_client(), exchange["openid_configuration_url"])
    assert_error_page(response, 400)
    assert requests_mock.call_count == 0


def test_embedded_default_keeps_an_https_platform_pending(embedded, requests_mock):
    exchange = moodle_exchange(MOODLE_HTTPS)
    mock_platform(requests_mock, exchange)
    assert register(embedded.test_client(), exchange["openid_configuration_url"]).status_code == 200
    [platform] = platforms(embedded)
    assert not platform.active


def test_registration_endpoint_not_under_the_issuer_is_refused(production, requests_mock):
    exchange = moodle_exchange(MOODLE_HTTPS)
    exchange["openid_configuration"]["registration_endpoint"] = (
        "https://collector.example.org/mod/lti/openid-registration.php"
    )
    mock_platform(requests_mock, exchange)
    response = register(production.test_client(), exchange["openid_configuration_url"])
    assert_error_page(response, 400)
    assert [r.method for r in requests_mock.request_history] == ["GET"]
    assert platforms(production) == []


@pytest.mark.parametrize(
    "config_url",
    [
        # A look-alike host: a plain string prefix test would let it through.
        f"{MOODLE_HTTPS}.evil.example/mod/lti/openid-configuration.php",
        "https://elsewhere.example.org/mod/lti/openid-configuration.php",
    ],
)
def test_configuration_url_not_under_its_issuer_is_refused(production, requests_mock, config_url):
    exchange = moodle_exchange(MOODLE_HTTPS)
    requests_mock.get(config_url, json=exchange["openid_configuration"])
    response = register(production.test_client(), config_url)
    assert_error_page(response, 400)
    assert [r.method for r in requests_mock.request_history] == ["GET"]


@pytest.mark.parametrize(
    "change",
    [
        {"registration_endpoint": None},
        {"jwks_uri": None},
        {"token_endpoint": ""},
        {"authorization_endpoint": None},
        {"issuer": None},
        {"id_token_signing_alg_values_supported": ["HS256"]},
        {"token_endpoint_auth_methods_supported": ["client_secret_basic"]},
        {
            PLATFORM_CONFIGURATION: {
                "messages_supported": [{"type": "LtiDeepLinkingRequest"}],
            }
        },
    ],
)
def test_incomplete_configuration_is_refused(production, requests_mock, change):
    exchange = moodle_exchange(MOODLE_HTTPS)
    for key, value in change.items():
        if value is None:
            exchange["openid_configuration"].pop(key)
        else:
            exchange["openid_configuration"][key] = value
    requests_mock.get(exchange["openid_configuration_url"], json=exchange["openid_configuration"])
    response = register(production.test_client(), exchange["openid_configuration_url"])
    assert_error_page(response, 400)
    assert [r.method for r in requests_mock.request_history] == ["GET"]


# --- Platform errors ------------------------------------------------------------------------


def test_platform_refusing_the_registration_shows_the_error_page(production, requests_mock):
    exchange = moodle_exchange(MOODLE_HTTPS)
    mock_platform(
        requests_mock,
        exchange,
        status=400,
        answer={"error": "invalid_client_metadata", "error_description": "token_already_used"},
    )
    response = register(production.test_client(), exchange["openid_configuration_url"])
    assert_error_page(response, 502)
    assert "token_already_used" not in response.get_data(as_text=True)
    assert platforms(production) == []


@pytest.mark.parametrize(
    "configure",
    [
        lambda m, url: m.get(url, status_code=500, text="Internal error"),
        lambda m, url: m.get(url, status_code=401, json={"error": "invalid token"}),
        lambda m, url: m.get(url, text="<html>not json</html>"),
        lambda m, url: m.get(url, json=["not", "an", "object"]),
        lambda m, url: m.get(url, exc=requests.ConnectTimeout),
        # A redirect is followed (each hop checked) to an answer that is not the configuration.
        lambda m, url: (
            m.get(url, status_code=302, headers={"Location": "https://x.example/"}),
            m.get("https://x.example/", status_code=404),
        ),
    ],
)
def test_configuration_fetch_failures_show_the_error_page(production, requests_mock, configure):
    url = f"{MOODLE_HTTPS}/mod/lti/openid-configuration.php"
    configure(requests_mock, url)
    response = register(production.test_client(), url)
    assert_error_page(response, 502)
    assert platforms(production) == []


@pytest.mark.parametrize(
    "answer",
    [{}, {"client_id": ""}, {"client_id": None}, {"client_id": ["x"]}],
)
def test_registration_answer_without_client_id_is_refused(production, requests_mock, answer):
    exchange = moodle_exchange(MOODLE_HTTPS)
    mock_platform(requests_mock, exchange, answer=answer)
    response = register(production.test_client(), exchange["openid_configuration_url"])
    assert_error_page(response, 502)
    assert platforms(production) == []


def test_registration_post_failure_shows_the_error_page(production, requests_mock):
    exchange = moodle_exchange(MOODLE_HTTPS)
    config = exchange["openid_configuration"]
    requests_mock.get(exchange["openid_configuration_url"], json=config)
    requests_mock.post(config["registration_endpoint"], exc=requests.ConnectionError)
    response = register(production.test_client(), exchange["openid_configuration_url"])
    assert_error_page(response, 502)


def test_register_without_parameters_shows_the_error_page(production, requests_mock):
    assert_error_page(production.test_client().get("/lti/register"), 400)
    assert requests_mock.call_count == 0


# --- The close page -------------------------------------------------------------------------


def test_close_script_posts_the_close_message_to_the_opener_or_parent(production):
    client = production.test_client()
    script = client.get("/lti/static/close.js")
    assert script.status_code == 200
    text = script.get_data(as_text=True)
    assert "window.opener || window.parent" in text
    assert 'postMessage({ subject: "org.imsglobal.lti.close" }' in text


def test_registered_page_loads_the_close_script_and_no_inline_script(embedded, requests_mock):
    exchange = moodle_exchange()
    mock_platform(requests_mock, exchange)
    response = register(embedded.test_client(), exchange["openid_configuration_url"])
    html = response.get_data(as_text=True)
    assert '<script src="/lti/static/close.js"></script>' in html
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_logo_is_served(production):
    response = production.test_client().get("/lti/logo.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"


# --- Admin API ------------------------------------------------------------------------------


def manual(**overrides) -> dict:
    data = {
        "name": "Northfield Moodle",
        "issuer": MOODLE_HTTPS,
        "client_id": "manual-client-1",
        "auth_login_url": f"{MOODLE_HTTPS}/mod/lti/auth.php",
        "auth_token_url": f"{MOODLE_HTTPS}/mod/lti/token.php",
        "key_set_url": f"{MOODLE_HTTPS}/mod/lti/certs.php",
        "deployment_ids": ["3"],
    }
    data.update(overrides)
    return data


def test_admin_api_needs_a_token_with_the_admin_scope(production):
    client = production.test_client()
    calls = [
        ("get", ADMIN_API, None),
        ("post", ADMIN_API, manual()),
        ("get", f"{ADMIN_API}/1", None),
        ("post", f"{ADMIN_API}/1/activate", None),
        ("post", f"{ADMIN_API}/1/disable", None),
        ("post", f"{ADMIN_API}/1/deployments", {"deployment_id": "1"}),
    ]
    for method, path, body in calls:
        response = getattr(client, method)(path, json=body)
        assert response.status_code == 401, (method, path, response.get_json())
        assert response.get_json()["code"] == "unauthorized"
    headers = bearer(production, ["content:read", "coverage:read"])
    for method, path, body in calls:
        response = getattr(client, method)(path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.get_json())
        assert response.get_json()["code"] == "forbidden"


def test_admin_api_create_list_activate_disable_round_trip(production):
    client = production.test_client()
    headers = bearer(production, ["admin"])
    create_client(production, ["attempts:read"], "C001")  # makes centre C001

    created = client.post(ADMIN_API, json=manual(centre="C001"), headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["active"] is False and body["registered_by"] == "manual"
    assert body["deployment_ids"] == ["3"] and body["centre"] == "C001"
    assert body["auth_audience"] is None
    platform_id = body["id"]

    listed = client.get(ADMIN_API, headers=headers)
    assert listed.status_code == 200
    assert [p["client_id"] for p in listed.get_json()] == ["manual-client-1"]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1
    assert client.get(f"{ADMIN_API}/{platform_id}", headers=headers).get_json() == body

    refused = login(client, MOODLE_HTTPS, "manual-client-1", "3")
    assert refused.status_code == 400
    activated = client.post(f"{ADMIN_API}/{platform_id}/activate", headers=headers)
    assert activated.status_code == 200 and activated.get_json()["active"] is True
    assert login(client, MOODLE_HTTPS, "manual-client-1", "3").status_code == 302
    disabled = client.post(f"{ADMIN_API}/{platform_id}/disable", headers=headers)
    assert disabled.status_code == 200 and disabled.get_json()["active"] is False
    assert login(client, MOODLE_HTTPS, "manual-client-1", "3").status_code == 400

    added = client.post(
        f"{ADMIN_API}/{platform_id}/deployments", json={"deployment_id": "4"}, headers=headers
    )
    assert added.status_code == 201 and added.get_json()["deployment_ids"] == ["3", "4"]
    again = client.post(
        f"{ADMIN_API}/{platform_id}/deployments", json={"deployment_id": "4"}, headers=headers
    )
    assert again.status_code == 409

    for path in ("", "/activate", "/disable"):
        method = client.get if not path else client.post
        missing = method(f"{ADMIN_API}/9999{path}", headers=headers)
        assert missing.status_code == 404 and missing.get_json()["code"] == "not_found"


def test_admin_api_activate_may_bind_a_centre(production):
    client = production.test_client()
    headers = bearer(production, ["admin"])
    platform_id = client.post(ADMIN_API, json=manual(), headers=headers).get_json()["id"]
    unknown = client.post(
        f"{ADMIN_API}/{platform_id}/activate", json={"centre": "NOPE"}, headers=headers
    )
    assert unknown.status_code == 422 and "centre" in unknown.get_json()["details"]
    create_client(production, ["attempts:read"], "C002")
    bound = client.post(
        f"{ADMIN_API}/{platform_id}/activate", json={"centre": "C002"}, headers=headers
    )
    assert bound.status_code == 200
    assert bound.get_json()["centre"] == "C002" and bound.get_json()["active"] is True


def test_admin_api_names_the_invalid_fields(production):
    client = production.test_client()
    headers = bearer(production, ["admin"])
    response = client.post(
        ADMIN_API, json={"issuer": "not a url", "key_set_url": "ftp://x"}, headers=headers
    )
    assert response.status_code == 422
    details = response.get_json()["details"]
    assert {"name", "issuer", "client_id", "auth_login_url", "auth_token_url", "key_set_url"} <= (
        set(details)
    )


def test_admin_api_applies_the_https_rule_in_production(production):
    client = production.test_client()
    headers = bearer(production, ["admin"])
    response = client.post(
        ADMIN_API,
        json=manual(issuer="http://moodle.example", key_set_url="http://127.0.0.1/certs"),
        headers=headers,
    )
    assert response.status_code == 422
    details = response.get_json()["details"]
    assert set(details) == {"issuer", "key_set_url"}
    assert "https" in details["issuer"][0]
    unknown_centre = client.post(ADMIN_API, json=manual(centre="NOPE"), headers=headers)
    assert unknown_centre.status_code == 422 and set(unknown_centre.get_json()["details"]) == {
        "centre"
    }
    assert client.get(ADMIN_API, headers=headers).get_json() == []


def test_admin_api_accepts_a_loopback_platform_on_the_embedded_default(embedded):
    client = embedded.test_client()
    headers = bearer(embedded, ["admin"])
    local = "http://localhost:8080"
    response = client.post(
        ADMIN_API,
        json=manual(
            issuer=local,
            auth_login_url=f"{local}/auth",
            auth_token_url=f"{local}/token",
            key_set_url=f"{local}/certs",
            active=True,
        ),
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["active"] is True
    remote = client.post(
        ADMIN_API, json=manual(issuer="http://moodle.example", client_id="x"), headers=headers
    )
    assert remote.status_code == 422 and "issuer" in remote.get_json()["details"]


def test_admin_api_refuses_a_duplicate(production):
    client = production.test_client()
    headers = bearer(production, ["admin"])
    assert client.post(ADMIN_API, json=manual(), headers=headers).status_code == 201
    duplicate = client.post(ADMIN_API, json=manual(name="again"), headers=headers)
    assert duplicate.status_code == 409
    assert duplicate.get_json()["code"] == "conflict"
    other_client = client.post(ADMIN_API, json=manual(client_id="other"), headers=headers)
    assert other_client.status_code == 201


def test_admin_api_is_documented(production):
    spec = production.test_client().get("/openapi.json").get_json()
    paths = spec["paths"]
    assert "/api/v1/admin/lti/platforms/{platform_id}/activate" in paths
    assert paths["/api/v1/admin/lti/platforms"]["post"]["security"] == [{"oauth2": ["admin"]}]


# --- CLI ------------------------------------------------------------------------------------


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_cli_platforms_add_list_activate_disable(production):
    add = cli(
        production,
        "lti",
        "platforms",
        "add",
        "--name",
        "Northfield Canvas",
        "--issuer",
        CANVAS_ISS,
        "--client-id",
        "10000000000007",
        "--auth-login-url",
        CANVAS_CONFIG["authorization_endpoint"],
        "--auth-token-url",
        CANVAS_CONFIG["token_endpoint"],
        "--key-set-url",
        CANVAS_CONFIG["jwks_uri"],
        "--deployment-id",
        "6:abc",
        "--deployment-id",
        "7:def",
    )
    assert add.exit_code == 0, add.output
    assert "inactive" in add.output
    [platform] = platforms(production)
    assert [d.deployment_id for d in platform.deployments] == ["6:abc", "7:def"]
    listed = cli(production, "lti", "platforms", "list")
    assert listed.exit_code == 0
    assert "inactive" in listed.output and "10000000000007" in listed.output
    assert "6:abc,7:def" in listed.output

    client = production.test_client()
    assert login(client, CANVAS_ISS, "10000000000007", "6:abc").status_code == 400
    activated = cli(production, "lti", "platforms", "activate", str(platform.id))
    assert activated.exit_code == 0, activated.output
    assert " active " in cli(production, "lti", "platforms", "list").output
    assert login(client, CANVAS_ISS, "10000000000007", "6:abc").status_code == 302
    disabled = cli(production, "lti", "platforms", "disable", str(platform.id))
    assert disabled.exit_code == 0
    assert login(client, CANVAS_ISS, "10000000000007", "6:abc").status_code == 400

    deployment = cli(production, "lti", "platforms", "add-deployment", str(platform.id), "8:x")
    assert deployment.exit_code == 0 and "8:x" in cli(production, "lti", "platforms", "list").output

    duplicate = cli(
        production,
        "lti",
        "platforms",
        "add",
        "--name",
        "again",
        "--issuer",
        CANVAS_ISS,
        "--client-id",
        "10000000000007",
        "--auth-login-url",
        CANVAS_CONFIG["authorization_endpoint"],
        "--auth-token-url",
        CANVAS_CONFIG["token_endpoint"],
        "--key-set-url",
        CANVAS_CONFIG["jwks_uri"],
    )
    assert duplicate.exit_code != 0 and "already" in duplicate.output
    assert cli(production, "lti", "platforms", "activate", "9999").exit_code != 0


def test_cli_platforms_add_applies_the_https_rule(production):
    result = cli(
        production,
        "lti",
        "platforms",
        "add",
        "--name",
        "Plain http",
        "--issuer",
        "http://moodle.example",
        "--client-id",
        "c",
        "--auth-login-url",
        "http://moodle.example/auth",
        "--auth-token-url",
        "https://moodle.example/token",
        "--key-set-url",
        "https://moodle.example/certs",
    )
    assert result.exit_code != 0
    assert "issuer:" in result.output and "auth_login_url:" in result.output
    assert "auth_token_url:" not in result.output
    assert platforms(production) == []


def jwks_kids(app) -> list[str]:
    return [k["kid"] for k in app.test_client().get("/lti/jwks").get_json()["keys"]]


def signed_by_tool(app, platform_id: int) -> str:
    """Sign as the tool signs deep-linking responses and service requests."""
    with app.app_context():
        session = db.session()
        registration = DatabaseToolConf(session).registration(session.get(LtiPlatform, platform_id))
        return jwt.encode(
            {"iss": registration.get_client_id(), "aud": registration.get_issuer()},
            registration.get_tool_private_key(),
            algorithm="RS256",
            headers={"kid": registration.get_kid()},
        )


def verify_with_published_keys(app, token: str) -> dict:
    kid = jwt.get_unverified_header(token)["kid"]
    [published] = [
        k for k in app.test_client().get("/lti/jwks").get_json()["keys"] if k["kid"] == kid
    ]
    key = RSAAlgorithm.from_jwk(json.dumps(published))
    return jwt.decode(token, key, algorithms=["RS256"], audience=MOODLE_HTTPS)


def test_cli_keys_rotate_and_retire(production):
    client = production.test_client()
    headers = bearer(production, ["admin"])
    platform_id = client.post(ADMIN_API, json=manual(), headers=headers).get_json()["id"]
    [first] = jwks_kids(production)
    assert jwt.get_unverified_header(signed_by_tool(production, platform_id))["kid"] == first

    rotated = cli(production, "lti", "keys", "rotate")
    assert rotated.exit_code == 0, rotated.output
    kids = jwks_kids(production)
    assert len(kids) == 2 and kids[0] == first
    newest = kids[1]
    assert newest in rotated.output
    token = signed_by_tool(production, platform_id)
    assert jwt.get_unverified_header(token)["kid"] == newest
    assert verify_with_published_keys(production, token)["iss"] == "manual-client-1"
    with production.app_context():
        assert keys.signing_key(db.session()).kid == newest

    listed = cli(production, "lti", "keys", "list")
    assert listed.exit_code == 0
    assert f"{first}" in listed.output and "published" in listed.output
    assert re.search(rf"{newest}\s+\S+ \S+\s+signing", listed.output)

    refused = cli(production, "lti", "keys", "retire", newest)
    assert refused.exit_code != 0 and "signing key" in refused.output
    assert jwks_kids(production) == [first, newest]
    unknown = cli(production, "lti", "keys", "retire", "no-such-kid")
    assert unknown.exit_code != 0

    retired = cli(production, "lti", "keys", "retire", first)
    assert retired.exit_code == 0, retired.output
    assert jwks_kids(production) == [newest]
    assert "retired" in cli(production, "lti", "keys", "list").output
    again = cli(production, "lti", "keys", "retire", first)
    assert again.exit_code != 0


# --- SSRF through the app (tests/test_lti_url_policy.py has the policy's own tests) ------


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f000001", "[::ffff:127.0.0.1]"])
def test_register_refuses_an_internal_configuration_url(production, requests_mock, host):
    response = register(
        production.test_client(), f"https://{host}/mod/lti/openid-configuration.php"
    )
    assert_error_page(response, 400)
    assert requests_mock.call_count == 0


def test_register_refuses_a_configuration_host_resolving_internally(
    production, requests_mock, monkeypatch
):
    exchange = moodle_exchange("https://moodle.northfield.example.ac.uk")
    requests_mock.get(exchange["openid_configuration_url"], json=exchange["openid_configuration"])
    fake_dns(monkeypatch, {"moodle.northfield.example.ac.uk": ["10.20.30.40"]})
    response = register(production.test_client(), exchange["openid_configuration_url"])
    assert_error_page(response, 400)
    assert requests_mock.call_count == 0
    assert platforms(production) == []


def test_register_refuses_a_registration_endpoint_resolving_internally(
    production, requests_mock, monkeypatch
):
    exchange = moodle_exchange("https://moodle.northfield.example.ac.uk")
    requests_mock.get(exchange["openid_configuration_url"], json=exchange["openid_configuration"])
    post = requests_mock.post(exchange["openid_configuration"]["registration_endpoint"], json={})
    answers = {"moodle.northfield.example.ac.uk": ["93.184.215.14"]}
    calls = fake_dns(monkeypatch, answers)

    def rebind(*_args, **_kwargs):
        # The second lookup (the registration POST) answers with an internal address.
        answers["moodle.northfield.example.ac.uk"] = ["192.168.10.10"]

    requests_mock.get(
        exchange["openid_configuration_url"],
        json=lambda request, context: rebind() or exchange["openid_configuration"],
    )
    response = register(production.test_client(), exchange["openid_configuration_url"])
    assert_error_page(response, 400)
    assert not post.called
    assert len(calls) == 2


@pytest.mark.parametrize(
    "key_set_url",
    [
        "https://127.1/certs",
        "https://0x7f000001/certs",
        "https://[::1]/certs",
        "https://169.254.169.254/latest",
        "https://localhost/certs",
    ],
)
def test_admin_api_refuses_internal_platform_urls(production, key_set_url):
    response = production.test_client().post(
        ADMIN_API, json=manual(key_set_url=key_set_url), headers=bearer(production, ["admin"])
    )
    assert response.status_code == 422
    assert set(response.get_json()["details"]) == {"key_set_url"}
