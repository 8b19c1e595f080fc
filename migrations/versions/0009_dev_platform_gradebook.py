"""Development platform gradebook: its line items, current results and every score received

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
# Re-chained after 0008 at merge.
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _score_columns() -> list[sa.Column]:
    return [
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("score_given", sa.Double(), nullable=True),
        sa.Column("score_maximum", sa.Double(), nullable=True),
        sa.Column("activity_progress", sa.String(length=24), nullable=False),
        sa.Column("grading_progress", sa.String(length=24), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "dev_line_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("score_maximum", sa.Double(), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=True),
        sa.Column("resource_link_id", sa.String(length=255), nullable=True),
        sa.Column("tag", sa.String(length=255), nullable=True),
        sa.Column("submission_review", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_dev_line_items_context_id"), "dev_line_items", ["context_id"], unique=False
    )
    op.create_table(
        "dev_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_item_id", sa.Integer(), nullable=False),
        *_score_columns(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["line_item_id"], ["dev_line_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("line_item_id", "user_id"),
    )
    op.create_table(
        "dev_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_item_id", sa.Integer(), nullable=False),
        *_score_columns(),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["line_item_id"], ["dev_line_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_dev_scores_line_item_id"), "dev_scores", ["line_item_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_dev_scores_line_item_id"), table_name="dev_scores")
    op.drop_table("dev_scores")
    op.drop_table("dev_results")
    op.drop_index(op.f("ix_dev_line_items_context_id"), table_name="dev_line_items")
    op.drop_table("dev_line_items")
