"""LTI session rotation and browser binding

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
# down_revision 0004: attempt rows (merged separately)
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lti_sessions") as batch:
        batch.add_column(sa.Column("token_issued_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("previous_token_hash", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("previous_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("browser_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("browser_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(
            "ix_lti_sessions_previous_token_hash", ["previous_token_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("lti_sessions") as batch:
        batch.drop_index("ix_lti_sessions_previous_token_hash")
        batch.drop_column("browser_seen_at")
        batch.drop_column("browser_hash")
        batch.drop_column("previous_expires_at")
        batch.drop_column("previous_token_hash")
        batch.drop_column("token_issued_at")
