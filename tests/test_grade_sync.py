"""What each submit and marking decision queues for the course's gradebook (the outbox rows
lti/grade_sync.py writes in the grading's own transaction). The worker that sends them is
tested in tests/test_passback_worker.py."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from lti import dev_platform, grade_sync, resource_links
from lti.ags import ActivityProgress, GradingProgress
from lti.gradebook_vocabulary import CanvasCriteria, DeliveryStatus, LineItemTag
from lti.models import LtiDeployment, LtiLineItem, LtiResourceLink, ScoreDelivery
from service import attempt_access, attempts, bank, db
from service.grading.scoring import EXTENDED
from service.grading.vocabulary import AttemptStatus, Decision
from tests import lti_flow
from tests.test_lti_pages import _keyed_response

ASSESSMENT = "CSC-01-A1"
SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
_subs = itertools.count(1)


def _claims(product="moodle", link="gs-link-1", scopes=None):
    claims = dev_platform.id_token_claims(
        lti_flow.BASE,
        "learner-1",
        "LtiResourceLinkRequest",
        "n",
        custom={"assessment": ASSESSMENT},
        resource_link_id=link,
    )
    claims["https://purl.imsglobal.org/spec/lti/claim/tool_platform"]["product_family_code"] = (
        product
    )
    if scopes is not None:
        claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]["scope"] = scopes
    return claims


def _submitted(session, link: LtiResourceLink, now: datetime):
    """A learner of the link who answered every item as keyed and submitted."""
    platform = link.platform
    learner = attempt_access.lti_learner(platform, f"gs-learner-{next(_subs)}")
    assessment = bank.get_assessment(session, ASSESSMENT)
    attempt = attempts.start_attempt(session, assessment, learner, now, resource_link_id=link.id)
    bodies = {item.code: version.body for item, version in attempts.form_items(session, attempt)}
    attempts.submit(session, attempt, {c: _keyed_response(b) for c, b in bodies.items()}, now)
    return attempt


def _rows(session, attempt):
    return session.scalars(
        select(ScoreDelivery)
        .where(ScoreDelivery.attempt_id == attempt.id)
        .order_by(ScoreDelivery.id)
    ).all()


@pytest.fixture()
def session(app):
    with app.app_context():
        lti_flow.register(app)
        yield db.session()
        db.session().rollback()


def _link(session, **kwargs):
    platform = dev_platform.ensure_registered(session, lti_flow.BASE)
    return resource_links.remember(session, platform, _claims(**kwargs))


def test_submit_queues_pending_manual_grade_and_the_auto_marked_criteria(session):
    now = datetime(2026, 11, 28, 9, 0, 0, 250000, tzinfo=UTC)
    link = _link(session)
    attempt = _submitted(session, link, now)
    assert attempt.status == AttemptStatus.PENDING_MANUAL
    rows = _rows(session, attempt)
    grade = rows[0]
    assert grade.line_item.tag == LineItemTag.ASSESSMENT
    # The link's own line item (from the launch's AGS claim) is used, not a new one.
    assert grade.line_item.url == link.ags_lineitem
    assert (grade.activity_progress, grade.grading_progress) == (
        ActivityProgress.SUBMITTED,
        GradingProgress.PENDING_MANUAL,
    )
    assert grade.score_maximum == 100 and grade.score_given == round(attempt.percent, 2)
    assert "Awaiting an assessor:" in grade.comment and "Criteria met:" in grade.comment
    decisions = {d.criterion_code: d.decision for d in attempt.decision_rows}
    criterion_rows = {r.line_item.resource_id: r for r in rows[1:]}
    # One column per decided criterion; nothing for the ones awaiting the assessor.
    assert set(criterion_rows) == {
        code for code, d in decisions.items() if d in (Decision.MET, Decision.NOT_YET_MET)
    }
    assert Decision.PENDING in decisions.values()
    for code, row in criterion_rows.items():
        assert row.line_item.tag == LineItemTag.CRITERION
        assert row.line_item.label.startswith(code + " ")
        assert row.line_item.url is None  # found or created by the worker
        assert row.score_given == (1.0 if decisions[code] == Decision.MET else 0.0)
        assert row.grading_progress == GradingProgress.FULLY_GRADED
    assert {r.status for r in rows} == {DeliveryStatus.PENDING}
    assert {r.user_sub for r in rows} == {attempt.lti_sub}


def test_marking_queues_fully_graded_later_and_supersedes_what_was_not_sent(session):
    now = datetime(2026, 11, 28, 9, 0, 0, 900000, tzinfo=UTC)
    link = _link(session)
    attempt = _submitted(session, link, now)
    first = {r.line_item_id: r for r in _rows(session, attempt)}
    keys = attempts._keys(session, attempt)
    extended = [k for k in keys if k.type == EXTENDED]
    marked_at = now + timedelta(milliseconds=200)  # the same second as the submit
    for key in extended:
        attempts.mark(session, attempt, key.id, dict.fromkeys(key.criteria, "met"), marked_at)
    assert attempt.status == AttemptStatus.FULLY_GRADED
    latest = {}
    for row in _rows(session, attempt):
        latest[row.line_item_id] = row
    grade = latest[next(i for i, r in first.items() if r.line_item.tag == LineItemTag.ASSESSMENT)]
    assert (grade.activity_progress, grade.grading_progress) == (
        ActivityProgress.COMPLETED,
        GradingProgress.FULLY_GRADED,
    )
    assert "Awaiting an assessor" not in grade.comment
    # The unsent submit-time state is replaced, never sent.
    old_grade = first[grade.line_item_id]
    session.refresh(old_grade)
    assert old_grade.status == DeliveryStatus.SUPERSEDED
    # Moodle compares whole seconds: the later state is at least a second later.
    assert grade.timestamp >= old_grade.timestamp + timedelta(seconds=1)
    assert int(grade.timestamp.timestamp()) > int(old_grade.timestamp.timestamp())
    # The criteria the marks decided now have columns too.
    marked = {c for key in extended for c in key.criteria}
    columns = {
        r.line_item.resource_id for r in latest.values() if r.line_item.tag == LineItemTag.CRITERION
    }
    assert marked <= columns
    # A criterion whose decision did not change is not queued again.
    unchanged = [r for i, r in first.items() if r.line_item.tag == LineItemTag.CRITERION]
    for row in unchanged:
        assert latest[row.line_item_id].id == row.id


def test_timestamps_strictly_increase_even_when_the_clock_does_not():
    moment = datetime(2026, 11, 28, 9, 0, 0, tzinfo=UTC)
    assert grade_sync.next_timestamp(moment, None) == moment
    assert grade_sync.next_timestamp(moment, moment) == moment + timedelta(seconds=1)
    later = moment + timedelta(seconds=5)
    assert grade_sync.next_timestamp(later, moment) == later
    assert grade_sync.next_timestamp(moment, later) == later + timedelta(seconds=1)


def test_no_score_scope_queues_nothing(session):
    link = _link(session, link="gs-no-score", scopes=[])
    attempt = _submitted(session, link, datetime.now(UTC))
    assert attempt.status == AttemptStatus.PENDING_MANUAL and _rows(session, attempt) == []


def test_without_line_item_scope_the_grade_carries_the_criteria_as_comment_only(session):
    link = _link(session, link="gs-score-only", scopes=[SCORE])
    attempt = _submitted(session, link, datetime.now(UTC))
    rows = _rows(session, attempt)
    assert [r.line_item.tag for r in rows] == [LineItemTag.ASSESSMENT]
    assert "Criteria met:" in rows[0].comment


def test_canvas_gets_criterion_columns_only_when_the_deployment_chose_assignments(session):
    link = _link(session, product="canvas", link="gs-canvas")
    attempt = _submitted(session, link, datetime.now(UTC))
    assert [r.line_item.tag for r in _rows(session, attempt)] == [LineItemTag.ASSESSMENT]
    deployment = session.scalar(
        select(LtiDeployment).where(LtiDeployment.platform_id == link.platform_id)
    )
    deployment.canvas_criteria = CanvasCriteria.ASSIGNMENTS
    session.flush()
    other = _submitted(session, link, datetime.now(UTC))
    assert LineItemTag.CRITERION in {r.line_item.tag for r in _rows(session, other)}


def test_attempts_started_by_the_api_queue_nothing(session):
    platform = dev_platform.ensure_registered(session, lti_flow.BASE)
    learner = attempt_access.lti_learner(platform, "gs-api-learner")
    assessment = bank.get_assessment(session, ASSESSMENT)
    attempt = attempts.start_attempt(session, assessment, learner)
    attempts.submit(session, attempt)
    assert _rows(session, attempt) == []


def test_line_items_are_one_row_per_link_and_resource(session):
    link = _link(session, link="gs-shared")
    now = datetime.now(UTC)
    _submitted(session, link, now)
    _submitted(session, link, now)
    items = session.scalars(
        select(LtiLineItem).where(LtiLineItem.resource_link_pk == link.id)
    ).all()
    resource_ids = [i.resource_id for i in items]
    assert len(resource_ids) == len(set(resource_ids)) and ASSESSMENT in resource_ids


def test_a_launch_updates_its_resource_link_and_a_deep_link_request_has_none(session):
    platform = dev_platform.ensure_registered(session, lti_flow.BASE)
    link = resource_links.remember(session, platform, _claims(link="gs-moves"))
    assert link.product_family == "moodle" and SCORE in link.scopes
    moved = _claims(link="gs-moves", scopes=[SCORE])
    again = resource_links.remember(session, platform, moved)
    assert again.id == link.id
    session.refresh(again)
    assert again.scopes == (SCORE,)
    deep = dev_platform.id_token_claims(lti_flow.BASE, "instructor-1", "LtiDeepLinkingRequest", "n")
    assert resource_links.remember(session, platform, deep) is None


def test_coverage_comment_words():
    outcomes = [
        grade_sync.CriterionOutcome("A.1", "t", Decision.MET),
        grade_sync.CriterionOutcome("A.2", "t", Decision.NOT_YET_MET, comment="Name the policy."),
        grade_sync.CriterionOutcome("A.3", "t", Decision.PENDING),
    ]
    assert grade_sync.coverage_comment(outcomes, "Well done overall.") == (
        "Criteria met: A.1.\nCriteria not yet met: A.2.\nAwaiting an assessor: A.3.\n"
        "A.2: Name the policy.\nWell done overall."
    )
    assert grade_sync.criterion_label("A.1", "x " * 100).endswith("\u2026")
    assert len(grade_sync.criterion_label("A.1", "x " * 100)) <= 64
