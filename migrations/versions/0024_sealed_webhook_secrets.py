"""Webhook signing secrets sealed at rest

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-28 15:20:00

`webhook_endpoints.secret` held each secret in plain text; `sealed_secret` holds it as a
Fernet token under a key derived from SECRET_KEY (service/sealed_secrets.py). Existing rows are
sealed here, so run it with the SECRET_KEY the service runs with (`assessment db upgrade` passes
the app's; otherwise the SECRET_KEY environment variable is used).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from service import sealed_secrets
from service.config import Config

revision: str = "0024"
# Re-chained at merge.
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

endpoints = sa.table(
    "webhook_endpoints",
    sa.column("id", sa.Integer),
    sa.column("secret", sa.String),
    sa.column("sealed_secret", sa.String),
)


def _secret_key() -> str:
    return context.config.attributes.get("secret_key") or Config().SECRET_KEY


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(sa.Column("sealed_secret", sa.String(length=255), nullable=True))
    connection, key = op.get_bind(), _secret_key()
    for row_id, secret in connection.execute(sa.select(endpoints.c.id, endpoints.c.secret)):
        connection.execute(
            endpoints.update()
            .where(endpoints.c.id == row_id)
            .values(sealed_secret=sealed_secrets.seal(key, secret))
        )
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column("sealed_secret", existing_type=sa.String(length=255), nullable=False)
        batch.drop_column("secret")


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(sa.Column("secret", sa.String(length=64), nullable=True))
    connection, key = op.get_bind(), _secret_key()
    rows = connection.execute(sa.select(endpoints.c.id, endpoints.c.sealed_secret))
    for row_id, sealed in rows:
        connection.execute(
            endpoints.update()
            .where(endpoints.c.id == row_id)
            .values(secret=sealed_secrets.unseal(key, sealed))
        )
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column("secret", existing_type=sa.String(length=64), nullable=False)
        batch.drop_column("sealed_secret")
