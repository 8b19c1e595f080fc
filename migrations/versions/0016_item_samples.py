"""Items marked as published samples (public; never drawn into a live form)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
# Re-chained at merge.
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every existing item is live (confidential); samples come from the next content load.
    op.add_column(
        "items", sa.Column("sample", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    op.drop_column("items", "sample")
