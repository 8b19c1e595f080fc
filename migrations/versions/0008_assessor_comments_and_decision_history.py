"""Assessors: comments to the learner (per criterion and per attempt) and the history of every
marking decision

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _attempt_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "attempt_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("criterion_code", sa.String(length=24), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=True),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        _attempt_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_attempt_comments_attempt_id", "attempt_comments", ["attempt_id"])
    op.create_table(
        "attempt_mark_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=24), nullable=False),
        sa.Column("criterion_code", sa.String(length=24), nullable=False),
        sa.Column("old_quality", sa.String(length=24), nullable=True),
        sa.Column("new_quality", sa.String(length=24), nullable=False),
        sa.Column("marked_by", sa.String(length=255), nullable=True),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        _attempt_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_attempt_mark_events_attempt_id", "attempt_mark_events", ["attempt_id"])


def downgrade() -> None:
    op.drop_index("ix_attempt_mark_events_attempt_id", table_name="attempt_mark_events")
    op.drop_table("attempt_mark_events")
    op.drop_index("ix_attempt_comments_attempt_id", table_name="attempt_comments")
    op.drop_table("attempt_comments")
