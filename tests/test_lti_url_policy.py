"""SSRF: the URLs platforms (or whoever opens /lti/register) give the tool, and the addresses
the tool connects to (lti/url_policy.py, lti/platform_http.py)."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from lti import platform_http, url_policy

# 127.0.0.1 and friends in the spellings inet_aton, curl and browsers accept.
INTERNAL_HOSTS = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "0x7f.0.0.1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "localhost",
    "LOCALHOST.",
    "app.localhost",
    "10.0.0.5",
    "172.16.3.4",
    "192.168.1.1",
    "169.254.169.254",
    "[fd00:ec2::254]",
    "100.64.0.1",
    "0.0.0.0",
    "0",
    "224.0.0.1",
    "[fe80::1]",
    "[::]",
    "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
    "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
]


@pytest.mark.parametrize("host", INTERNAL_HOSTS)
def test_internal_hosts_in_any_spelling_are_refused_in_production(host):
    problem = url_policy.url_problem(f"https://{host}/jwks", embedded=False)
    assert problem and "Must not point at" in problem


@pytest.mark.parametrize(
    "host, expected",
    [
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("moodle.example.ac.uk", None),
        ("1.2.3.4.5", None),
        ("256.1.1.1", None),
    ],
)
def test_ip_literals_are_normalised(host, expected):
    address = url_policy.ip_literal(host)
    assert (str(address) if address else None) == expected


def test_public_https_urls_pass():
    assert url_policy.url_problem("https://moodle.example.ac.uk/certs", embedded=False) is None
    assert url_policy.url_problem("https://93.184.215.14/certs", embedded=False) is None


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost", "127.1", "[::1]"])
def test_embedded_default_accepts_loopback_only(host):
    assert url_policy.url_problem(f"http://{host}/x", embedded=True) is None
    assert url_policy.url_problem("https://10.0.0.5/x", embedded=True)
    assert url_policy.url_problem("https://169.254.169.254/x", embedded=True)


@pytest.mark.parametrize("url", ["https://user:pw@moodle.example/x", "https://a@b.example/"])
def test_credentials_in_urls_are_refused(url):
    assert "user name" in url_policy.url_problem(url, embedded=False)


# --- DNS: names are resolved and every address is checked ---------------------------------


def fake_dns(monkeypatch, answers: dict[str, list[str]]):
    calls = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if url_policy.ip_literal(host) is not None:
            return real(host, port, *args, **kwargs)  # urllib3 "resolves" the pinned literal
        calls.append(host)
        if host not in answers:
            raise socket.gaierror("no such name")
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.1.2.3"],
        ["127.0.0.1"],
        ["169.254.169.254"],
        ["fd00:ec2::254"],
        ["::ffff:127.0.0.1"],
        ["::1"],
        ["100.64.1.1"],
        ["93.184.215.14", "192.168.0.10"],  # every address counts, not only the first
    ],
)
def test_a_name_resolving_to_an_internal_address_is_refused(monkeypatch, requests_mock, addresses):
    fake_dns(monkeypatch, {"moodle.example.ac.uk": addresses})
    with pytest.raises(platform_http.FetchError) as refused:
        platform_http.fetch("GET", "https://moodle.example.ac.uk/jwks", embedded=False)
    assert refused.value.refused
    assert requests_mock.call_count == 0


def test_a_public_name_resolving_to_loopback_is_refused_even_on_the_embedded_default(
    monkeypatch, requests_mock
):
    fake_dns(monkeypatch, {"rebind.example": ["127.0.0.1"]})
    with pytest.raises(platform_http.FetchError):
        platform_http.fetch("GET", "https://rebind.example/jwks", embedded=True)
    assert requests_mock.call_count == 0


def test_a_redirect_to_an_internal_address_is_not_followed(monkeypatch, requests_mock):
    fake_dns(monkeypatch, {"moodle.example.ac.uk": ["93.184.215.14"]})
    requests_mock.get(
        "https://moodle.example.ac.uk/jwks",
        status_code=302,
        headers={"Location": "http://169.254.169.254/latest/meta-data/"},
    )
    metadata = requests_mock.get("http://169.254.169.254/latest/meta-data/", text="secret")
    with pytest.raises(platform_http.FetchError) as refused:
        platform_http.fetch("GET", "https://moodle.example.ac.uk/jwks", embedded=False)
    assert refused.value.refused
    assert not metadata.called


def test_a_redirect_to_a_name_resolving_internally_is_not_followed(monkeypatch, requests_mock):
    fake_dns(
        monkeypatch, {"moodle.example.ac.uk": ["93.184.215.14"], "inside.example": ["10.0.0.7"]}
    )
    requests_mock.get(
        "https://moodle.example.ac.uk/jwks",
        status_code=307,
        headers={"Location": "https://inside.example/admin"},
    )
    inside = requests_mock.get("https://inside.example/admin", text="secret")
    with pytest.raises(platform_http.FetchError):
        platform_http.fetch("GET", "https://moodle.example.ac.uk/jwks", embedded=False)
    assert not inside.called


def test_a_public_redirect_is_followed_without_the_bearer_token(monkeypatch, requests_mock):
    fake_dns(
        monkeypatch, {"moodle.example.ac.uk": ["93.184.215.14"], "cdn.example": ["93.184.215.15"]}
    )
    requests_mock.get(
        "https://moodle.example.ac.uk/config",
        status_code=302,
        headers={"Location": "https://cdn.example/config.json"},
    )
    target = requests_mock.get("https://cdn.example/config.json", json={"ok": True})
    answer = platform_http.fetch(
        "GET",
        "https://moodle.example.ac.uk/config",
        embedded=False,
        headers={"Authorization": "Bearer registration-token"},
    )
    assert answer.status_code == 200 and answer.url == "https://cdn.example/config.json"
    assert "Authorization" not in target.last_request.headers


def test_oversized_answers_are_refused(monkeypatch, requests_mock):
    fake_dns(monkeypatch, {"moodle.example.ac.uk": ["93.184.215.14"]})
    requests_mock.get("https://moodle.example.ac.uk/jwks", content=b"x" * 2048)
    with pytest.raises(platform_http.FetchError):
        platform_http.fetch(
            "GET", "https://moodle.example.ac.uk/jwks", embedded=False, max_bytes=1024
        )


def test_the_connection_goes_to_the_checked_address(monkeypatch):
    """DNS answers once; the connection uses that answer (not a second lookup that a
    rebinding attacker could change) and keeps the name in the Host header."""
    seen = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen["host"] = self.headers["Host"]
            body = b'{"keys": []}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_port
        calls = fake_dns(monkeypatch, {"platform.localhost": ["127.0.0.1"]})
        answer = platform_http.fetch("GET", f"http://platform.localhost:{port}/jwks", embedded=True)
        assert answer.status_code == 200 and answer.body == b'{"keys": []}'
        assert seen["host"] == f"platform.localhost:{port}"
        assert calls == ["platform.localhost"]
    finally:
        server.shutdown()
        thread.join(timeout=5)


# --- target_link_uri: this tool's host, across the http -> https upgrade (issue 8) ----------


@pytest.mark.parametrize(
    ("target", "tool"),
    [
        ("https://assess.example/lti/launch", "https://assess.example"),
        ("http://127.0.0.1:5000/lti/launch", "http://127.0.0.1:5000"),
        # Activities created while the tool ran on http, after it moved to https:
        ("http://assess.example/lti/launch", "https://assess.example"),
        ("http://assess.example:80/lti/launch", "https://assess.example"),
        ("http://assess.example/lti/launch", "https://assess.example:443"),
        ("http://ASSESS.example/lti/launch", "https://assess.example"),
        ("http://assess.example:8443/lti/launch", "https://assess.example:8443"),
    ],
)
def test_target_link_uri_on_the_tools_host_is_accepted(target, tool):
    assert url_policy.on_tool_host(target, tool)


@pytest.mark.parametrize(
    ("target", "tool"),
    [
        # A downgrade: an https activity launched while the tool is on http.
        ("https://assess.example/lti/launch", "http://assess.example"),
        ("https://127.0.0.1:5000/lti/launch", "http://127.0.0.1:5000"),
        # Another host, or one that only starts like ours.
        ("http://other.example/lti/launch", "https://assess.example"),
        ("http://assess.example.evil/lti/launch", "https://assess.example"),
        ("http://assess.example@evil.example/lti/launch", "https://assess.example"),
        ("https://assess.example@evil.example/lti/launch", "https://assess.example"),
        # Another port: an explicit port must be the same one, or both the defaults.
        ("http://assess.example:5000/lti/launch", "https://assess.example"),
        ("http://assess.example/lti/launch", "https://assess.example:8443"),
        ("http://assess.example:8080/lti/launch", "https://assess.example:8443"),
        ("https://assess.example:8443/lti/launch", "https://assess.example"),
        # Not an http(s) URL at all.
        ("javascript:alert(1)", "https://assess.example"),
        ("//assess.example/lti/launch", "https://assess.example"),
        ("ftp://assess.example/lti/launch", "https://assess.example"),
        ("http://assess.example:99999/lti/launch", "https://assess.example"),
        ("", "https://assess.example"),
    ],
)
def test_target_link_uri_elsewhere_or_downgraded_is_refused(target, tool):
    assert not url_policy.on_tool_host(target, tool)


@pytest.mark.parametrize(
    ("url", "secure"),
    [
        ("https://assess.example", True),
        ("http://127.0.0.1:5000", True),
        ("http://127.8.9.10", True),
        ("http://localhost:5000", True),
        ("http://app.localhost", True),
        ("http://[::1]:5000", True),
        ("http://assess.example", False),
        ("http://10.0.0.5", False),
        ("http://localhost.localdomain", False),
        ("http://[::ffff:127.0.0.1]", False),
        ("ftp://localhost", False),
    ],
)
def test_which_pages_browsers_treat_as_a_secure_context(url, secure):
    """Where a Secure; SameSite=None; Partitioned cookie can be set (issue 8)."""
    assert url_policy.browser_treats_as_secure(url) is secure
