"""Migration 0018's backfill, on rows written as they were at 0017: every learner_ref used by
attempts, performance evidence and access arrangements gets one learner and one identity (LMS
identities keep their platform and user id), and existing clients get a kind and the scopes
that now split what attempts:read/write allowed."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import create_engine, text

from service import migrations
from tests.conftest import isolated_database

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _insert(connection, table: str, **values) -> None:
    columns = ", ".join(values)
    names = ", ".join(f":{name}" for name in values)
    connection.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({names})"), values)


def _content(connection) -> None:
    """The smallest catalogue records can point at (foreign keys hold on PostgreSQL)."""
    _insert(
        connection,
        "qualifications",
        id=1,
        uuid="q-1",
        code="Q",
        title="Q",
        description="",
        publisher="",
        version="1",
        subject="",
        licence_title="",
        licence_text="",
        updated_at=NOW,
    )
    _insert(
        connection,
        "units",
        id=1,
        uuid="u-1",
        code="U-01",
        qualification_id=1,
        title="U",
        level=2,
        grading="graded",
        guided_learning_hours=1,
        source="",
        synopsis="",
        updated_at=NOW,
    )
    _insert(
        connection,
        "learning_outcomes",
        id=1,
        uuid="lo-1",
        code="U-01.LO1",
        unit_id=1,
        position=1,
        statement="",
        knowledge_topic_codes="[]",
        updated_at=NOW,
    )
    _insert(
        connection,
        "criteria",
        id=1,
        uuid="c-1",
        code="U-01.AC1",
        unit_id=1,
        learning_outcome_id=1,
        position=1,
        current_version=1,
    )
    _insert(
        connection,
        "criterion_versions",
        id=1,
        criterion_id=1,
        version=1,
        text="",
        evidence_type="performance",
        evidence="",
        band="pass",
        marking_point="",
        content_hash="h",
        created_at=NOW,
    )
    _insert(
        connection,
        "assessments",
        id=1,
        uuid="a-1",
        code="U-01-A1",
        unit_id=1,
        title="A",
        description="",
        time_limit_minutes=60,
        mastery_percent=80,
        auto_items_per_criterion=1,
        extended_responses=0,
        updated_at=NOW,
    )


def _attempt(connection, n: int, centre_id, learner_ref, platform=None, sub=None) -> None:
    _insert(
        connection,
        "attempts",
        id=n,
        uuid=f"att-{n}",
        assessment_id=1,
        centre_id=centre_id,
        learner_ref=learner_ref,
        seed="s",
        status="submitted",
        opened_at=NOW,
        lti_platform_id=platform,
        lti_sub=sub,
    )


def test_0018_backfills_learners_identities_and_client_kinds(tmp_path):
    with isolated_database(tmp_path) as url:
        migrations.upgrade(url, "0017")
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                _content(connection)
                for centre in (1, 2):
                    _insert(
                        connection,
                        "centres",
                        id=centre,
                        uuid=f"cen-{centre}",
                        code=f"C{centre}",
                        name=f"Centre {centre}",
                        created_at=NOW,
                    )
                _attempt(connection, 1, 1, "ref-1")
                _attempt(connection, 2, 1, "ref-1")  # a second attempt: the same learner
                _attempt(connection, 3, 1, "lti:1:sub-a", platform=1, sub="sub-a")
                _attempt(connection, 4, 2, "ref-1")  # another centre's ref-1: another learner
                _attempt(connection, 5, None, "lti:2:sub-b", platform=2, sub="sub-b")
                for n, ref in ((1, "ref-1"), (2, "ref-2")):
                    _insert(
                        connection,
                        "performance_evidence",
                        id=n,
                        uuid=f"pe-{n}",
                        centre_id=1,
                        learner_ref=ref,
                        criterion_id=1,
                        criterion_version_id=1,
                        evidence_type="observation",
                        evidenced_on=date(2026, 10, 1),
                        description="d",
                        decision="met",
                        assessor="client:x",
                        created_at=NOW,
                    )
                _insert(
                    connection,
                    "access_arrangements",
                    id=1,
                    uuid="aa-1",
                    centre_id=2,
                    learner_ref="ref-3",
                    rest_breaks=True,
                    set_by_kind="api_client",
                    set_by="client:x",
                    set_at=NOW,
                )
                _insert(
                    connection,
                    "oauth_clients",
                    id=1,
                    client_id="centre-mis",
                    secret_hash="x",
                    name="MIS",
                    scopes="attempts:read attempts:write",
                    centre_id=1,
                    created_at=NOW,
                )
                _insert(
                    connection,
                    "oauth_clients",
                    id=2,
                    client_id="ab",
                    secret_hash="x",
                    name="AB",
                    scopes="content:read reports:read",
                    centre_id=None,
                    created_at=NOW,
                )
            migrations.upgrade(url, "0018")
            with engine.connect() as connection:
                identities = connection.execute(
                    text(
                        "SELECT i.centre_id, i.learner_ref, i.lti_platform_id, i.lti_sub, "
                        "l.centre_id, l.reference FROM learner_identities i "
                        "JOIN learners l ON l.id = i.learner_id ORDER BY i.learner_ref, i.centre_id"
                    )
                ).all()
                learners = connection.scalar(text("SELECT count(*) FROM learners"))
                unmatched = connection.scalar(
                    text(
                        "SELECT count(*) FROM (SELECT centre_id, learner_ref FROM attempts "
                        "UNION SELECT centre_id, learner_ref FROM performance_evidence "
                        "UNION SELECT centre_id, learner_ref FROM access_arrangements) r "
                        "WHERE NOT EXISTS (SELECT 1 FROM learner_identities i WHERE "
                        "coalesce(i.centre_id, 0) = coalesce(r.centre_id, 0) "
                        "AND i.learner_ref = r.learner_ref)"
                    )
                )
                clients = dict(
                    connection.execute(
                        text("SELECT client_id, kind || ' ' || scopes FROM oauth_clients")
                    ).all()
                )
        finally:
            engine.dispose()
    assert sorted((tuple(row) for row in identities), key=repr) == sorted(
        [
            (1, "lti:1:sub-a", 1, "sub-a", 1, None),
            (None, "lti:2:sub-b", 2, "sub-b", None, None),
            (1, "ref-1", None, None, 1, "ref-1"),
            (2, "ref-1", None, None, 2, "ref-1"),
            (1, "ref-2", None, None, 1, "ref-2"),
            (2, "ref-3", None, None, 2, "ref-3"),
        ],
        key=repr,
    )
    assert learners == 6 and unmatched == 0
    assert clients == {
        "centre-mis": "centre attempts:read attempts:write evidence:write results:read",
        "ab": "awarding_body content:read coverage:read",
    }
