"""The tool's own requests to platform URLs (OpenID configuration, registration endpoint,
JWKS), under lti/url_policy.py's rules.

For every hop: the URL is checked, its host resolved once, every address it resolves to is
checked, and the connection goes to a checked address (the name still drives the Host header,
TLS SNI and certificate check), so a DNS answer that changes between the check and the connect
(DNS rebinding) cannot reach an internal address. Redirects are followed by hand for GET only,
re-checking each hop, and the Authorization header is dropped when a redirect leaves the
origin. No proxy from the environment is used (it would resolve names itself). Bodies are
capped in size and in time.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from lti import url_policy

TIMEOUT = (5, 15)  # connect, read (seconds), per hop
DEADLINE_SECONDS = 30  # the whole exchange, body included
MAX_BODY_BYTES = 512 * 1024
MAX_REDIRECTS = 3
REDIRECTS = (301, 302, 303, 307, 308)


class FetchError(Exception):
    """The request was refused by the policy or failed. `reason` is for logs."""

    def __init__(self, reason: str, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused  # by the URL policy, before any connection


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: bytes
    url: str  # after redirects


class _PinnedAdapter(HTTPAdapter):
    """Connects to one checked address whatever the URL's host resolves to now."""

    def __init__(self, address: url_policy.IPAddress) -> None:
        super().__init__(max_retries=0)
        self.address = address

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        name = host_params["host"]
        literal = str(self.address)
        host_params["host"] = f"[{literal}]" if self.address.version == 6 else literal
        if host_params["scheme"] == "https":
            # SNI and the certificate check stay on the name the platform gave.
            pool_kwargs["server_hostname"] = name
            pool_kwargs["assert_hostname"] = name
        return host_params, pool_kwargs


def resolve(host: str, port: int) -> list[url_policy.IPAddress]:
    """Every address `host` names (IPv4 first): a literal in any spelling, or DNS."""
    literal = url_policy.ip_literal(host)
    if literal is not None:
        return [literal]
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host!r}: {type(exc).__name__}") from exc
    addresses = []
    for _family, _type, _proto, _name, sockaddr in answers:
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchError(f"{host!r} has no address")
    return sorted(addresses, key=lambda a: a.version)


def checked_addresses(url: str, embedded: bool) -> list[url_policy.IPAddress]:
    """The addresses to connect to for `url`, every one allowed; else FetchError."""
    problem = url_policy.url_problem(url, embedded)
    if problem:
        raise FetchError(f"{url!r}: {problem}", refused=True)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loopback_name = url_policy.is_loopback_host(parts.hostname)
    addresses = resolve(parts.hostname, port)
    for address in addresses:
        # Loopback only for a loopback URL on the embedded default: a public name that
        # resolves to 127.0.0.1 is refused there too.
        problem = url_policy.address_problem(address, allow_loopback=embedded and loopback_name)
        if problem:
            raise FetchError(f"{parts.hostname!r} resolves to {problem} ({address})", refused=True)
    return addresses


def _is_connect_failure(exc: requests.ConnectionError) -> bool:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def _send(method: str, url: str, addresses, headers: dict, json_body):
    """One hop, to the first address that accepts the connection."""
    netloc = urlsplit(url).netloc
    for index, address in enumerate(addresses):
        session = requests.Session()
        session.trust_env = False  # no proxies or .netrc from the environment
        adapter = _PinnedAdapter(address)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        try:
            response = session.request(
                method,
                url,
                headers={**headers, "Host": netloc},
                json=json_body,
                timeout=TIMEOUT,
                allow_redirects=False,
                stream=True,
            )
            return session, response
        except requests.ConnectionError as exc:
            session.close()
            if _is_connect_failure(exc) and index + 1 < len(addresses):
                continue
            raise
        except BaseException:
            session.close()
            raise
    raise FetchError("no address accepted the connection")  # pragma: no cover


def _read(response: requests.Response, max_bytes: int, deadline: float) -> bytes:
    body = b""
    for chunk in response.iter_content(65536):
        body += chunk
        if len(body) > max_bytes:
            raise FetchError(f"answer larger than {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise FetchError("answer took too long")
    return body


def fetch(
    method: str,
    url: str,
    *,
    embedded: bool,
    headers: dict | None = None,
    json_body=None,
    max_bytes: int = MAX_BODY_BYTES,
) -> Answer:
    """Send `method` to `url` under the URL policy. GET follows up to MAX_REDIRECTS redirects
    (each hop checked); other methods return a redirect as it is. Raises FetchError."""
    headers = dict(headers or {})
    deadline = time.monotonic() + DEADLINE_SECONDS
    for _hop in range(MAX_REDIRECTS + 1):
        addresses = checked_addresses(url, embedded)
        try:
            session, response = _send(method, url, addresses, headers, json_body)
            with session, response:
                location = response.headers.get("Location")
                if method == "GET" and response.status_code in REDIRECTS and location:
                    target = urljoin(url, location)
                    if url_policy.origin(target) != url_policy.origin(url):
                        # A bearer token is for the platform that asked for it.
                        headers.pop("Authorization", None)
                    url = target
                    continue
                return Answer(response.status_code, _read(response, max_bytes, deadline), url)
        except requests.RequestException as exc:
            raise FetchError(f"{method} failed: {type(exc).__name__}") from exc
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


class CheckedAdapter(HTTPAdapter):
    """A requests transport for calls to a platform's services (token endpoint, AGS, NRPS),
    whose URLs come from registrations and launch claims: every request (each redirect hop
    too) is checked like fetch() checks them, and connects to a checked address. A URL the
    policy refuses raises requests.exceptions.InvalidURL, which callers treat as permanent; a
    name that does not resolve raises ConnectionError, which they retry."""

    def __init__(self, embedded: bool) -> None:
        super().__init__(max_retries=0)
        self.embedded = embedded
        self._pinned: dict[url_policy.IPAddress, _PinnedAdapter] = {}

    def send(self, request, **kwargs):
        try:
            addresses = checked_addresses(request.url, self.embedded)
        except FetchError as exc:
            if exc.refused:
                raise requests.exceptions.InvalidURL(exc.reason) from exc
            raise requests.ConnectionError(exc.reason) from exc  # DNS: may work later
        # One pinned pool per address, so connections are reused between requests.
        adapter = self._pinned.setdefault(addresses[0], _PinnedAdapter(addresses[0]))
        request.headers["Host"] = urlsplit(request.url).netloc
        return adapter.send(request, **kwargs)

    def close(self) -> None:
        for adapter in self._pinned.values():
            adapter.close()
        super().close()


def checked_session(embedded: bool) -> requests.Session:
    """A requests session whose every request goes through CheckedAdapter, and that takes no
    proxy or credentials from the environment."""
    session = requests.Session()
    session.trust_env = False
    adapter = CheckedAdapter(embedded)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
