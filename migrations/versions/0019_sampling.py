"""External verifiers' sampling plans, the decisions sampled, and their verdicts

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-28 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sampling_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.Column("course", sa.String(length=255), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    op.create_index("ix_sampling_plans_centre_id", "sampling_plans", ["centre_id"])
    op.create_table(
        "sampled_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("candidate_key", sa.String(length=160), nullable=False),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("criterion_code", sa.String(length=24), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("item_code", sa.String(length=24), nullable=True),
        sa.Column("performance_evidence_id", sa.Integer(), nullable=True),
        sa.Column("assessor", sa.String(length=255), nullable=False),
        sa.Column("decision", sa.String(length=24), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["sampling_plans.id"]),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"]),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"]),
        sa.ForeignKeyConstraint(["performance_evidence_id"], ["performance_evidence.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "position"),
    )
    op.create_index("ix_sampled_decisions_plan_id", "sampled_decisions", ["plan_id"])
    op.create_index(
        "ix_sampled_decisions_candidate_key", "sampled_decisions", ["candidate_key"]
    )
    op.create_index(
        "ix_sampled_decisions_criterion_code", "sampled_decisions", ["criterion_code"]
    )
    op.create_index("ix_sampled_decisions_assessor", "sampled_decisions", ["assessor"])
    op.create_table(
        "sampling_verdicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sampled_decision_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("given_by", sa.String(length=255), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["sampled_decision_id"], ["sampled_decisions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_sampling_verdicts_sampled_decision_id", "sampling_verdicts", ["sampled_decision_id"]
    )


def downgrade() -> None:
    op.drop_table("sampling_verdicts")
    op.drop_table("sampled_decisions")
    op.drop_table("sampling_plans")
