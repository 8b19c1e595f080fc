"""Sampling plans, verdicts and assessor consistency through the API, on real marks and
performance evidence made by the domain functions a centre's work goes through."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from service import attempt_clock, attempts, db, performance_evidence
from service.attempt_access import Learner as LearnerRef
from service.audit_vocabulary import AuditAction
from service.bank import keys_for
from service.demo import _answer, _right, _wrong
from service.grading.scoring import EXTENDED
from service.grading.vocabulary import RubricLevel
from service.models import Assessment, AuditEvent, Unit, utcnow
from service.unit_status import performance_codes
from tests.conftest import bearer, ensure_centre

OLD = "client:assessor-old"
NEW = "client:assessor-new"
SECOND = "client:iqa"
CONSISTENCY = "/api/v1/assessor-consistency"
PLANS = "/api/v1/sampling-plans"


def _sit(session, assessment, who, assessor, days_ago, level, auto_right=True, overturn=None):
    """One learner sits `assessment` `days_ago`; `assessor` gives every criterion of every
    extended response `level`; `overturn` (an assessor) then flips the first criterion."""
    now = utcnow() - timedelta(days=days_ago)
    attempt = attempts.start_attempt(session, assessment, who, now=now, start_clock=False)
    attempt_clock.start(session, attempt, now)
    keys = {k.id: k for k in keys_for(session, assessment.unit_id)}
    rng = random.Random(1)
    responses = {
        item["item"]: _answer(keys[item["item"]], 1.0, rng)
        if keys[item["item"]].type == EXTENDED
        else (_right(keys[item["item"]]) if auto_right else _wrong(keys[item["item"]], rng))
        for item in attempt.form
    }
    attempts.submit(session, attempt, responses, now + timedelta(minutes=20))
    for item in attempt.form:
        key = keys[item["item"]]
        if key.type != EXTENDED:
            continue
        levels = {c: level for c in key.criteria}
        attempts.mark(session, attempt, key.id, levels, now + timedelta(hours=1), assessor)
        if overturn:
            first = sorted(levels)[0]
            other = RubricLevel.NOT_YET_MET if level == RubricLevel.MET else RubricLevel.MET
            flipped = levels | {first: other}
            attempts.mark(session, attempt, key.id, flipped, now + timedelta(hours=2), overturn)
            overturn = None
    return attempt


def make_centre(app, with_evidence=True) -> str:
    """A centre with an experienced assessor's marks spread over a year, a new assessor's few
    recent marks, one overturned decision and (optionally) performance evidence."""
    code = f"S{uuid.uuid4().hex[:8]}"
    with app.app_context():
        session = db.session()
        centre = ensure_centre(session, code)
        unit = session.scalar(select(Unit).order_by(Unit.code))
        assessment = session.scalar(select(Assessment).where(Assessment.unit_id == unit.id))
        for n in range(6):
            who = LearnerRef(f"{code}-L{n}", centre.id)
            _sit(session, assessment, who, OLD, 400 - n * 50, RubricLevel.MET)
        _sit(
            session,
            assessment,
            LearnerRef(f"{code}-L6", centre.id),
            OLD,
            30,
            RubricLevel.MET,
            overturn=SECOND,
        )
        _sit(
            session,
            assessment,
            LearnerRef(f"{code}-L7", centre.id),
            NEW,
            5,
            RubricLevel.MET,
            auto_right=False,
        )
        if with_evidence:
            for criterion in performance_codes(unit)[:2]:
                performance_evidence.record(
                    session,
                    LearnerRef(f"{code}-L0", centre.id),
                    performance_evidence.NewRecord(
                        criterion=criterion,
                        evidence_type="observation",
                        evidenced_on=date.today() - timedelta(days=10),
                        description="Observed at the service desk.",
                        decision="met",
                        reference="Portfolio p.4",
                    ),
                    assessor=OLD,
                    today=date.today(),
                )
        session.commit()
    return code


@pytest.fixture(scope="module")
def centres(app):
    return make_centre(app), make_centre(app, with_evidence=False)


def _plan(client, headers, centre, size=5, seed="visit-1", kind="summative", **extra):
    return client.post(
        "/api/v1/sampling-plans",
        json={"centre": centre, "kind": kind, "size": size, "seed": seed, **extra},
        headers=headers,
    )


def _status(response) -> int:
    return response.status_code


def _picked(plan):
    return [
        (d["source"], d["learner_ref"], d["attempt_id"], d["item"], d["criterion"], d["reasons"])
        for d in plan["decisions"]
    ]


def test_same_seed_same_sample_and_seed_generated(app, client, centres):
    mine, _ = centres
    eqa = bearer(app, ["sampling:write", "coverage:read"], eqa_of=(mine,))
    first = _plan(client, eqa, mine, size=6)
    assert first.status_code == 201, first.get_json()
    second = _plan(client, eqa, mine, size=6)
    assert _picked(first.get_json()) == _picked(second.get_json())
    assert len(first.get_json()["decisions"]) == 6
    assert [d["n"] for d in first.get_json()["decisions"]] == list(range(1, 7))

    unseeded = client.post(
        "/api/v1/sampling-plans",
        json={"centre": mine, "kind": "summative", "size": 6},
        headers=eqa,
    ).get_json()
    assert unseeded["seed"]
    again = _plan(client, eqa, mine, size=6, seed=unseeded["seed"]).get_json()
    assert _picked(again) == _picked(unseeded)


def test_new_assessor_overturned_and_evidence_sampled_with_reasons(app, client, centres):
    mine, _ = centres
    eqa = bearer(app, ["sampling:write", "coverage:read"], eqa_of=(mine,))
    for seed in ("a", "b", "c"):
        plan = _plan(client, eqa, mine, size=3, seed=seed).get_json()
        rows = plan["decisions"]
        assert len(rows) == 3
        overturned = [r for r in rows if "overturned" in r["reasons"]]
        assert len(overturned) == 1
        assert overturned[0]["reasons"][0] == "overturned"
        assert overturned[0]["learner_ref"] == f"{mine}-L6"
        assert overturned[0]["assessor"] == SECOND
        new = [r for r in rows if r["assessor"] == NEW]
        assert new and "new_assessor" in new[0]["reasons"]
        assert OLD in {r["assessor"] for r in rows}
    # Large enough for coverage: performance evidence (its own method) is in.
    plan = _plan(client, eqa, mine, size=8, seed="d").get_json()
    evidence = [r for r in plan["decisions"] if r["source"] == "performance_evidence"]
    assert evidence and evidence[0]["method"] == "observation"
    assert evidence[0]["performance_evidence_id"]


def test_unit_filter_and_unknown_unit(app, client, centres):
    mine, _ = centres
    eqa = bearer(app, ["sampling:write", "coverage:read"], eqa_of=(mine,))
    with app.app_context():
        units = db.session().scalars(select(Unit.code).order_by(Unit.code)).all()
    assert _plan(client, eqa, mine, unit=units[0]).status_code == 201
    nothing = _plan(client, eqa, mine, unit=units[1])
    assert nothing.status_code == 422
    assert "no assessor decisions" in nothing.get_json()["message"]
    unknown = _plan(client, eqa, mine, unit="NOPE-9")
    assert unknown.status_code == 422
    assert "unit" in unknown.get_json()["details"]
    bad = client.post(
        "/api/v1/sampling-plans", json={"centre": mine, "kind": "yearly", "size": 0}, headers=eqa
    )
    assert bad.status_code == 422
    assert {"kind", "size"} <= set(bad.get_json()["details"])


def test_interim_skips_what_earlier_plans_sampled(app, client):
    mine = make_centre(app)
    eqa = bearer(app, ["sampling:write", "coverage:read"], eqa_of=(mine,))
    everything = _plan(client, eqa, mine, size=500, kind="interim").get_json()
    assert len(everything["decisions"]) > 10
    again = _plan(client, eqa, mine, size=5, kind="interim")
    assert again.status_code == 422
    assert "earlier plan" in again.get_json()["message"]
    assert _plan(client, eqa, mine, size=5, kind="summative").status_code == 201


def test_tenancy(app, client, centres):
    mine, theirs = centres
    eqa = bearer(app, ["sampling:write", "coverage:read"], eqa_of=(mine,))
    plan = _plan(client, eqa, mine).get_json()
    other_plan = _plan(client, bearer(app, ["sampling:write"]), theirs).get_json()
    path = f"{PLANS}/{plan['id']}"

    unassigned = bearer(app, ["sampling:write", "coverage:read"], eqa_of=(theirs,))
    assert _plan(client, unassigned, mine).status_code == 404
    assert _status(client.get(path, headers=unassigned)) == 404
    verdict = {"verdict": "agree"}
    assert (
        _status(client.put(f"{path}/decisions/1/verdict", json=verdict, headers=unassigned)) == 404
    )
    listed = client.get("/api/v1/sampling-plans", headers=unassigned).get_json()
    assert plan["id"] not in {p["id"] for p in listed}
    assert _status(client.get(f"{PLANS}?centre={mine}", headers=unassigned)) == 404

    # A centre reads its own plans (and their verdicts), never another's, and builds none.
    centre = bearer(app, ["coverage:read"], centre_code=mine)
    assert client.get(path, headers=centre).get_json()["id"] == plan["id"]
    assert _status(client.get(f"{PLANS}/{other_plan['id']}", headers=centre)) == 404
    assert _plan(client, centre, mine).status_code == 403
    assert _status(client.put(f"{path}/decisions/1/verdict", json=verdict, headers=centre)) == 403
    listed = client.get("/api/v1/sampling-plans", headers=centre).get_json()
    assert {p["centre"] for p in listed} == {mine}

    # Wrong scope; and the awarding body sees every centre.
    assert _status(client.get(path, headers=bearer(app, ["results:read"], eqa_of=(mine,)))) == 403
    body = bearer(app, ["coverage:read"])
    assert _status(client.get(f"{PLANS}/{other_plan['id']}", headers=body)) == 200
    assert _status(client.get(f"{path}/nope", headers=eqa)) == 404
    assert _status(client.get("/api/v1/sampling-plans/nope", headers=eqa)) == 404


def test_verdicts_validated_kept_and_audited(app, client, centres):
    mine, _ = centres
    eqa = bearer(app, ["sampling:write", "coverage:read"], eqa_of=(mine,))
    plan = _plan(client, eqa, mine, size=3).get_json()
    url = f"{PLANS}/{plan['id']}/decisions/1/verdict"

    for body, field in (
        ({"verdict": "disagree"}, "reason"),
        ({"verdict": "disagree", "reason": "   "}, "reason"),
        ({"verdict": "action"}, "action"),
        ({"verdict": "maybe"}, "verdict"),
        ({}, "verdict"),
    ):
        refused = client.put(url, json=body, headers=eqa)
        assert refused.status_code == 422, body
        assert field in refused.get_json()["details"]
    missing = client.put(
        f"{PLANS}/{plan['id']}/decisions/99/verdict",
        json={"verdict": "agree"},
        headers=eqa,
    )
    assert missing.status_code == 404
    assert (
        client.get(f"{PLANS}/{plan['id']}", headers=eqa).get_json()["decisions"][0]["history"] == []
    )

    agreed = client.put(url, json={"verdict": "agree"}, headers=eqa)
    assert agreed.status_code == 200
    assert agreed.get_json()["verdict"]["verdict"] == "agree"
    reason = "No evidence the learner checked the customer's need."
    disagreed = client.put(url, json={"verdict": "disagree", "reason": reason}, headers=eqa)
    repeated = client.put(url, json={"verdict": "disagree", "reason": reason}, headers=eqa)
    assert repeated.get_json() == disagreed.get_json()
    action = "Re-assess with the learner."
    client.put(url, json={"verdict": "action", "action": action}, headers=eqa)

    row = client.get(f"{PLANS}/{plan['id']}", headers=eqa).get_json()["decisions"][0]
    assert [v["verdict"] for v in row["history"]] == ["agree", "disagree", "action"]
    assert row["history"][1]["reason"] == reason
    assert row["verdict"]["action"] == action
    assert all(v["given_by"].startswith("client:") and v["given_at"] for v in row["history"])
    # The centre sees the verdicts on its plan.
    centre = bearer(app, ["coverage:read"], centre_code=mine)
    seen = client.get(f"{PLANS}/{plan['id']}", headers=centre).get_json()
    assert seen["decisions"][0]["verdict"]["action"] == action

    with app.app_context():
        audited = db.session().scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == AuditAction.VERDICT,
                AuditEvent.subject == f"sampling-plan:{plan['id']}/1",
                AuditEvent.learner_id.is_not(None),
            )
        )
    assert audited == 3  # the repeat recorded nothing


def test_assessor_consistency(app, client, centres):
    mine, theirs = centres
    eqa = bearer(app, ["sampling:write", "coverage:read"], eqa_of=(mine,))
    plan = _plan(client, eqa, mine, size=3, seed="consistency").get_json()
    for row in plan["decisions"]:
        verdict = (
            {"verdict": "disagree", "reason": "Not met."}
            if row["assessor"] == NEW
            else {"verdict": "agree"}
        )
        url = f"{PLANS}/{plan['id']}/decisions/{row['n']}/verdict"
        assert _status(client.put(url, json=verdict, headers=eqa)) == 200

    answer = client.get(f"{CONSISTENCY}?centre={mine}", headers=eqa)
    assert answer.status_code == 200
    report = answer.get_json()
    by = {a["assessor"]: a for a in report["assessors"]}
    # The new assessor judged met what the auto-scored answers (all wrong) had not mastered.
    assert by[NEW]["compared_with_auto"] > 0
    assert by[NEW]["met_but_auto_below_mastery"] == by[NEW]["compared_with_auto"]
    assert by[NEW]["auto_agreement_rate"] == 0
    assert by[NEW]["verdicts"]["disagree"] >= 1 and by[NEW]["verdict_agree_rate"] == 0
    # The experienced assessor's met agrees with mastered auto evidence.
    assert by[OLD]["agree_with_auto"] == by[OLD]["compared_with_auto"] > 0
    assert by[OLD]["verdict_agree_rate"] in (None, 1.0)
    # Per criterion, the same rubric levels as per assessor. A criterion with none is listed
    # only for a verdict on performance evidence the plan sampled (the plan's draw depends on
    # the centre's random ids: it samples such a record about one run in ten).
    criteria = report["criteria"]
    assert criteria
    assert sum(c["manual_decisions"] for c in criteria) == sum(
        a["manual_decisions"] for a in report["assessors"]
    )
    evidence_only = {
        row["criterion"] for row in plan["decisions"] if row["performance_evidence_id"] is not None
    }
    for row in criteria:
        if not row["manual_decisions"]:
            assert row["criterion"] in evidence_only, row
            assert sum(row["verdicts"].values()) >= 1, row

    assert _status(client.get(f"{CONSISTENCY}?centre={theirs}", headers=eqa)) == 404
    centre = bearer(app, ["coverage:read"], centre_code=mine)
    assert _status(client.get(f"{CONSISTENCY}?centre={mine}", headers=centre)) == 200
    assert _status(client.get(f"{CONSISTENCY}?centre={theirs}", headers=centre)) == 404
    assert _status(client.get(CONSISTENCY, headers=centre)) == 422


def test_course_filter(app, client):
    from lti.models import LtiPlatform, LtiResourceLink
    from service.models import Attempt

    mine = make_centre(app)
    with app.app_context():
        session = db.session()
        platform = LtiPlatform(
            name="LMS",
            issuer=f"https://{mine}.example",
            client_id="tool",
            auth_login_url="https://lms.example/auth",
            auth_token_url="https://lms.example/token",
            key_set_url="https://lms.example/jwks",
        )
        session.add(platform)
        session.flush()
        link = LtiResourceLink(
            platform_id=platform.id, deployment_id="1", resource_link_id="r1", context_id="course-A"
        )
        session.add(link)
        session.flush()
        for attempt in session.scalars(select(Attempt).where(Attempt.learner_ref == f"{mine}-L7")):
            attempt.lti_resource_link_id = link.id
        session.commit()
    eqa = bearer(app, ["sampling:write", "coverage:read"], eqa_of=(mine,))
    plan = _plan(client, eqa, mine, size=50, course="course-A").get_json()
    assert plan["course"] == "course-A"
    assert plan["decisions"]
    assert {d["learner_ref"] for d in plan["decisions"]} == {f"{mine}-L7"}
    assert {d["source"] for d in plan["decisions"]} == {"assessor_mark"}
    assert _plan(client, eqa, mine, course="course-B").status_code == 422


def test_assessor_consistency_csv(app, client, centres):
    import csv
    import io

    mine, _ = centres
    eqa = bearer(app, ["coverage:read"], eqa_of=(mine,))
    as_json = client.get(f"{CONSISTENCY}?centre={mine}", headers=eqa).get_json()
    for answer in (
        client.get(f"{CONSISTENCY}?centre={mine}&format=csv", headers=eqa),
        client.get(f"{CONSISTENCY}?centre={mine}", headers={**eqa, "Accept": "text/csv"}),
    ):
        assert answer.status_code == 200
        assert answer.mimetype == "text/csv"
        rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
        assessors = {r["name"]: r for r in rows if r["kind"] == "assessor"}
        assert set(assessors) == {a["assessor"] for a in as_json["assessors"]}
        new = next(a for a in as_json["assessors"] if a["assessor"] == NEW)
        assert (
            int(assessors[NEW]["met_but_auto_below_mastery"]) == new["met_but_auto_below_mastery"]
        )
        assert len([r for r in rows if r["kind"] == "criterion"]) == len(as_json["criteria"])
    assert _status(client.get(f"{CONSISTENCY}?centre={mine}&format=xml", headers=eqa)) == 422


def test_corrected_evidence_is_overturned_and_erasure_reaches_plans(app, client):
    from service import learner_privacy
    from service.models import Learner, LearnerIdentity, PerformanceEvidence

    mine = make_centre(app)
    with app.app_context():
        session = db.session()
        record = session.scalar(
            select(PerformanceEvidence)
            .where(PerformanceEvidence.learner_ref == f"{mine}-L0")
            .order_by(PerformanceEvidence.id)
        )
        corrected = performance_evidence.record(
            session,
            LearnerRef(record.learner_ref, record.centre_id),
            performance_evidence.NewRecord(
                criterion=record.criterion.code,
                evidence_type="witness_testimony",
                evidenced_on=date.today() - timedelta(days=2),
                description="The witness statement does not show the complaint resolved.",
                decision="not_yet_met",
                reference="Portfolio p.9",
                supersedes=record.uuid,
            ),
            assessor=NEW,
            today=date.today(),
        )
        corrected_id = corrected.uuid
        session.commit()
    eqa = bearer(app, ["sampling:write", "coverage:read"], eqa_of=(mine,))
    plan = _plan(client, eqa, mine, size=2, seed="x").get_json()
    rows = {r["performance_evidence_id"]: r for r in plan["decisions"]}
    assert corrected_id in rows
    assert rows[corrected_id]["reasons"][0] == "overturned"
    assert rows[corrected_id]["decision"] == "not_yet_met"
    # The superseded record is no longer a decision that can be sampled.
    everything = _plan(client, eqa, mine, size=500, seed="y").get_json()
    assert record.uuid not in {r["performance_evidence_id"] for r in everything["decisions"]}

    with app.app_context():
        session = db.session()
        learner = session.scalar(
            select(Learner)
            .join(LearnerIdentity, LearnerIdentity.learner_id == Learner.id)
            .where(LearnerIdentity.learner_ref == f"{mine}-L0")
        )
        learner_privacy.pseudonymise(session, learner, "test")
        session.commit()
    again = client.get(f"{PLANS}/{everything['id']}", headers=eqa).get_json()
    refs = {r["learner_ref"] for r in again["decisions"]}
    assert f"{mine}-L0" not in refs
    assert any(ref.startswith("erased:") for ref in refs)
