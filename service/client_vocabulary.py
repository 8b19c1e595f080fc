"""The kinds of API client and the scopes each may hold, defined once (models, auth, CLI, API)."""

from __future__ import annotations

from enum import StrEnum


class ClientKind(StrEnum):
    """Who an OAuth client acts for; what it may see follows (service/tenancy.py)."""

    CENTRE = "centre"  # one centre's own systems (MIS, e-portfolio): that centre only
    EQA = "eqa"  # an external verifier: the centres the awarding body assigns them
    AWARDING_BODY = "awarding_body"  # the awarding body's content and admin clients: everything


KIND_WORDS = {
    ClientKind.CENTRE: "a centre's client",
    ClientKind.EQA: "an external verifier's client",
    ClientKind.AWARDING_BODY: "the awarding body's clients",
}

# What each scope allows (documented in the OpenAPI security scheme).
SCOPES = {
    "content:read": "read live (confidential) items, with their keys, accepted answers and "
    "feedback; QTI exports; item statistics",
    "content:approve": "approve items for live use, or withdraw an approval",
    "learners:read": "read the learners of the client's centre(s): reference, name, LMS identities",
    "learners:write": "create and update the client's centre's learners",
    "attempts:write": "start, answer, submit and mark attempts for the client's centre; record "
    "attempts taken elsewhere (paper, other platforms)",
    "attempts:read": "read the client's centre's attempts in progress",
    "results:read": "read attempts' results, criterion decisions and the evidence behind them, "
    "and learners' unit status",
    "evidence:write": "record and withdraw performance evidence and access arrangements",
    "webhooks:write": "register, change and remove the centre's webhooks and read their deliveries",
    "coverage:read": "read criterion coverage reports and assessor consistency",
    "sampling:write": "build sampling plans and record verification verdicts",
    "admin": "manage centres, clients, EQA assignments, LTI registrations; read the audit log; "
    "export or erase a learner's personal data",
}

# Scopes a client of each kind may be given.
KIND_SCOPES: dict[ClientKind, frozenset[str]] = {
    ClientKind.CENTRE: frozenset(
        {
            "learners:read",
            "learners:write",
            "attempts:read",
            "attempts:write",
            "results:read",
            "evidence:write",
            "webhooks:write",
            "coverage:read",
        }
    ),
    ClientKind.EQA: frozenset({"learners:read", "results:read", "coverage:read", "sampling:write"}),
    ClientKind.AWARDING_BODY: frozenset(SCOPES),
}
