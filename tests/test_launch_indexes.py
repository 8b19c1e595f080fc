"""Every hot query of the launch path uses the index it needs, on both databases: the query
plans are read (SQLite's EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN with sequential scans
turned off, as the test tables are too small for the planner to prefer an index)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from lti.models import LtiLoginState, LtiNonce
from service import db
from service.attempt_access import Learner, latest_attempt_query
from tests.conftest import on_postgres


def _plan(session, query) -> str:
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if on_postgres():
        session.execute(text("SET LOCAL enable_seqscan = off"))
        rows = session.execute(text(f"EXPLAIN {compiled}")).all()
        return "\n".join(r[0] for r in rows)
    rows = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    return "\n".join(str(r[-1]) for r in rows)


def _sweep(model):
    """The query of lti/housekeeping.py's sweep_expired."""
    return (
        select(model.id)
        .where(model.platform_id == 1, model.expires_at < datetime(2026, 1, 1, tzinfo=UTC))
        .order_by(model.id)
        .limit(100)
    )


@pytest.mark.parametrize(
    ("query", "indexes"),
    [
        pytest.param(
            latest_attempt_query(1, Learner("lti:1:someone", None)),
            # Either finds the learner's own attempts; what must not happen is reading every
            # attempt of the assessment (ix_attempts_assessment_id alone). Which of the two a
            # planner picks on the suite's small tables is its own affair.
            ("ix_attempts_assessment_learner", "ix_attempts_learner_ref"),
            id="the learner's latest attempt",
        ),
        pytest.param(
            _sweep(LtiLoginState),
            ("ix_lti_login_states_platform_expires",),
            id="login state sweep",
        ),
        pytest.param(_sweep(LtiNonce), ("ix_lti_nonces_platform_expires",), id="nonce sweep"),
    ],
)
def test_the_hot_query_uses_its_index(app, query, indexes):
    with app.app_context():
        session = db.session()
        try:
            plan = _plan(session, query)
        finally:
            session.rollback()
    assert any(index in plan for index in indexes), plan
