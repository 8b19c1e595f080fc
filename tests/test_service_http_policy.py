"""Calls to a platform's services (token endpoint, AGS, NRPS) go through the URL policy: their
URLs come from registrations and launch claims, so a platform must not be able to aim the tool
at its own network. Real sockets here (no requests-mock, which would bypass the transport)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from lti.service_calls import Refused, RetryLater, ServiceSettings, classify_error, http_session


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        body = f"host={self.headers['Host']}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def local_platform():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _outcome(settings, url):
    try:
        http_session(settings).get(url, timeout=2)
    except requests.RequestException as error:
        return classify_error(error)
    return None


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://10.0.0.5/lineitems",  # private
        "https://[::1]/lineitems",  # loopback, IPv6
        "https://0x7f000001/lineitems",  # loopback, hex spelling
        "ftp://lms.example/lineitems",
    ],
)
def test_internal_addresses_are_refused_for_good_without_connecting(url):
    outcome = _outcome(ServiceSettings(), url)
    assert isinstance(outcome, Refused)


def test_loopback_is_refused_in_production_and_allowed_on_the_embedded_default(local_platform):
    assert isinstance(_outcome(ServiceSettings(), local_platform + "/x"), Refused)
    answer = http_session(ServiceSettings(loopback=True)).get(local_platform + "/x", timeout=2)
    # Connected to the checked address, with the URL's own host in the Host header.
    assert answer.status_code == 200 and answer.text == f"host={local_platform[7:]}"


def test_a_name_that_does_not_resolve_is_retried_later():
    outcome = _outcome(ServiceSettings(), "https://no-such-host.invalid/lineitems")
    assert isinstance(outcome, RetryLater)


def test_settings_allow_loopback_only_on_the_embedded_default_or_when_asked():
    assert not ServiceSettings.from_config({}).loopback
    assert ServiceSettings.from_config({"DEV_PLATFORM": True}).loopback
    assert ServiceSettings.from_config({"LTI_SERVICES_ON_LOOPBACK": True}).loopback
