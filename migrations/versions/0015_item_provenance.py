"""Item provenance: status (draft, reviewed, approved), who wrote and reviewed each item, and
the awarding body's approval (who, when, which version)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
# Re-chained at merge (the brief named 0013; main had 0014 when this branch was cut).
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not batch mode: recreating `items` on SQLite would break the foreign keys
# of item_versions and item_criteria (the engine turns foreign keys on).
def _columns() -> list[sa.Column]:
    return [
        # Existing rows are draft until the next content load reads their review records: nothing
        # claims a review or an approval the database has no record of.
        sa.Column("status", sa.String(length=16), nullable=False, server_default="draft"),
        sa.Column("written_by", sa.String(length=255), nullable=True),
        sa.Column("reviewed_by", sa.String(length=255), nullable=True),
        sa.Column("approved_by", sa.String(length=255), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_version", sa.Integer(), nullable=True),
    ]


def upgrade() -> None:
    for column in _columns():
        op.add_column("items", column)


def downgrade() -> None:
    for column in reversed(_columns()):
        op.drop_column("items", column.name)
