"""LTI Names and Role Provisioning Services 2.0 client: the learners of a course (context), for
the assessor's list of who has not started yet.

Like lti/ags.py: requests through the service session (URL policy, timeouts), a bearer token
from lti.service_tokens, every failure classified (lti.service_calls) and raised as
ServiceFailure. Members are kept as user id and display name only: no email, no picture, and
names are never logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app

from lti.service_calls import (
    Refused,
    ServiceFailure,
    in_words,
)
from lti.service_client import ServiceClient
from lti.service_tokens import ServiceTokens
from service.cache import cache

log = logging.getLogger(__name__)

SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MEMBERSHIP_CONTAINER = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
# Moodle sends the short role name, other platforms the full vocabulary URI.
LEARNER_ROLES = (
    "Learner",
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
)
# A course of a few thousand learners fits; a platform whose pages never end cannot keep an
# assessor's page waiting forever.
MAX_PAGES = 20
# The roster changes rarely during a marking session; a page reload must not call the
# platform every time, and a failure is not retried on every reload either.
CACHE_SECONDS = 60


@dataclass(frozen=True)
class Member:
    user_id: str  # the platform's `sub` for this user
    name: str | None


def learners_of(page: dict) -> list[Member]:
    """The active learners of one membership container page. Pure."""
    members = page.get("members") if isinstance(page, dict) else None
    if not isinstance(members, list):
        raise ServiceFailure(Refused("the memberships answer has no members list"))
    found = []
    for entry in members:
        if not isinstance(entry, dict) or not isinstance(entry.get("user_id"), str):
            continue
        # status is optional; absent means active (NRPS 2.0 §2.3).
        if entry.get("status", "Active") != "Active":
            continue
        roles = entry.get("roles") or []
        if not isinstance(roles, list) or not any(r in LEARNER_ROLES for r in roles):
            continue
        name = entry.get("name")
        found.append(Member(entry["user_id"], name if isinstance(name, str) and name else None))
    return found


class NrpsClient(ServiceClient):
    max_pages = MAX_PAGES

    def __init__(self, tokens: ServiceTokens, platform_id: int) -> None:
        super().__init__(tokens, platform_id, (SCOPE,))

    def learners(self, memberships_url: str) -> list[Member]:
        """Every page's learners, following Link rel="next" on the same origin only (our
        token must not be sent elsewhere)."""
        learners: dict[str, Member] = {}
        for page in self.pages(memberships_url, MEMBERSHIP_CONTAINER):
            for member in learners_of(page):
                learners[member.user_id] = member
        return list(learners.values())


@dataclass(frozen=True)
class Roster:
    """The course's learners, or why they could not be had (`problem`, for the log only)."""

    learners: tuple[Member, ...] = ()
    available: bool = False
    problem: str | None = None


def roster(platform_id: int, link_pk: int, memberships_url: str | None) -> Roster:
    """The learners of a resource link's course, cached CACHE_SECONDS per resource link
    (failures too). No URL (the platform did not offer NRPS): not available."""
    if not memberships_url:
        return Roster(problem="the launch carried no names and roles service")
    key = f"nrps:{link_pk}"
    cached = cache.get(key)
    if isinstance(cached, dict) and cached.get("url") == memberships_url:
        return _from_entry(cached)
    client = NrpsClient(ServiceTokens.for_app(current_app), platform_id)
    try:
        found = Roster(tuple(client.learners(memberships_url)), available=True)
    except ServiceFailure as failure:
        found = Roster(problem=in_words(failure.outcome))
        # The kind of failure only: a platform's answer could carry members' names.
        log.warning(
            "names and roles for resource link %s failed: %s",
            link_pk,
            type(failure.outcome).__name__,
        )
    except Exception as error:  # noqa: BLE001
        # The roster only adds learners who have not started: whatever goes wrong getting it,
        # the assessor still gets the attempts (and is told the roster is missing).
        found = Roster(problem=type(error).__name__)
        log.warning("names and roles for resource link %s failed: %s", link_pk, found.problem)
    # Plain JSON: the cache may be Redis, shared by every process (service/cache.py).
    cache.set(key, _to_entry(memberships_url, found), timeout=CACHE_SECONDS)
    return found


def _to_entry(url: str, found: Roster) -> dict:
    return {
        "url": url,
        "available": found.available,
        "problem": found.problem,
        "learners": [[m.user_id, m.name] for m in found.learners],
    }


def _from_entry(entry: dict) -> Roster:
    return Roster(
        tuple(Member(user_id, name) for user_id, name in entry.get("learners") or []),
        available=bool(entry.get("available")),
        problem=entry.get("problem"),
    )
