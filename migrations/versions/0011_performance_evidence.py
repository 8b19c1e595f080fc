"""Performance evidence: assessors' records of observation, witness testimony, workplace records
and the like, per learner and performance criterion (an audit trail: superseded or withdrawn,
never changed)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
# Re-chained at merge.
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "performance_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("learner_ref", sa.String(length=255), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=False),
        sa.Column("criterion_version_id", sa.Integer(), nullable=False),
        sa.Column("evidence_type", sa.String(length=32), nullable=False),
        sa.Column("evidenced_on", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=24), nullable=False),
        sa.Column("assessor", sa.String(length=255), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=255), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"]),
        sa.ForeignKeyConstraint(["criterion_id"], ["criteria.id"]),
        sa.ForeignKeyConstraint(["criterion_version_id"], ["criterion_versions.id"]),
        sa.ForeignKeyConstraint(["supersedes_id"], ["performance_evidence.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
        sa.UniqueConstraint("supersedes_id"),
    )
    op.create_index("ix_performance_evidence_centre_id", "performance_evidence", ["centre_id"])
    op.create_index("ix_performance_evidence_learner_ref", "performance_evidence", ["learner_ref"])
    op.create_index(
        "ix_performance_evidence_criterion_id", "performance_evidence", ["criterion_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_performance_evidence_criterion_id", table_name="performance_evidence")
    op.drop_index("ix_performance_evidence_learner_ref", table_name="performance_evidence")
    op.drop_index("ix_performance_evidence_centre_id", table_name="performance_evidence")
    op.drop_table("performance_evidence")
