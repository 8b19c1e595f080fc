"""Which platform URLs the tool accepts and which addresses it may connect to.

Platform URLs come from outside: whoever opens /lti/register names the OpenID configuration,
and the configuration names the other endpoints; administrators type them in. The tool later
fetches some of them itself (the configuration, the registration endpoint, the JWKS), so a URL
naming an internal address would let an outsider make the tool call its own network (SSRF).

Rules:
- every platform URL is https, except on the embedded default (DEV_PLATFORM, which only runs
  on SQLite), where http://127.0.0.1 and http://localhost are accepted too;
- in production no platform URL names a loopback, private, link-local, CGNAT, multicast,
  reserved, unspecified or cloud metadata address, in whatever spelling (`127.1`,
  `2130706433`, `0x7f000001`, `0177.0.0.1`, `[::1]`, `::ffff:127.0.0.1`...);
- before connecting, names are resolved and every address is checked the same way
  (lti/platform_http.py then connects to the address it checked).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
# Cloud metadata services. Both are non-global anyway; named so that the rule survives a
# future "allow private addresses" change.
METADATA = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
}
# 100.64.0.0/10 (CGNAT) is not "private" to Python but is not global either.
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_default(config) -> bool:
    """The embedded default (development) set-up. service.create_app turns DEV_PLATFORM off
    with a non-SQLite database, so this is never true in production."""
    return bool(config.get("DEV_PLATFORM"))


def _ipv4_part(text: str) -> int | None:
    """One part of an IPv4 address as inet_aton reads it: decimal, 0x hex or 0 octal."""
    try:
        if text[:2].lower() == "0x":
            return int(text[2:] or "0", 16)
        if len(text) > 1 and text.startswith("0"):
            return int(text[1:], 8)
        return int(text, 10) if text.isdigit() else None
    except ValueError:
        return None


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """`127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`: the forms inet_aton (and so curl,
    browsers and many resolvers) turn into an IPv4 address."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or any(not p for p in parts):
        return None
    numbers = [_ipv4_part(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (4 - len(leading)):
        return None
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def ip_literal(host: str) -> IPAddress | None:
    """The address a host names without DNS, or None for a name."""
    host = host.strip().rstrip(".").lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if ":" in host:
        return None
    return _legacy_ipv4(host)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    return None


def is_loopback_address(address: IPAddress) -> bool:
    inner = _embedded_ipv4(address)
    return address.is_loopback or bool(inner and inner.is_loopback)


def address_problem(address: IPAddress, allow_loopback: bool) -> str | None:
    """Why the tool must not connect to `address`, or None."""
    inner = _embedded_ipv4(address)
    if inner is not None:
        problem = address_problem(inner, allow_loopback)
        if problem:
            return problem
    if allow_loopback and address.is_loopback:
        return None
    if address in METADATA:
        return "a cloud metadata address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in CGNAT:
        return "a shared (CGNAT) address"
    if not address.is_global or address.is_unspecified or address.is_reserved:
        return "a loopback, private, link-local or reserved address"
    return None


def is_loopback_host(host: str) -> bool:
    """127.0.0.1 in any spelling, ::1, localhost and names under .localhost (RFC 6761)."""
    name = host.strip().rstrip(".").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    address = ip_literal(name)
    return address is not None and is_loopback_address(address)


def is_loopback(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname or "")


def browser_treats_as_secure(url: str) -> bool:
    """Whether browsers give a page at `url` a secure context, and so keep its Secure cookies:
    https, and over http only what the Secure Contexts spec calls potentially trustworthy
    loopback, 127.0.0.0/8, ::1, localhost and names under .localhost (not every spelling
    is_loopback_host accepts: localhost.localdomain and ::ffff:127.0.0.1 are not)."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "https":
        return True
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme.lower() != "http" or not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_problem(host: str, embedded: bool) -> str | None:
    """What the host alone (no DNS) says: an internal literal or a loopback name."""
    if is_loopback_host(host):
        return None if embedded else "Must not point at a loopback address."
    address = ip_literal(host)
    if address is not None:
        problem = address_problem(address, allow_loopback=embedded)
        if problem:
            return f"Must not point at {problem}."
    return None


def url_problem(url: object, embedded: bool) -> str | None:
    """Why this platform URL is not acceptable, or None. Names are not resolved here (that
    happens before every connection, in lti/platform_http.py)."""
    if not isinstance(url, str) or not url:
        return "Missing URL."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "Not a valid URL."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Must be an absolute https URL."
    if parts.username or parts.password or "@" in parts.netloc:
        return "Must not contain a user name or password."
    if parts.scheme == "http":
        if embedded and is_loopback_host(parts.hostname):
            return None
        if embedded:
            return "Must use https (http only for 127.0.0.1 or localhost on the embedded default)."
        return "Must use https."
    return host_problem(parts.hostname, embedded)


def issuer_problem(issuer: object, embedded: bool) -> str | None:
    problem = url_problem(issuer, embedded)
    if problem:
        return problem
    parts = urlsplit(issuer)
    if parts.query or parts.fragment:
        return "An issuer has no query or fragment."
    return None


def under(url: str, issuer: str) -> bool:
    """`url` lies under `issuer`: same scheme and host, and the issuer's path is a prefix of
    the URL's path at a segment boundary (so https://lms.example.evil is not under
    https://lms.example)."""
    target, base = urlsplit(url), urlsplit(issuer)
    if (target.scheme.lower(), target.netloc.lower()) != (base.scheme.lower(), base.netloc.lower()):
        return False
    prefix = base.path.rstrip("/")
    return not prefix or target.path == prefix or target.path.startswith(prefix + "/")


def origin(url: str) -> str | None:
    """scheme://host[:port] of an http(s) URL, for CSP frame-ancestors; None otherwise."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2].lower()}"


DEFAULT_PORTS = {"http": 80, "https": 443}


def _scheme_host_port(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port with the scheme's default filled in) of an http(s) URL without
    user information, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except (ValueError, TypeError, AttributeError):
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else DEFAULT_PORTS[scheme]


def on_tool_host(url: str, tool_base: str) -> bool:
    """`url` (a target_link_uri from a platform) names this tool, served at `tool_base`.

    The same scheme, host and port; or http on the same host while the tool now serves https:
    activities created while the tool ran on http keep their http target_link_uri in the
    LMS, and the tool moving to https must not break them. Only that upgrade: the port must
    be the same explicit port, or each scheme's default (http://h and https://h, but not
    http://h:5000 and https://h). Never https to http (a downgrade) and never another host."""
    target, tool = _scheme_host_port(url), _scheme_host_port(tool_base)
    if target is None or tool is None:
        return False
    if target == tool:
        return True
    (target_scheme, target_host, target_port), (tool_scheme, tool_host, tool_port) = target, tool
    if (target_scheme, tool_scheme) != ("http", "https") or target_host != tool_host:
        return False
    defaults = (target_port, tool_port) == (DEFAULT_PORTS["http"], DEFAULT_PORTS["https"])
    return defaults or target_port == tool_port
