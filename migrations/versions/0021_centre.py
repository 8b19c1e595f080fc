"""Idempotency keys of centres' POSTs; attempts taken elsewhere (mode, taken_on, recorded_by)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-28 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_clients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id", "key"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])
    op.add_column(
        "attempts",
        sa.Column("mode", sa.String(length=16), nullable=False, server_default="online"),
    )
    op.add_column("attempts", sa.Column("taken_on", sa.Date(), nullable=True))
    op.add_column("attempts", sa.Column("recorded_by", sa.String(length=255), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops plain columns in place.
    for column in ("recorded_by", "taken_on", "mode"):
        op.execute(f"ALTER TABLE attempts DROP COLUMN {column}")
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
