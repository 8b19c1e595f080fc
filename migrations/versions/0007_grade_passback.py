"""Grade passback: course activities (resource links), their line items, the score outbox,
the attempt's resource link, and each deployment's Canvas criterion choice

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lti_resource_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.Column("resource_link_id", sa.String(length=255), nullable=False),
        sa.Column("context_id", sa.String(length=255), nullable=True),
        sa.Column("assessment_code", sa.String(length=24), nullable=True),
        sa.Column("product_family", sa.String(length=64), nullable=True),
        sa.Column("ags_scopes", sa.String(length=1024), nullable=False),
        sa.Column("ags_lineitems", sa.String(length=2048), nullable=True),
        sa.Column("ags_lineitem", sa.String(length=2048), nullable=True),
        sa.Column("nrps_url", sa.String(length=2048), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["lti_platforms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "resource_link_id"),
    )
    op.create_table(
        "lti_line_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_link_pk", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=16), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("score_maximum", sa.Double(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_link_pk"], ["lti_resource_links.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("resource_link_pk", "resource_id"),
    )
    # No foreign key (as lti_platform_id): adding one on SQLite means rebuilding attempts.
    op.add_column("attempts", sa.Column("lti_resource_link_id", sa.Integer(), nullable=True))
    op.create_index("ix_attempts_lti_resource_link_id", "attempts", ["lti_resource_link_id"])
    with op.batch_alter_table("lti_deployments") as batch:
        batch.add_column(
            sa.Column(
                "canvas_criteria", sa.String(length=16), nullable=False, server_default="comment"
            )
        )
    op.create_table(
        "score_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_item_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("user_sub", sa.String(length=255), nullable=False),
        sa.Column("score_given", sa.Double(), nullable=True),
        sa.Column("score_maximum", sa.Double(), nullable=True),
        sa.Column("activity_progress", sa.String(length=16), nullable=False),
        sa.Column("grading_progress", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["line_item_id"], ["lti_line_items.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_score_deliveries_due", "score_deliveries", ["status", "next_try_at"])
    op.create_index(
        "ix_score_deliveries_learner", "score_deliveries", ["line_item_id", "user_sub"]
    )


def downgrade() -> None:
    op.drop_table("score_deliveries")
    with op.batch_alter_table("lti_deployments") as batch:
        batch.drop_column("canvas_criteria")
    op.drop_index("ix_attempts_lti_resource_link_id", table_name="attempts")
    if op.get_bind().dialect.name == "sqlite":
        # Not batch mode, which would rebuild attempts (and cascade-delete its rows' children
        # and its expression index); SQLite 3.35+ drops an unreferenced column in place.
        op.execute("ALTER TABLE attempts DROP COLUMN lti_resource_link_id")
    else:
        op.drop_column("attempts", "lti_resource_link_id")
    op.drop_table("lti_line_items")
    op.drop_table("lti_resource_links")
