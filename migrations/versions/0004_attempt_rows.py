"""Attempt state as rows: form items, responses, marks, item scores, criterion decisions;
LTI platform and user columns; one open attempt per learner enforced by a unique index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 02:50:00

Existing blobs are moved into rows, then the blob columns are dropped. Seeds are kept as they
are (the learner's option order depends on them); new attempts store a SHA-256 hex seed.
Where old data holds more than one open attempt of a learner (the race this fixes), the newest
stays open and the older ones are closed as pending_manual so an assessor can review them.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status = 'in_progress'")


def _attempt_fk():
    return sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"], ondelete="CASCADE")


def _create_tables() -> None:
    op.create_table(
        "attempt_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=24), nullable=False),
        sa.Column("item_version", sa.Integer(), nullable=False),
        _attempt_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attempt_id", "item_code"),
        sa.UniqueConstraint("attempt_id", "position"),
    )
    op.create_table(
        "attempt_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=24), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        _attempt_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attempt_id", "item_code"),
    )
    op.create_table(
        "attempt_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=24), nullable=False),
        sa.Column("criterion_code", sa.String(length=24), nullable=False),
        sa.Column("quality", sa.String(length=24), nullable=False),
        sa.Column("marked_by", sa.String(length=255), nullable=True),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        _attempt_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attempt_id", "item_code", "criterion_code"),
    )
    with op.batch_alter_table("attempt_marks") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attempt_marks_criterion_code"), ["criterion_code"], unique=False
        )
    op.create_table(
        "attempt_item_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=24), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("max_score", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        _attempt_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attempt_id", "item_code"),
    )
    with op.batch_alter_table("attempt_item_scores") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attempt_item_scores_item_code"), ["item_code"], unique=False
        )
    op.create_table(
        "attempt_criterion_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("criterion_code", sa.String(length=24), nullable=False),
        sa.Column("decision", sa.String(length=24), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        _attempt_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attempt_id", "criterion_code"),
    )
    with op.batch_alter_table("attempt_criterion_decisions") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attempt_criterion_decisions_criterion_code"),
            ["criterion_code"],
            unique=False,
        )


def _tables():
    attempts = sa.table(
        "attempts",
        sa.column("id", sa.Integer),
        sa.column("assessment_id", sa.Integer),
        sa.column("centre_id", sa.Integer),
        sa.column("learner_ref", sa.String),
        sa.column("lti_platform_id", sa.Integer),
        sa.column("lti_sub", sa.String),
        sa.column("status", sa.String),
        sa.column("form", sa.JSON),
        sa.column("responses", sa.JSON),
        sa.column("marks", sa.JSON),
        sa.column("result", sa.JSON),
        sa.column("started_at", sa.DateTime(timezone=True)),
        sa.column("deadline", sa.DateTime(timezone=True)),
        sa.column("submitted_at", sa.DateTime(timezone=True)),
        sa.column("graded_at", sa.DateTime(timezone=True)),
    )
    items = sa.table(
        "attempt_items",
        sa.column("attempt_id", sa.Integer),
        sa.column("position", sa.Integer),
        sa.column("item_code", sa.String),
        sa.column("item_version", sa.Integer),
    )
    responses = sa.table(
        "attempt_responses",
        sa.column("attempt_id", sa.Integer),
        sa.column("item_code", sa.String),
        sa.column("response", sa.JSON),
        sa.column("saved_at", sa.DateTime(timezone=True)),
    )
    marks = sa.table(
        "attempt_marks",
        sa.column("attempt_id", sa.Integer),
        sa.column("item_code", sa.String),
        sa.column("criterion_code", sa.String),
        sa.column("quality", sa.String),
        sa.column("marked_by", sa.String),
        sa.column("marked_at", sa.DateTime(timezone=True)),
    )
    scores = sa.table(
        "attempt_item_scores",
        sa.column("attempt_id", sa.Integer),
        sa.column("item_code", sa.String),
        sa.column("score", sa.Double),
        sa.column("max_score", sa.Integer),
        sa.column("pending", sa.Boolean),
    )
    decisions = sa.table(
        "attempt_criterion_decisions",
        sa.column("attempt_id", sa.Integer),
        sa.column("criterion_code", sa.String),
        sa.column("decision", sa.String),
        sa.column("evidence", sa.JSON),
    )
    return attempts, items, responses, marks, scores, decisions


def _parse_lti(ref: str) -> tuple[int | None, str | None]:
    parts = ref.split(":", 2)
    if len(parts) == 3 and parts[0] == "lti" and parts[1].isdigit():
        return int(parts[1]), parts[2]
    return None, None


def _move_blobs_to_rows() -> None:
    bind = op.get_bind()
    attempts, items, responses, marks, scores, decisions = _tables()
    open_seen: set[tuple] = set()
    rows = bind.execute(sa.select(attempts).order_by(attempts.c.id.desc())).mappings().all()
    for a in rows:
        when = a["submitted_at"] or a["started_at"] or datetime.now(UTC)
        platform_id, sub = _parse_lti(a["learner_ref"])
        values = {"lti_platform_id": platform_id, "lti_sub": sub}
        if a["status"] == "in_progress":
            key = (a["assessment_id"], a["centre_id"] or 0, a["learner_ref"])
            if key in open_seen:  # an older duplicate open attempt: see the docstring
                values |= {"status": "pending_manual", "submitted_at": a["deadline"]}
            open_seen.add(key)
        bind.execute(attempts.update().where(attempts.c.id == a["id"]).values(**values))
        form = a["form"] or []
        if form:
            bind.execute(
                items.insert(),
                [
                    {
                        "attempt_id": a["id"],
                        "position": n,
                        "item_code": e["item"],
                        "item_version": e["version"],
                    }
                    for n, e in enumerate(form, 1)
                ],
            )
        if a["responses"]:
            bind.execute(
                responses.insert(),
                [
                    {"attempt_id": a["id"], "item_code": k, "response": v, "saved_at": when}
                    for k, v in a["responses"].items()
                ],
            )
        mark_rows = [
            {
                "attempt_id": a["id"],
                "item_code": item,
                "criterion_code": criterion,
                "quality": quality,
                "marked_by": None,
                "marked_at": a["graded_at"] or when,
            }
            for item, by_criterion in (a["marks"] or {}).items()
            for criterion, quality in by_criterion.items()
        ]
        if mark_rows:
            bind.execute(marks.insert(), mark_rows)
        result = a["result"] or {}
        if result.get("items"):
            bind.execute(
                scores.insert(),
                [
                    {
                        "attempt_id": a["id"],
                        "item_code": s["item_id"],
                        "score": s["score"],
                        "max_score": s["max_score"],
                        "pending": bool(s.get("pending")),
                    }
                    for s in result["items"]
                ],
            )
        if result.get("criteria"):
            bind.execute(
                decisions.insert(),
                [
                    {
                        "attempt_id": a["id"],
                        "criterion_code": d["criterion"],
                        "decision": d["decision"],
                        "evidence": list(d.get("evidence") or []),
                    }
                    for d in result["criteria"]
                ],
            )


def upgrade() -> None:
    # No table rebuilds of `attempts` once rows reference it: on SQLite a rebuild drops the
    # table, and with foreign keys on, the drop would cascade to the new rows. SQLite (>= 3.35)
    # and PostgreSQL both add and drop these plain columns in place.
    with op.batch_alter_table("attempts", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("lti_platform_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("lti_sub", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("version", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.create_index(
            batch_op.f("ix_attempts_lti_platform_id"), ["lti_platform_id"], unique=False
        )
    _create_tables()
    _move_blobs_to_rows()
    with op.batch_alter_table("attempts", recreate="never") as batch_op:
        batch_op.drop_column("form")
        batch_op.drop_column("responses")
        batch_op.drop_column("marks")
        batch_op.drop_column("result")
    op.create_index(
        "uq_attempts_one_open",
        "attempts",
        ["assessment_id", sa.text("coalesce(centre_id, 0)"), "learner_ref"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("uq_attempts_one_open", table_name="attempts")
    with op.batch_alter_table("attempts", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("form", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("responses", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("marks", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("result", sa.JSON(), nullable=True))
    bind = op.get_bind()
    attempts, items, responses, marks, scores, decisions = _tables()
    for (attempt_id,) in bind.execute(sa.select(attempts.c.id)).all():
        form = [
            {"item": r.item_code, "version": r.item_version}
            for r in bind.execute(
                sa.select(items).where(items.c.attempt_id == attempt_id).order_by("position")
            )
        ]
        saved = {
            r.item_code: r.response
            for r in bind.execute(sa.select(responses).where(responses.c.attempt_id == attempt_id))
        }
        marked: dict = {}
        for r in bind.execute(sa.select(marks).where(marks.c.attempt_id == attempt_id)):
            marked.setdefault(r.item_code, {})[r.criterion_code] = r.quality
        item_scores = [
            {"item_id": r.item_code, "score": r.score, "max_score": r.max_score,
             "pending": r.pending}
            for r in bind.execute(sa.select(scores).where(scores.c.attempt_id == attempt_id))
        ]
        criteria = [
            {"criterion": r.criterion_code, "decision": r.decision, "evidence": r.evidence}
            for r in bind.execute(
                sa.select(decisions).where(decisions.c.attempt_id == attempt_id)
            )
        ]
        bind.execute(
            attempts.update()
            .where(attempts.c.id == attempt_id)
            .values(
                form=form,
                responses=saved,
                marks=marked,
                result={"items": item_scores, "criteria": criteria} if criteria else None,
            )
        )
    # The rows are in the blobs now; drop their tables before `attempts` may be rebuilt.
    op.drop_table("attempt_criterion_decisions")
    op.drop_table("attempt_item_scores")
    op.drop_table("attempt_marks")
    op.drop_table("attempt_responses")
    op.drop_table("attempt_items")
    with op.batch_alter_table("attempts") as batch_op:
        batch_op.alter_column("form", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("responses", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("marks", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_index(batch_op.f("ix_attempts_lti_platform_id"))
        batch_op.drop_column("version")
        batch_op.drop_column("lti_sub")
        batch_op.drop_column("lti_platform_id")
