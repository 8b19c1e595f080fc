"""Score outbox: when a score started failing, so that retries end after a time, not a count

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 08:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("score_deliveries") as batch:
        batch.add_column(sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("score_deliveries") as batch:
        batch.drop_column("failing_since")
