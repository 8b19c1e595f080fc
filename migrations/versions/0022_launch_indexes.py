"""Launch path indexes: the hot queries of a class launching at once (issue 12)

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-28 12:30:00

- attempts (assessment_id, learner_ref, id): the learner's attempts at an assessment, newest
  last. Without it SQLite picked ix_attempts_assessment_id and read every attempt of the
  assessment (2.7 ms at 12,000 attempts, growing with the table).
- lti_login_states (platform_id, expires_at) and lti_nonces (platform_id, expires_at): the
  sweep of a platform's expired rows every login and launch does.
tests/test_launch_indexes.py reads both databases' query plans.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
# Re-chained at merge.
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_attempts_assessment_learner", "attempts", ["assessment_id", "learner_ref", "id"]
    )
    op.create_index(
        "ix_lti_login_states_platform_expires", "lti_login_states", ["platform_id", "expires_at"]
    )
    op.create_index("ix_lti_nonces_platform_expires", "lti_nonces", ["platform_id", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_lti_nonces_platform_expires", table_name="lti_nonces")
    op.drop_index("ix_lti_login_states_platform_expires", table_name="lti_login_states")
    op.drop_index("ix_attempts_assessment_learner", table_name="attempts")
