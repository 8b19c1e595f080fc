"""Who an attempt belongs to and who may see it: one policy for the REST API and the LTI pages.

- A centre's API client sees its centre's attempts only; an EQA's client the centres assigned to
  it; the awarding body's clients see all (service/tenancy.py).
- LTI staff see the linked assessment's attempts in their platform's centre; for a platform
  with no centre, only that platform's own learners (by the attempt's lti_platform_id column);
  and only those started from the course activity they launched from (lti_resource_link_id):
  an instructor of one course must not see another course's learners at the same centre.
- A learner (API learner_ref, or LTI platform + sub) has at most one open attempt per assessment.
Anything outside the scope is answered exactly like a missing attempt.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from service.client_vocabulary import ClientKind
from service.models import Assessment, Attempt
from service.tenancy import Tenancy
from service.tenancy import of_client as tenancy_of_client

LEARNER_REF_LENGTH = Attempt.__table__.c.learner_ref.type.length


@dataclass(frozen=True)
class Scope:
    """The attempts a caller may see. `everything` is the awarding body's view."""

    centre_id: int | None = None
    lti_platform_id: int | None = None
    everything: bool = False
    # An EQA's client: the centres assigned to it (instead of centre_id).
    centre_ids: frozenset[int] | None = None
    # LTI staff: the course activity (lti_resource_links.id) they launched from. course_only
    # with no link (a launch without a resource link) sees nothing rather than everything.
    lti_resource_link_id: int | None = None
    course_only: bool = False

    def conditions(self) -> list:
        if self.everything:
            return []
        if self.centre_ids is not None:
            return [Tenancy(self.centre_ids).condition(Attempt.centre_id)]
        conditions = [Attempt.centre_id.is_not_distinct_from(self.centre_id)]
        if self.lti_platform_id is not None:
            conditions.append(Attempt.lti_platform_id == self.lti_platform_id)
        if self.course_only:
            # `== None` would be IS NULL (the API's attempts): a missing link matches nothing.
            if self.lti_resource_link_id is None:
                conditions.append(false())
            else:
                conditions.append(Attempt.lti_resource_link_id == self.lti_resource_link_id)
        return conditions


@dataclass(frozen=True)
class Learner:
    """Whose attempt: the opaque reference attempts are kept under, its centre, and for LTI
    learners the platform and the platform's user id (`sub`)."""

    ref: str
    centre_id: int | None
    lti_platform_id: int | None = None
    lti_sub: str | None = None


def api_scope(session: Session, client) -> Scope:
    """An OAuth client: its centre's attempts, its assigned centres' (an EQA), or all of them
    for the awarding body."""
    tenancy = tenancy_of_client(session, client)
    if tenancy.everything:
        return Scope(everything=True)
    if client.kind == ClientKind.CENTRE:
        return Scope(centre_id=client.centre_id)
    return Scope(centre_ids=tenancy.centre_ids)


def api_learner(client, learner_ref: str) -> Learner:
    return Learner(learner_ref, client.centre_id)


def platform_scope(platform) -> Scope:
    """LTI staff: the platform's centre; a platform with no centre sees its own learners."""
    if platform.centre_id is None:
        return Scope(centre_id=None, lti_platform_id=platform.id)
    return Scope(centre_id=platform.centre_id)


def course_scope(platform, resource_link_pk: int | None) -> Scope:
    """LTI staff of one course activity: platform_scope narrowed to the attempts started from
    that resource link (lti_resource_links.id); None (no link) sees no attempt."""
    base = platform_scope(platform)
    return Scope(
        centre_id=base.centre_id,
        lti_platform_id=base.lti_platform_id,
        lti_resource_link_id=resource_link_pk,
        course_only=True,
    )


def lti_learner(platform, sub: str) -> Learner:
    """LTI learners are kept under "lti:{platform}:{sub}"; a `sub` too long for that (LTI
    allows 255 characters) is replaced by its SHA-256 there. Their identity is the platform and
    sub columns; learner_ref stays the key of the one-open-attempt index."""
    ref = f"lti:{platform.id}:{sub}"
    if len(ref) > LEARNER_REF_LENGTH:
        ref = f"lti:{platform.id}:sha256:{hashlib.sha256(sub.encode()).hexdigest()}"
    return Learner(ref, platform.centre_id, platform.id, sub)


def find(session: Session, scope: Scope, attempt_uuid: str, assessment_id: int | None = None):
    """The attempt if `scope` may see it (and it is at `assessment_id` when given), else None."""
    query = select(Attempt).where(Attempt.uuid == attempt_uuid, *scope.conditions())
    if assessment_id is not None:
        query = query.where(Attempt.assessment_id == assessment_id)
    return session.scalar(query)


def attempts_at(session: Session, scope: Scope, assessment: Assessment) -> list[Attempt]:
    return list(
        session.scalars(
            select(Attempt).where(Attempt.assessment_id == assessment.id, *scope.conditions())
        )
    )


def latest_in_scope(
    session: Session, scope: Scope, assessment: Assessment, lti_platform_id: int, lti_sub: str
):
    """An LTI learner's newest attempt at the assessment among those `scope` may see."""
    return session.scalars(
        select(Attempt)
        .where(
            Attempt.assessment_id == assessment.id,
            Attempt.lti_platform_id == lti_platform_id,
            Attempt.lti_sub == lti_sub,
            *scope.conditions(),
        )
        .order_by(Attempt.id.desc())
        .limit(1)
    ).first()


def learner_attempts(session: Session, assessment: Assessment, learner: Learner):
    """The learner's attempts at the assessment, oldest first."""
    return session.scalars(
        learner_attempts_query(assessment.id, learner).execution_options(populate_existing=True)
    ).all()


def learner_attempts_query(assessment_id: int, learner: Learner):
    """Served by ix_attempts_assessment_learner (tests/test_launch_indexes.py)."""
    return (
        select(Attempt)
        .where(
            Attempt.assessment_id == assessment_id,
            Attempt.learner_ref == learner.ref,
            Attempt.centre_id.is_not_distinct_from(learner.centre_id),
        )
        .order_by(Attempt.id)
    )


def latest_attempt(session: Session, assessment: Assessment, learner: Learner, *options):
    """The learner's newest attempt, submitted or not (an unsubmitted attempt past its
    deadline is kept: the learner may still submit it), read with loader `options` (what the
    caller reads of it, loaded with it). Only the newest attempt is read."""
    query = latest_attempt_query(assessment.id, learner).options(*options)
    return session.scalars(query.execution_options(populate_existing=True)).unique().first()


def latest_attempt_query(assessment_id: int, learner: Learner):
    """The learner's newest attempt: served by the index learner_attempts_query uses
    (tests/test_launch_indexes.py)."""
    query = learner_attempts_query(assessment_id, learner)
    return query.order_by(None).order_by(Attempt.id.desc()).limit(1)
