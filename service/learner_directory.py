"""Centres' learners through the API: list, read, create, update, and link LMS identities.

A centre creates a learner with its own reference (its MIS id) and, optionally, a name and the
learner's LMS identities. Records the API receives are kept under the reference (learner_ref =
reference); an LMS launch keeps them under "lti:{platform}:{sub}". Linking an LMS identity moves
its LearnerIdentity row to this learner, so the launches' records join to it; a learner known
only from the LMS (no reference) that is left with no identity is removed. An identity already
linked to another learner with a reference is a conflict: the centre must say which is right.

Domain code: it raises typed errors and the view commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session, selectinload

from service.attempt_access import Learner as LearnerRef
from service.catalogue import Page, _contains, count_and_page
from service.identifiers import new_uuid
from service.models import Learner, LearnerIdentity, utcnow
from service.tenancy import Tenancy


class LearnerError(Exception):
    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details


class ReferenceTaken(LearnerError):
    """Another learner of the centre has this reference (409)."""


class IdentityTaken(LearnerError):
    """The LMS identity belongs to another learner with a reference (409)."""


class ReferenceFixed(LearnerError):
    """A learner's reference, once set, does not change: records are kept under it (422)."""


@dataclass(frozen=True)
class LmsIdentity:
    """An LMS user as the centre names them, resolved to our platform registration."""

    platform_id: int
    user_id: str
    learner_ref: str


def list_learners(
    session: Session,
    tenancy: Tenancy,
    page: Page,
    reference: str | None = None,
    q: str | None = None,
    lms_user_id: str | None = None,
) -> tuple[int, list[Learner]]:
    query = (
        select(Learner)
        .where(tenancy.condition(Learner.centre_id))
        .options(selectinload(Learner.identities), selectinload(Learner.centre))
        .order_by(Learner.id)
    )
    if reference is not None:
        query = query.where(Learner.reference == reference)
    if q:
        query = query.where(_contains(Learner.name, q))
    if lms_user_id is not None:
        query = query.where(
            exists().where(
                LearnerIdentity.learner_id == Learner.id, LearnerIdentity.lti_sub == lms_user_id
            )
        )
    return count_and_page(session, query, page)


def find(session: Session, tenancy: Tenancy, learner_uuid: str) -> Learner | None:
    """The learner if the tenancy sees it, else None (another centre's is answered as missing)."""
    return session.scalar(
        select(Learner)
        .where(Learner.uuid == learner_uuid, tenancy.condition(Learner.centre_id))
        .options(selectinload(Learner.identities))
    )


def create(
    session: Session,
    centre_id: int | None,
    reference: str,
    name: str | None,
    identities: list[LmsIdentity],
) -> Learner:
    """A new learner of the centre under `reference`, with the LMS identities linked.
    ReferenceTaken if the centre has a learner of that reference already."""
    existing = _by_reference(session, centre_id, reference)
    if existing is not None:
        # Records sent under this reference before (attempts, evidence) made the learner.
        raise ReferenceTaken(
            f"The centre already has a learner with reference {reference!r} "
            f"({existing.uuid}): update it with PATCH /learners/{existing.uuid}."
        )
    now = utcnow()
    learner = Learner(
        uuid=new_uuid(),
        centre_id=centre_id,
        reference=reference,
        name=name,
        created_at=now,
        updated_at=now,
    )
    session.add(learner)
    session.flush()
    _attach_reference(session, learner)
    for identity in identities:
        link(session, learner, identity)
    session.flush()
    session.refresh(learner, ["identities"])
    return learner


def update(
    session: Session,
    learner: Learner,
    reference: str | None = None,
    name: str | None = None,
    set_name: bool = False,
    identities: list[LmsIdentity] = (),
) -> Learner:
    """Change the name (None clears it), give an LMS-only learner its reference, link
    identities. A reference, once set, is fixed (ReferenceFixed)."""
    if reference is not None and reference != learner.reference:
        if learner.reference is not None:
            raise ReferenceFixed(
                "A learner's reference cannot change: their records are kept under it.",
                {"reference": ["Cannot change once set."]},
            )
        if _by_reference(session, learner.centre_id, reference) is not None:
            raise ReferenceTaken(f"The centre already has a learner with reference {reference!r}.")
        learner.reference = reference
        session.flush()
        _attach_reference(session, learner)
    if set_name:
        learner.name = name
    for identity in identities:
        link(session, learner, identity)
    learner.updated_at = utcnow()
    session.flush()
    session.refresh(learner, ["identities"])
    return learner


def link(session: Session, learner: Learner, identity: LmsIdentity) -> None:
    """Move the LMS identity's row to `learner` (creating it if the learner has not launched
    yet); an LMS-only learner left with no identity is removed."""
    row = session.scalar(
        select(LearnerIdentity)
        .where(
            LearnerIdentity.centre_id.is_not_distinct_from(learner.centre_id),
            LearnerIdentity.learner_ref == identity.learner_ref,
        )
        .with_for_update()
    )
    if row is None:
        session.add(
            LearnerIdentity(
                learner_id=learner.id,
                centre_id=learner.centre_id,
                learner_ref=identity.learner_ref,
                lti_platform_id=identity.platform_id,
                lti_sub=identity.user_id,
                created_at=utcnow(),
            )
        )
        session.flush()
        return
    if row.learner_id == learner.id:
        return
    previous = session.get(Learner, row.learner_id)
    if previous.reference is not None:
        raise IdentityTaken(
            "That LMS identity is linked to another learner of the centre "
            f"(reference {previous.reference!r}).",
            {"identities": [f"user {identity.user_id!r} belongs to another learner"]},
        )
    row.learner_id = learner.id
    session.flush()
    left = session.scalar(select(func.count()).where(LearnerIdentity.learner_id == previous.id))
    if not left:
        session.execute(delete(Learner).where(Learner.id == previous.id))


def refs_of(learner: Learner) -> list[LearnerRef]:
    """The learner_refs the learner's records are kept under."""
    return [
        LearnerRef(i.learner_ref, i.centre_id, i.lti_platform_id, i.lti_sub)
        for i in learner.identities
    ]


def _by_reference(session: Session, centre_id: int | None, reference: str) -> Learner | None:
    return session.scalar(
        select(Learner).where(
            Learner.centre_id.is_not_distinct_from(centre_id), Learner.reference == reference
        )
    )


def _attach_reference(session: Session, learner: Learner) -> None:
    """The identity of the learner's own reference: API records under it join to them. A row
    made by an earlier API record (its learner has no name and nothing else) moves here."""
    row = session.scalar(
        select(LearnerIdentity).where(
            LearnerIdentity.centre_id.is_not_distinct_from(learner.centre_id),
            LearnerIdentity.learner_ref == learner.reference,
        )
    )
    if row is None:
        session.add(
            LearnerIdentity(
                learner_id=learner.id,
                centre_id=learner.centre_id,
                learner_ref=learner.reference,
                created_at=utcnow(),
            )
        )
    else:
        row.learner_id = learner.id
    session.flush()
