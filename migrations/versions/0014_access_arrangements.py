"""Access arrangements (extra time, rest breaks, a different time limit) per learner, with
their history; rest breaks per attempt; attempts opened (form drawn) apart from started (the
learner chose Start: the clock runs from then)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
# Re-chained at merge.
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRST = sa.text("supersedes_id IS NULL")


def upgrade() -> None:
    op.create_table(
        "access_arrangements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("learner_ref", sa.String(length=255), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("extra_time_percent", sa.Integer(), nullable=True),
        sa.Column("extra_time_minutes", sa.Integer(), nullable=True),
        sa.Column("rest_breaks", sa.Boolean(), nullable=False),
        sa.Column("rest_break_max_minutes", sa.Integer(), nullable=True),
        sa.Column("time_limit_minutes", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("set_by_kind", sa.String(length=16), nullable=False),
        sa.Column("set_by", sa.String(length=255), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"]),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"]),
        sa.ForeignKeyConstraint(["supersedes_id"], ["access_arrangements.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supersedes_id"),
        sa.UniqueConstraint("uuid"),
    )
    op.create_index(op.f("ix_access_arrangements_centre_id"), "access_arrangements", ["centre_id"])
    op.create_index(
        op.f("ix_access_arrangements_learner_ref"), "access_arrangements", ["learner_ref"]
    )
    op.create_index(
        "uq_access_arrangements_first",
        "access_arrangements",
        [sa.text("coalesce(centre_id, 0)"), "learner_ref", sa.text("coalesce(assessment_id, 0)")],
        unique=True,
        sqlite_where=FIRST,
        postgresql_where=FIRST,
    )
    op.create_table(
        "attempt_rest_breaks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_attempt_rest_breaks_attempt_id"), "attempt_rest_breaks", ["attempt_id"]
    )
    _separate_start()


def _separate_start() -> None:
    """attempts.started_at becomes opened_at (the form drawn; every attempt so far started
    then); a new started_at and the deadline may be NULL (not started yet). On SQLite with
    plain ALTER TABLE statements (SQLite 3.35+): a batch rebuild of attempts would drop the
    table, and its foreign keys' ON DELETE CASCADE would empty the attempt's rows with it."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE attempts RENAME COLUMN started_at TO opened_at")
        op.execute("ALTER TABLE attempts ADD COLUMN started_at DATETIME")
        op.execute("ALTER TABLE attempts ADD COLUMN deadline_at DATETIME")
        op.execute("UPDATE attempts SET started_at = opened_at, deadline_at = deadline")
        op.execute("ALTER TABLE attempts DROP COLUMN deadline")
        op.execute("ALTER TABLE attempts RENAME COLUMN deadline_at TO deadline")
        return
    op.alter_column("attempts", "started_at", new_column_name="opened_at")
    op.add_column("attempts", sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE attempts SET started_at = opened_at")
    op.alter_column("attempts", "deadline", existing_type=sa.DateTime(timezone=True), nullable=True)


def downgrade() -> None:
    # The old schema has no attempt without a deadline: one never started gets a deadline
    # already passed (its opening), so nothing can be saved to it.
    op.execute("UPDATE attempts SET deadline = opened_at WHERE deadline IS NULL")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE attempts DROP COLUMN started_at")
        op.execute("ALTER TABLE attempts RENAME COLUMN opened_at TO started_at")
        op.execute("ALTER TABLE attempts ADD COLUMN deadline_at DATETIME NOT NULL DEFAULT ''")
        op.execute("UPDATE attempts SET deadline_at = deadline")
        op.execute("ALTER TABLE attempts DROP COLUMN deadline")
        op.execute("ALTER TABLE attempts RENAME COLUMN deadline_at TO deadline")
    else:
        op.drop_column("attempts", "started_at")
        op.alter_column("attempts", "opened_at", new_column_name="started_at")
        op.alter_column(
            "attempts", "deadline", existing_type=sa.DateTime(timezone=True), nullable=False
        )
    op.drop_index(op.f("ix_attempt_rest_breaks_attempt_id"), table_name="attempt_rest_breaks")
    op.drop_table("attempt_rest_breaks")
    op.drop_index("uq_access_arrangements_first", table_name="access_arrangements")
    op.drop_index(op.f("ix_access_arrangements_learner_ref"), table_name="access_arrangements")
    op.drop_index(op.f("ix_access_arrangements_centre_id"), table_name="access_arrangements")
    op.drop_table("access_arrangements")
