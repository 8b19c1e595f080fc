"""Reading the assessor's comments to a learner (written by service.attempts.comment). Its own
module so lti.grade_sync, which service.attempts calls, can read them too."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import AttemptComment


def current_comments(session: Session, attempt_id: int) -> dict[str | None, AttemptComment]:
    """The comments in force: criterion code (None: the whole attempt) -> its newest row,
    left out when that row cleared it (empty text)."""
    newest: dict[str | None, AttemptComment] = {}
    rows = session.scalars(
        select(AttemptComment)
        .where(AttemptComment.attempt_id == attempt_id)
        .order_by(AttemptComment.id)
    )
    for row in rows:
        newest[row.criterion_code] = row
    return {code: row for code, row in newest.items() if row.text}
