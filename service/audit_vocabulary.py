"""What the audit log records about learners' personal data, defined once."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    READ = "read"  # a learner's personal data or results were returned
    CREATE = "create"
    UPDATE = "update"
    EXPORT = "export"  # a subject access request
    ERASE = "erase"  # erased or pseudonymised
    VERDICT = "verdict"  # an EQA's verdict on a sampled decision
    # Administration of API clients (service/client_admin.py): no learner, the client's centre.
    ROTATE = "rotate"  # a client's secret replaced
    REVOKE = "revoke"
    ASSIGN = "assign"  # an EQA's client assigned to a centre
    UNASSIGN = "unassign"
