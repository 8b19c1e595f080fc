"""Drive LTI launches through HTTP with the development platform's code (its key signs the
id_tokens) and requests-mock answering the platform's JWKS URL."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from lti import dev_platform, keys
from service import db

BASE = "http://localhost"
ISS = dev_platform.issuer(BASE)


def register(app):
    with app.app_context():
        dev_platform.ensure_registered(db.session(), BASE)


def mock_platform_jwks(app, requests_mock):
    with app.app_context():
        jwks = keys.jwks(db.session(), dev_platform.OWNER)
    requests_mock.get(f"{ISS}/jwks", json=jwks)
    return jwks


def login(client, user="learner-1", message="resource", **overrides):
    """Run the OIDC login; return (state, nonce) from the redirect to the platform."""
    params = {
        "iss": ISS,
        "login_hint": user,
        "target_link_uri": f"{BASE}/lti/launch",
        "lti_message_hint": json.dumps({"user": user, "message": message}),
        "client_id": dev_platform.CLIENT_ID,
        "lti_deployment_id": dev_platform.DEPLOYMENT_ID,
        "new_window": "1",
    }
    params.update(overrides)
    response = client.get("/lti/login", query_string={k: v for k, v in params.items() if v})
    assert response.status_code == 302, response.get_data(as_text=True)
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    return query["state"][0], query["nonce"][0]


def claims(user, message_type, nonce, **kwargs):
    return dev_platform.id_token_claims(BASE, user, message_type, nonce, **kwargs)


def sign(app, payload, **header):
    with app.app_context():
        return dev_platform.sign(db.session(), payload, **header)


def launch(app, client, user="learner-1", message="resource", custom=None, mutate=None):
    """Login then launch; `mutate(claims)` may change the claims before signing."""
    state, nonce = login(client, user, message)
    message_type = "LtiDeepLinkingRequest" if message == "deep_link" else "LtiResourceLinkRequest"
    payload = claims(user, message_type, nonce, custom=custom)
    if mutate:
        mutate(payload)
    token = sign(app, payload)
    return client.post("/lti/launch", data={"id_token": token, "state": state}), token, state
