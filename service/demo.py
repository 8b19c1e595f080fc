"""The newcomer's demo on the embedded default: two centres with learners who have sat every
unit's assessment (auto-scored, marked by assessors, with performance evidence), an external
verifier assigned to one centre, and an API client for each, so every endpoint answers with
something at once. `assessment demo create` (run by scripts/serve.sh on the embedded default).

Everything goes through the domain functions a real centre's work goes through (start, save,
submit, mark, record evidence), so the demo's results are the grading model's own. The names
are invented. The data is made once; the clients' secrets are new on every run (a secret is
shown only once), written to the credentials file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import attempt_clock, attempts, learners, performance_evidence
from service.attempt_access import Learner as LearnerRef
from service.auth import create_client
from service.bank import keys_for
from service.client_vocabulary import KIND_SCOPES, ClientKind
from service.grading.scoring import EXTENDED
from service.grading.vocabulary import Decision, EvidenceType, RubricLevel
from service.identifiers import new_uuid
from service.models import Assessment, Centre, EqaAssignment, Learner, OAuthClient, Unit, utcnow
from service.unit_status import performance_codes

DEMO_PREFIX = "Demo: "


@dataclass(frozen=True)
class DemoCentre:
    key: str  # the centre client's key in the credentials file
    code: str
    name: str
    learners: tuple[tuple[str, str, float], ...]  # reference, invented name, strength 0..1


CENTRES = (
    DemoCentre(
        "northgate",
        "DEMO-NGC",
        "Northgate College (demo)",
        (
            ("NGC-0001", "Amara Okafor", 0.95),
            ("NGC-0002", "Ben Hartley", 0.75),
            ("NGC-0003", "Chloe Nguyen", 0.55),
            ("NGC-0004", "Dev Malhotra", 0.3),
        ),
    ),
    DemoCentre(
        "southbank",
        "DEMO-SBT",
        "Southbank Training (demo)",
        (
            ("SBT-0101", "Ella Brennan", 0.9),
            ("SBT-0102", "Finn O'Connor", 0.6),
            ("SBT-0103", "Grace Adeyemi", 0.4),
        ),
    ),
)
EQA_CENTRE = "DEMO-NGC"
ASSESSORS = ("demo-assessor:priya", "demo-assessor:tom")


def _right(key):
    """The keyed answer of an auto-scored item, in the bank's ids."""
    if key.type == "single_choice":
        return sorted(key.correct)[0]
    if key.type == "multiple_response":
        return sorted(key.correct)
    if key.type == "ordering":
        return list(key.order)
    if key.type == "matching":
        return dict(key.pairs)
    if key.type == "short_text":
        return key.accepted[0]
    return None


def _wrong(key, rng: random.Random):
    if key.type == "single_choice":
        return rng.choice([o for o in key.options if o not in key.correct] or list(key.options))
    if key.type == "multiple_response":
        return [o for o in key.options if o not in key.correct][:1] or list(key.options)
    if key.type == "ordering":
        return list(reversed(key.order))
    if key.type == "matching":
        return {p: key.responses[0] for p in key.options}
    return "not sure"


def _answer(key, strength: float, rng: random.Random):
    if key.type == EXTENDED:
        return (
            "I would listen to the customer without interrupting, apologise for the problem, "
            "check what they need, explain what I can do and by when, and follow it up."
        )
    return _right(key) if rng.random() < strength else _wrong(key, rng)


def _sit(
    session: Session,
    assessment: Assessment,
    who: LearnerRef,
    strength,
    assessor,
    rng,
    second_marker: str | None = None,
):
    """One learner sits the assessment: start, answer, submit, and the assessor marks. With
    `second_marker`, that assessor re-marks the first written answer and overturns a level (as
    internal quality assurance does), so verification has an overturned decision to sample."""
    now = utcnow() - timedelta(days=rng.randint(3, 40))
    attempt = attempts.start_attempt(session, assessment, who, now=now, start_clock=False)
    attempt_clock.start(session, attempt, now)
    keys = {k.id: k for k in keys_for(session, assessment.unit_id)}
    responses = {item["item"]: _answer(keys[item["item"]], strength, rng) for item in attempt.form}
    attempts.submit(session, attempt, responses, now + timedelta(minutes=25))
    for item in attempt.form:
        key = keys[item["item"]]
        if key.type != EXTENDED:
            continue
        levels = {
            c: RubricLevel.MET if rng.random() < strength else RubricLevel.NOT_YET_MET
            for c in key.criteria
        }
        marked_at = now + timedelta(days=1)
        attempts.mark(session, attempt, key.id, levels, marked_at, marked_by=assessor)
        if second_marker is not None:
            first = sorted(levels)[0]
            met = levels[first] == RubricLevel.MET
            flipped = levels | {first: RubricLevel.NOT_YET_MET if met else RubricLevel.MET}
            attempts.mark(
                session, attempt, key.id, flipped, marked_at + timedelta(days=2), second_marker
            )
            second_marker = None
    return attempt


def _performance(session: Session, unit: Unit, who: LearnerRef, strength, assessor, rng):
    today = date.today()
    types = list(EvidenceType)
    for code in performance_codes(unit):
        decision = Decision.MET if rng.random() < strength + 0.1 else Decision.NOT_YET_MET
        performance_evidence.record(
            session,
            who,
            performance_evidence.NewRecord(
                criterion=code,
                evidence_type=rng.choice(types).value,
                evidenced_on=today - timedelta(days=rng.randint(1, 60)),
                description="Observed with a customer at the service desk (demo record).",
                decision=decision.value,
                reference="Portfolio, demo",
            ),
            assessor=assessor,
            today=today,
        )


def _centre(session: Session, demo: DemoCentre) -> tuple[Centre, bool]:
    centre = session.scalar(select(Centre).where(Centre.code == demo.code))
    if centre is not None:
        return centre, False
    centre = Centre(uuid=new_uuid(), code=demo.code, name=demo.name)
    session.add(centre)
    session.flush()
    return centre, True


def create_data(session: Session) -> bool:
    """Make the centres, learners, attempts and evidence unless they exist. True if made.
    The caller commits."""
    rng = random.Random(2026)
    units = session.scalars(select(Unit).order_by(Unit.code)).all()
    made = False
    for demo in CENTRES:
        centre, new = _centre(session, demo)
        if not new:
            continue
        made = True
        for n, (reference, name, strength) in enumerate(demo.learners):
            who = LearnerRef(reference, centre.id)
            learner = session.get(Learner, learners.identify(session, who))
            learner.name = name
            assessor = ASSESSORS[n % len(ASSESSORS)]
            for unit in units:
                for assessment in session.scalars(
                    select(Assessment).where(Assessment.unit_id == unit.id)
                ):
                    # Each centre's second learner's work is second-marked in one unit.
                    overturn = ASSESSORS[(n + 1) % len(ASSESSORS)] if n == 1 else None
                    if unit.code != units[0].code:
                        overturn = None
                    _sit(session, assessment, who, strength, assessor, rng, overturn)
                _performance(session, unit, who, strength, assessor, rng)
    return made


def _client_specs(session: Session) -> list[tuple[str, str, ClientKind, Centre | None, list]]:
    """(key, name, kind, centre, scopes): the key names the client in the credentials file and
    for scripts/demo-token.sh."""
    centres = {c.code: c for c in session.scalars(select(Centre))}
    specs = [
        (
            d.key,
            f"{d.name} centre client",
            ClientKind.CENTRE,
            centres[d.code],
            KIND_SCOPES[ClientKind.CENTRE],
        )
        for d in CENTRES
    ]
    specs.append(("eqa", "External verifier", ClientKind.EQA, None, KIND_SCOPES[ClientKind.EQA]))
    specs.append(
        (
            "admin",
            "Awarding body administrator",
            ClientKind.AWARDING_BODY,
            None,
            ["admin", "content:read", "coverage:read", "results:read", "learners:read"],
        )
    )
    return specs


def fresh_clients(session: Session) -> list[dict]:
    """Revoke the demo clients of an earlier run and make new ones (secrets are shown once).
    Commits (create_client does)."""
    now = utcnow()
    for old in session.scalars(
        select(OAuthClient).where(
            OAuthClient.name.startswith(DEMO_PREFIX), OAuthClient.revoked_at.is_(None)
        )
    ):
        old.revoked_at = now
    made = []
    eqa_centre = session.scalar(select(Centre).where(Centre.code == EQA_CENTRE))
    for key, name, kind, centre, scopes in _client_specs(session):
        client, secret = create_client(session, DEMO_PREFIX + name, sorted(scopes), centre, kind)
        entry = {
            "key": key,
            "name": name,
            "kind": kind.value,
            "client_id": client.client_id,
            "client_secret": secret,
            "scopes": sorted(scopes),
        }
        if centre is not None:
            entry["centre"] = centre.code
        if kind == ClientKind.EQA:
            session.add(EqaAssignment(client=client, centre=eqa_centre, assigned_by="demo"))
            session.commit()
            entry["assigned_centres"] = [EQA_CENTRE]
        made.append(entry)
    return made
