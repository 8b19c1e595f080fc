"""Marks an assessor posted after their launch ended, kept until they relaunch (finding S1 of
the November 2026 accessibility review: the marks used to be lost).

A marking form posted with the token of a staff launch that ended less than KEEP_FOR ago is
stored here for that assessor (platform and user id), whatever the attempt: nothing is shown
from it but what the assessor typed. When the same assessor opens the attempt's marking page
from a new launch, which checks they may see it, the page shows the draft filled in to check
and save; saving that written answer's marks removes its draft.

The comment on the whole attempt (its own form) is kept the same way, as one row under the
item code ATTEMPT (no written answer has an empty code): keep_comment, restored under ATTEMPT
as {"comment": text}, discarded when the comment is saved.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lti.models import LtiMarkingDraft, LtiSession
from service.grading.vocabulary import RubricLevel
from service.models import utcnow

KEEP_FOR = timedelta(days=7)
CODE_MAX = 24  # item and criterion codes (the columns' width)
COMMENT_MAX = 4000
ATTEMPT = ""  # the item code of the comment on the whole attempt


def keep(
    session: Session,
    row: LtiSession,
    attempt_uuid: str,
    item_code: str,
    levels: dict[str, str],
    previous: dict[str, str],
    comments: dict[str, str],
) -> int:
    """Store what the form carried for one written answer, replacing an earlier draft of it.
    Returns how many criteria were kept. Values that cannot be marks are left out."""
    if not attempt_uuid or len(attempt_uuid) > 36 or not item_code or len(item_code) > CODE_MAX:
        return 0
    qualities = {q.value for q in RubricLevel}
    criteria = {c for c in [*levels, *comments] if c and len(c) <= CODE_MAX}
    session.execute(
        delete(LtiMarkingDraft).where(
            LtiMarkingDraft.platform_id == row.platform_id,
            LtiMarkingDraft.user_sub == row.user_sub,
            LtiMarkingDraft.attempt_uuid == attempt_uuid,
            LtiMarkingDraft.item_code == item_code,
        )
    )
    now = utcnow()
    for criterion in sorted(criteria):
        level = levels.get(criterion)
        shown = previous.get(criterion)
        session.add(
            LtiMarkingDraft(
                platform_id=row.platform_id,
                user_sub=row.user_sub,
                attempt_uuid=attempt_uuid,
                item_code=item_code,
                criterion_code=criterion,
                quality=level if level in qualities else None,
                previous_quality=shown if shown in qualities else None,
                comment=(comments.get(criterion) or "")[:COMMENT_MAX] or None,
                saved_at=now,
            )
        )
    return len(criteria)


def keep_comment(session: Session, row: LtiSession, attempt_uuid: str, text: str) -> bool:
    """Store the comment on the whole attempt, replacing an earlier draft of it ("" is kept
    too: it removes the comment when saved). False when the attempt id cannot be one."""
    if not attempt_uuid or len(attempt_uuid) > 36:
        return False
    discard(session, row, attempt_uuid, ATTEMPT)
    session.add(
        LtiMarkingDraft(
            platform_id=row.platform_id,
            user_sub=row.user_sub,
            attempt_uuid=attempt_uuid,
            item_code=ATTEMPT,
            criterion_code=ATTEMPT,
            comment=text[:COMMENT_MAX],
            saved_at=utcnow(),
        )
    )
    return True


def restore(session: Session, row: LtiSession, attempt_uuid: str) -> dict[str, dict]:
    """This assessor's drafts for the attempt: item code -> {"levels", "previous",
    "comments"}, each by criterion code (what the marking page fills in); and ATTEMPT ->
    {"comment": text} for the comment on the whole attempt."""
    drafts: dict[str, dict] = {}
    found = session.scalars(
        select(LtiMarkingDraft).where(
            LtiMarkingDraft.platform_id == row.platform_id,
            LtiMarkingDraft.user_sub == row.user_sub,
            LtiMarkingDraft.attempt_uuid == attempt_uuid,
            LtiMarkingDraft.saved_at > utcnow() - KEEP_FOR,
        )
    )
    for draft in found:
        if draft.item_code == ATTEMPT:
            drafts[ATTEMPT] = {"comment": draft.comment or ""}
            continue
        item = drafts.setdefault(draft.item_code, {"levels": {}, "previous": {}, "comments": {}})
        if draft.quality:
            item["levels"][draft.criterion_code] = draft.quality
        item["previous"][draft.criterion_code] = draft.previous_quality or ""
        if draft.comment:
            item["comments"][draft.criterion_code] = draft.comment
    return drafts


def discard(session: Session, row: LtiSession, attempt_uuid: str, item_code: str) -> None:
    """The written answer's marks are saved: its draft is done with."""
    session.execute(
        delete(LtiMarkingDraft).where(
            LtiMarkingDraft.platform_id == row.platform_id,
            LtiMarkingDraft.user_sub == row.user_sub,
            LtiMarkingDraft.attempt_uuid == attempt_uuid,
            LtiMarkingDraft.item_code == item_code,
        )
    )
