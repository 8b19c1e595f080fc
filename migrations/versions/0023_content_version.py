"""Content version: one row whose token changes with every change to the content

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-28 12:50:00

The unit's item keys and rubric levels are immutable per content version, so each process
keeps them per version (service/content_cache.py) and reads only this row per request
instead of every item of the unit (issue 12).
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
# Re-chained at merge.
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "content_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(table, [{"id": 1, "token": uuid.uuid4().hex}])


def downgrade() -> None:
    op.drop_table("content_versions")
