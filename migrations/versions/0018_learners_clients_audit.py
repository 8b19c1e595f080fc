"""Learners and their identities, client kinds, EQA assignments, the audit log

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28 11:40:00

Every learner_ref already used by attempts, performance evidence and access arrangements gets a
learner (the centre's reference, or an LMS identity) so that reports can join records to
learners. Existing clients get a kind (a centre's, else the awarding body's) and the scopes
that now split what attempts:read/write allowed (results:read, evidence:write); reports:read,
which nothing used, becomes coverage:read.
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pseudonymised_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    op.create_index("ix_learners_centre_id", "learners", ["centre_id"])
    op.create_index(
        "uq_learners_reference",
        "learners",
        [sa.text("coalesce(centre_id, 0)"), "reference"],
        unique=True,
        sqlite_where=sa.text("reference IS NOT NULL"),
        postgresql_where=sa.text("reference IS NOT NULL"),
    )
    op.create_table(
        "learner_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("learner_ref", sa.String(length=255), nullable=False),
        sa.Column("lti_platform_id", sa.Integer(), nullable=True),
        sa.Column("lti_sub", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["learner_id"], ["learners.id"]),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_learner_identities_learner_id", "learner_identities", ["learner_id"])
    op.create_index(
        "uq_learner_identities_ref",
        "learner_identities",
        [sa.text("coalesce(centre_id, 0)"), "learner_ref"],
        unique=True,
    )
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(
            sa.Column(
                "kind", sa.String(length=16), nullable=False, server_default="awarding_body"
            )
        )
    op.create_table(
        "eqa_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_by", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_clients.id"]),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id", "centre_id"),
    )
    op.create_index("ix_eqa_assignments_client_id", "eqa_assignments", ["client_id"])
    op.create_index("ix_eqa_assignments_centre_id", "eqa_assignments", ["centre_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("learner_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("request", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"]),
        sa.ForeignKeyConstraint(["learner_id"], ["learners.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("at", "actor", "centre_id", "learner_id"):
        op.create_index(f"ix_audit_events_{column}", "audit_events", [column])
    _backfill_learners()
    _backfill_clients()


def _backfill_learners() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT centre_id, learner_ref, max(lti_platform_id), max(lti_sub) FROM attempts "
            "GROUP BY centre_id, learner_ref "
            "UNION SELECT centre_id, learner_ref, NULL, NULL FROM performance_evidence "
            "UNION SELECT centre_id, learner_ref, NULL, NULL FROM access_arrangements"
        )
    ).all()
    known: dict[tuple, tuple] = {}
    for centre_id, ref, platform_id, sub in rows:
        current = known.get((centre_id, ref))
        if current is None or (current[0] is None and platform_id is not None):
            known[(centre_id, ref)] = (platform_id, sub)
    now = sa.func.now() if bind.dialect.name == "postgresql" else sa.text("CURRENT_TIMESTAMP")
    learners = sa.table(
        "learners",
        sa.column("id", sa.Integer),
        sa.column("uuid", sa.String),
        sa.column("centre_id", sa.Integer),
        sa.column("reference", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("updated_at", sa.DateTime),
    )
    identities = sa.table(
        "learner_identities",
        sa.column("learner_id", sa.Integer),
        sa.column("centre_id", sa.Integer),
        sa.column("learner_ref", sa.String),
        sa.column("lti_platform_id", sa.Integer),
        sa.column("lti_sub", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    for (centre_id, ref), (platform_id, sub) in known.items():
        is_lti = ref.startswith("lti:")
        learner_id = bind.execute(
            learners.insert()
            .values(
                uuid=str(uuid.uuid4()),
                centre_id=centre_id,
                reference=None if is_lti else ref,
                created_at=now,
                updated_at=now,
            )
            .returning(learners.c.id)
        ).scalar_one()
        bind.execute(
            identities.insert().values(
                learner_id=learner_id,
                centre_id=centre_id,
                learner_ref=ref,
                lti_platform_id=platform_id if is_lti else None,
                lti_sub=sub if is_lti else None,
                created_at=now,
            )
        )


def _backfill_clients() -> None:
    bind = op.get_bind()
    clients = bind.execute(sa.text("SELECT id, scopes, centre_id FROM oauth_clients")).all()
    for client_id, scopes, centre_id in clients:
        held = set((scopes or "").split())
        if "attempts:write" in held:
            held.add("evidence:write")
        if "attempts:read" in held:
            held.add("results:read")
        if "reports:read" in held:
            held.discard("reports:read")
            held.add("coverage:read")
        bind.execute(
            sa.text("UPDATE oauth_clients SET scopes = :scopes, kind = :kind WHERE id = :id"),
            {
                "scopes": " ".join(sorted(held)),
                "kind": "centre" if centre_id is not None else "awarding_body",
                "id": client_id,
            },
        )


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("eqa_assignments")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("kind")
    op.drop_table("learner_identities")
    op.drop_table("learners")
