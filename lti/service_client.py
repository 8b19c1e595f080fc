"""Calls to one platform's services with a bearer token: what the AGS and NRPS clients share.

Requests go through the service session (URL policy, timeouts: lti.service_calls), the token
comes from the shared cache (lti.service_tokens), a token the platform refuses is replaced once,
and container pages are followed on the same origin only (our token must not go elsewhere).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import requests

from lti.service_calls import (
    Delivered,
    Refused,
    ServiceFailure,
    TokenRejected,
    classify,
    classify_error,
)
from lti.service_tokens import ServiceTokens

log = logging.getLogger(__name__)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def raise_unless_delivered(response: requests.Response) -> None:
    outcome = classify(response)
    if not isinstance(outcome, Delivered):
        raise ServiceFailure(outcome)


class ServiceClient:
    """One platform, one set of scopes. `max_pages` bounds a container read: a platform whose
    pages never end must not keep the caller forever."""

    max_pages = 100

    def __init__(self, tokens: ServiceTokens, platform_id: int, scopes: Iterable[str]) -> None:
        self.tokens = tokens
        self.platform_id = platform_id
        self.scopes = tuple(scopes)

    def send(
        self,
        method: str,
        url: str,
        *,
        accept: str,
        content_type: str | None = None,
        body: dict | None = None,
    ) -> requests.Response:
        """One request with a bearer token. A 401 means the token was revoked or expired
        early: it is dropped and the request made once more with a fresh one. A second 401 is
        returned to the caller, classified as TokenRejected. Raises ServiceFailure when there
        is no answer (or no token)."""
        for attempt in (1, 2):
            token = self.tokens.get(self.platform_id, self.scopes)
            headers = {"Authorization": f"Bearer {token}", "Accept": accept}
            if content_type:
                headers["Content-Type"] = content_type
            try:
                response = self.tokens.http.request(
                    method,
                    url,
                    headers=headers,
                    data=json.dumps(body) if body is not None else None,
                    timeout=self.tokens.settings.timeout,
                )
            except requests.RequestException as error:
                raise ServiceFailure(classify_error(error)) from error
            if not isinstance(classify(response), TokenRejected) or attempt == 2:
                return response
            log.info("platform %s refused its service token; fetching another", self.platform_id)
            self.tokens.discard(self.platform_id, self.scopes, token)
        raise AssertionError("unreachable")

    def pages(self, url: str, accept: str) -> Iterator:
        """Each page's JSON body, following Link: rel="next" on the same origin."""
        seen = set()
        while url and url not in seen and len(seen) < self.max_pages:
            seen.add(url)
            response = self.send("GET", url, accept=accept)
            raise_unless_delivered(response)
            try:
                yield response.json()
            except ValueError as error:
                raise ServiceFailure(Refused("the platform's answer is not JSON")) from error
            following = response.links.get("next", {}).get("url")
            if following and _origin(following) != _origin(url):
                raise ServiceFailure(Refused("the next page is on another site"))
            url = following
