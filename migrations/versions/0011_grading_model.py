"""The grading model: no percentage pass mark, auto items per criterion, grade descriptors

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-28 09:00:00

Existing assessment rows keep their values until the content loader runs (it updates
mastery_percent and fills grade_descriptors from criteria_data/assessments).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
# Re-chained by the lead at merge.
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.alter_column(
            "objective_items_per_criterion",
            new_column_name="auto_items_per_criterion",
            existing_type=sa.Integer(),
            existing_nullable=False,
        )
        batch_op.drop_column("pass_mark_percent")
        batch_op.add_column(
            sa.Column("grade_descriptors", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.alter_column("grade_descriptors", server_default=None, existing_type=sa.JSON())


def downgrade() -> None:
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_column("grade_descriptors")
        batch_op.add_column(
            sa.Column("pass_mark_percent", sa.Integer(), nullable=False, server_default="60")
        )
        batch_op.alter_column(
            "auto_items_per_criterion",
            new_column_name="objective_items_per_criterion",
            existing_type=sa.Integer(),
            existing_nullable=False,
        )
