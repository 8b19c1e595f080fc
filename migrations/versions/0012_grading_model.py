"""The grading model: no percentage pass mark, auto items per criterion, grade descriptors

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 09:00:00

Existing assessment rows keep their values until the content loader runs (it updates
mastery_percent and fills grade_descriptors from criteria_data/assessments).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
# Re-chained by the lead at merge.
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE statements, not batch mode: on SQLite a batch rebuilds the table, which
# foreign keys from attempts forbid once attempts exist. SQLite 3.35+ and PostgreSQL run these.
# grade_descriptors keeps its '[]' default so that rows the loader has not seen stay valid.


def upgrade() -> None:
    op.execute(
        "ALTER TABLE assessments "
        "RENAME COLUMN objective_items_per_criterion TO auto_items_per_criterion"
    )
    op.execute("ALTER TABLE assessments DROP COLUMN pass_mark_percent")
    op.add_column(
        "assessments",
        sa.Column("grade_descriptors", sa.JSON(), nullable=False, server_default="[]"),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE assessments DROP COLUMN grade_descriptors")
    op.add_column(
        "assessments",
        sa.Column("pass_mark_percent", sa.Integer(), nullable=False, server_default="60"),
    )
    op.execute(
        "ALTER TABLE assessments "
        "RENAME COLUMN auto_items_per_criterion TO objective_items_per_criterion"
    )
