"""Learners as centres know them, and the learner_refs their records are kept under.

Attempts, performance evidence and access arrangements name their learner by an opaque
learner_ref: the centre's own reference (records sent through the API) or "lti:{platform}:{sub}"
(an LMS launch). `identify` gives every learner_ref a LearnerIdentity row the first time it is
used, attached to the centre's learner of that reference or to a learner of its own (an LMS
learner the centre has not linked yet), so reports join records to learners in SQL.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, bindparam, delete, exists, null, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from service.attempt_access import Learner as LearnerRef
from service.identifiers import new_uuid
from service.models import Learner, LearnerIdentity, UTCDateTime, utcnow
from service.upserts import insert_for


def identify(session: Session, who: LearnerRef) -> int:
    """The learner id that `who`'s learner_ref belongs to, creating the learner and identity
    rows on first use. Safe against a concurrent first use (the unique indexes decide; the
    loser reads the winner's rows). Writes in the caller's transaction."""
    is_lti = who.lti_platform_id is not None
    if is_lti and session.get_bind().dialect.name == "postgresql":
        return _identify_lms_learner(session, who)
    found = _learner_of_ref(session, who.centre_id, who.ref)
    if found is not None:
        return found
    created = None
    if is_lti:
        created = _insert_learner(session, who.centre_id, reference=None)
        learner_id = created
    else:
        learner_id = _centre_learner(session, who.centre_id, who.ref)
        if learner_id is None:
            _insert_learner(session, who.centre_id, reference=who.ref, on_conflict_nothing=True)
            learner_id = _centre_learner(session, who.centre_id, who.ref)
    statement = (
        insert_for(session, LearnerIdentity)
        .values(
            learner_id=learner_id,
            centre_id=who.centre_id,
            learner_ref=who.ref,
            lti_platform_id=who.lti_platform_id,
            lti_sub=who.lti_sub,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(LearnerIdentity.id)
    )
    if session.execute(statement).scalar() is not None:
        return learner_id
    # Someone else identified this learner_ref first: theirs stands, ours goes.
    if created is not None:
        session.execute(delete(Learner).where(Learner.id == created))
    return _learner_of_ref(session, who.centre_id, who.ref)


def _identify_lms_statement():
    """`identify` for an LMS learner as one PostgreSQL statement: the identity's learner if
    there is one, else a new learner and its identity, written by data-modifying CTEs (which
    SQLite does not have). The learner row is inserted only when no identity was found; the
    identity's unique index decides a concurrent first use (its insert waits for the other
    transaction, then does nothing). Built once: only its parameters change."""
    centre_id = bindparam("centre_id", type_=Integer)
    ref = bindparam("learner_ref", type_=String)
    now = bindparam("now", type_=UTCDateTime)
    found = (
        select(LearnerIdentity.learner_id)
        .where(
            LearnerIdentity.centre_id.is_not_distinct_from(centre_id),
            LearnerIdentity.learner_ref == ref,
        )
        .cte("found")
    )
    made = (
        postgresql.insert(Learner)
        .from_select(
            ["uuid", "centre_id", "reference", "created_at", "updated_at"],
            select(bindparam("uuid", type_=String), centre_id, null(), now, now).where(
                ~exists(found.select())
            ),
        )
        .returning(Learner.id)
        .cte("made")
    )
    linked = (
        postgresql.insert(LearnerIdentity)
        .from_select(
            ["learner_id", "centre_id", "learner_ref", "lti_platform_id", "lti_sub", "created_at"],
            select(
                made.c.id,
                centre_id,
                ref,
                bindparam("lti_platform_id", type_=Integer),
                bindparam("lti_sub", type_=String),
                now,
            ),
        )
        .on_conflict_do_nothing()
        .returning(LearnerIdentity.learner_id)
        .cte("linked")
    )
    return select(
        found.select().scalar_subquery(),
        made.select().scalar_subquery(),
        linked.select().scalar_subquery(),
    )


_IDENTIFY_LMS = _identify_lms_statement()


def _identify_lms_learner(session: Session, who: LearnerRef) -> int:
    """`identify` for an LMS learner on PostgreSQL, in one statement (a class starting its exam
    at once, issue 12)."""
    existing, created, identified = session.execute(
        _IDENTIFY_LMS,
        {
            "centre_id": who.centre_id,
            "learner_ref": who.ref,
            "now": utcnow(),
            "uuid": new_uuid(),
            "lti_platform_id": who.lti_platform_id,
            "lti_sub": who.lti_sub,
        },
    ).one()
    if existing is not None:
        return existing
    if identified is not None:
        return identified
    # Someone else identified this learner_ref first: theirs stands, ours goes.
    session.execute(delete(Learner).where(Learner.id == created))
    return _learner_of_ref(session, who.centre_id, who.ref)


def _learner_of_ref(session: Session, centre_id: int | None, learner_ref: str) -> int | None:
    return session.scalar(
        select(LearnerIdentity.learner_id).where(
            LearnerIdentity.centre_id.is_not_distinct_from(centre_id),
            LearnerIdentity.learner_ref == learner_ref,
        )
    )


def _centre_learner(session: Session, centre_id: int | None, reference: str) -> int | None:
    return session.scalar(
        select(Learner.id).where(
            Learner.centre_id.is_not_distinct_from(centre_id), Learner.reference == reference
        )
    )


def _insert_learner(
    session: Session, centre_id: int | None, reference: str | None, on_conflict_nothing=False
) -> int | None:
    now = utcnow()
    statement = insert_for(session, Learner).values(
        uuid=new_uuid(), centre_id=centre_id, reference=reference, created_at=now, updated_at=now
    )
    if on_conflict_nothing:
        session.execute(statement.on_conflict_do_nothing())
        return None
    return session.execute(statement.returning(Learner.id)).scalar_one()
