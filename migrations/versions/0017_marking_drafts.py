"""Marking drafts: marks an assessor posted after their launch ended, kept until they relaunch

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28 09:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
# Re-chained at merge.
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lti_marking_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("user_sub", sa.String(length=255), nullable=False),
        sa.Column("attempt_uuid", sa.String(length=36), nullable=False),
        sa.Column("item_code", sa.String(length=24), nullable=False),
        sa.Column("criterion_code", sa.String(length=24), nullable=False),
        sa.Column("quality", sa.String(length=16), nullable=True),
        sa.Column("previous_quality", sa.String(length=16), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platforms.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "platform_id", "user_sub", "attempt_uuid", "item_code", "criterion_code"
        ),
    )


def downgrade() -> None:
    op.drop_table("lti_marking_drafts")
