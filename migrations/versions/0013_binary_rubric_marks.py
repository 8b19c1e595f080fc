"""Rubrics are binary (not_yet_met / met) in every unit: stored merit and distinction marks
become met, which is what they meant for a criterion's decision ("met or above")

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 09:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
# Re-chained at merge.
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Regrading reads each stored level's score from the rubric, which no longer has these
    # levels. The mark history (attempt_mark_events) keeps what the assessor chose.
    op.execute("UPDATE attempt_marks SET quality = 'met' WHERE quality IN ('merit', 'distinction')")


def downgrade() -> None:
    # Which met marks were merit or distinction is in attempt_mark_events; nothing to undo here.
    pass
