"""The coverage report of a cohort (GET /api/v1/coverage?course=...): the learners of one LMS
course, in JSON, CSV and HTML. A learner is in the cohort when one of their attempts was
launched from a resource link of that course (under any of their identities); the rest of the
centre is left out, and the totals are over the cohort alone."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from sqlalchemy import func, select

from lti.models import LtiPlatform, LtiResourceLink
from service import db
from service.grading.vocabulary import Decision
from service.models import AuditEvent, LearnerIdentity
from tests.conftest import bearer, ensure_centre
from tests.coverage_fixture import (
    KNOWLEDGE,
    PERFORMANCE,
    add_attempt,
    add_evidence,
    add_learner,
    all_met,
)

READ = ["coverage:read"]


def _code() -> str:
    return f"CH{uuid.uuid4().hex[:8]}"


def _platform(session, centre) -> LtiPlatform:
    platform = LtiPlatform(
        name="LMS",
        issuer=f"https://{centre.code.lower()}.lms.example",
        client_id="tool",
        auth_login_url="https://lms.example/auth",
        auth_token_url="https://lms.example/token",
        key_set_url="https://lms.example/jwks",
        centre_id=centre.id,
    )
    session.add(platform)
    session.flush()
    return platform


def _link(session, platform, resource: str, course: str) -> LtiResourceLink:
    link = LtiResourceLink(
        platform_id=platform.id, deployment_id="1", resource_link_id=resource, context_id=course
    )
    session.add(link)
    session.flush()
    return link


@pytest.fixture()
def world(app):
    """Centre `mine` with an LMS course `course` (and another course of its own), and centre
    `theirs`, whose LMS has a course with the same context id plus one of its own:

    - ada: an attempt launched from `course`, every CSC-01 criterion met (in the cohort);
    - dee: an attempt launched from `course` under her LMS identity, AC1 met and AC2 not yet
      met by assessor-2's mark (in the cohort);
    - ben: an attempt from the centre's other course, assessor-9's evidence (not in it);
    - cy: every criterion met through the API, no LMS launch (not in it);
    - theirs' ada: an attempt from their course with the same context id (another centre)."""
    mine, theirs = _code(), _code()
    course, other_course, their_course = f"{mine}-maths", f"{mine}-english", f"{theirs}-art"
    with app.app_context():
        session = db.session()
        centre = ensure_centre(session, mine)
        platform = _platform(session, centre)
        in_course = _link(session, platform, "r-maths", course)
        elsewhere = _link(session, platform, "r-english", other_course)

        add_learner(session, centre, "ada", "Ada Lovelace")
        add_attempt(
            session,
            centre,
            "ada",
            {code: (Decision.MET, [f"{code}-item"]) for code in KNOWLEDGE},
            resource_link_id=in_course.id,
        )
        for code in PERFORMANCE:
            add_evidence(session, centre, "ada", code, Decision.MET, "client:assessor-1")

        dee = add_learner(session, centre, "dee", "Dee Okafor")
        lms_ref = f"lti:{platform.id}:dee-sub"
        dee.identities.append(
            LearnerIdentity(
                centre_id=centre.id,
                learner_ref=lms_ref,
                lti_platform_id=platform.id,
                lti_sub="dee-sub",
            )
        )
        session.flush()
        add_attempt(
            session,
            centre,
            lms_ref,
            {
                "CSC-01.AC1": (Decision.MET, ["CSC-01-Q001"]),
                "CSC-01.AC2": (Decision.NOT_YET_MET, ["CSC-01-E01"]),
            },
            marks={("CSC-01-E01", "CSC-01.AC2"): ("not_yet_met", "client:assessor-2")},
            resource_link_id=in_course.id,
        )

        add_learner(session, centre, "ben", "Ben Jones")
        add_attempt(
            session,
            centre,
            "ben",
            {"CSC-01.AC1": (Decision.MET, ["CSC-01-Q001"])},
            resource_link_id=elsewhere.id,
        )
        add_evidence(session, centre, "ben", "CSC-01.AC4", Decision.MET, "client:assessor-9")

        add_learner(session, centre, "cy", "Cy Young")
        all_met(session, centre, "cy", assessor="client:assessor-9")

        other = ensure_centre(session, theirs)
        their_platform = _platform(session, other)
        same_id = _link(session, their_platform, "r-maths", course)
        their_own = _link(session, their_platform, "r-art", their_course)
        add_learner(session, other, "ada", "Ada Other")
        add_attempt(
            session,
            other,
            "ada",
            {"CSC-01.AC1": (Decision.MET, ["CSC-01-Q001"])},
            resource_link_id=same_id.id,
        )
        add_learner(session, other, "zed", "Zed Other")
        add_attempt(
            session,
            other,
            "zed",
            {"CSC-01.AC1": (Decision.MET, ["CSC-01-Q001"])},
            resource_link_id=their_own.id,
        )
        session.commit()
    return {"mine": mine, "theirs": theirs, "course": course, "their_course": their_course}


def _get(app, client, query: str, **who):
    headers = bearer(app, READ, **who)
    response = client.get(f"/api/v1/coverage?{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def _audit_rows(app) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(AuditEvent))


def test_json_cohort_is_the_course_learners_and_totals_are_over_them(app, client, world):
    mine, course = world["mine"], world["course"]
    whole = _get(app, client, f"centre={mine}&unit=CSC-01", centre_code=mine).get_json()
    assert [lr["reference"] for lr in whole["learners"]] == ["ada", "dee", "ben", "cy"]
    assert (whole["totals"]["learners"], whole["totals"]["full_coverage"]) == (4, 2)

    before = _audit_rows(app)
    body = _get(
        app, client, f"centre={mine}&course={course}&unit=CSC-01", eqa_of=(mine,)
    ).get_json()
    assert body["course"] == course
    by_ref = {lr["reference"]: lr for lr in body["learners"]}
    assert list(by_ref) == ["ada", "dee"]
    assert by_ref["ada"]["full_coverage"] and not by_ref["dee"]["full_coverage"]
    # Dee is in the cohort through her LMS identity, and her cells come from that attempt.
    dee = {cell["criterion"]: cell["decision"] for cell in by_ref["dee"]["cells"]}
    assert (dee["CSC-01.AC1"], dee["CSC-01.AC2"]) == ("met", "not_yet_met")

    totals = body["totals"]
    assert (totals["learners"], totals["full_coverage"]) == (2, 1)
    assert totals["criteria_rarely_met"][0] == {
        "criterion": "CSC-01.AC2",
        "unit": "CSC-01",
        "met": 1,
        "met_rate": 0.5,
    }
    # Ben's and Cy's assessor (assessor-9) judged no one in the cohort.
    assessors = {row["assessor"]: row for row in totals["decisions_per_assessor"]}
    assert set(assessors) == {"client:assessor-1", "client:assessor-2"}
    assert (assessors["client:assessor-1"]["met"], assessors["client:assessor-1"]["total"]) == (
        5,
        5,
    )
    assert assessors["client:assessor-2"]["not_yet_met"] == 1
    assert body["page"] == {"page": 1, "page_size": 100, "total": 2, "pages": 1}
    assert _audit_rows(app) - before == 2  # only the cohort's learners were read


def test_json_pages_through_the_cohort_only(app, client, world):
    mine, course = world["mine"], world["course"]
    second = _get(
        app, client, f"centre={mine}&course={course}&page=2&page_size=1", centre_code=mine
    ).get_json()
    assert [lr["reference"] for lr in second["learners"]] == ["dee"]
    assert second["page"]["total"] == 2 and second["totals"]["learners"] == 2


def test_a_course_of_another_centre_gives_none_of_this_centres_learners(app, client, world):
    mine, theirs = world["mine"], world["theirs"]
    body = _get(
        app, client, f"centre={mine}&course={world['their_course']}", centre_code=mine
    ).get_json()
    assert body["learners"] == []
    assert (body["totals"]["learners"], body["totals"]["full_coverage"]) == (0, 0)
    assert body["totals"]["decisions_per_assessor"] == []
    assert body["page"]["total"] == 0
    # The same context id on the other centre's LMS: each centre sees its own learners.
    ours = _get(app, client, f"centre={mine}&course={world['course']}", centre_code=mine)
    assert "Ada Other" not in ours.get_data(as_text=True)
    their = _get(app, client, f"centre={theirs}&course={world['course']}", eqa_of=(theirs,))
    assert [lr["name"] for lr in their.get_json()["learners"]] == ["Ada Other"]


def _csv_rows(response) -> list[dict]:
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv_streams_the_cohort_only(app, client, world):
    mine, course = world["mine"], world["course"]
    before = _audit_rows(app)
    rows = _csv_rows(
        _get(app, client, f"centre={mine}&course={course}&unit=CSC-01&format=csv", eqa_of=(mine,))
    )
    assert [(row["reference"], row["full_coverage"]) for row in rows] == [
        ("ada", "True"),
        ("dee", "False"),
    ]
    assert rows[1]["CSC-01.AC2"] == "not_yet_met"
    assert "assessor=client:assessor-2" in rows[1]["CSC-01.AC2 evidence"]
    assert _audit_rows(app) - before == 2

    empty = _get(
        app, client, f"centre={mine}&course={world['their_course']}&format=csv", centre_code=mine
    )
    text = empty.get_data(as_text=True)
    assert text.startswith("learner,reference,name,full_coverage")
    assert _csv_rows(empty) == []


def test_html_shows_the_cohort_and_its_totals(app, client, world):
    mine, course = world["mine"], world["course"]
    page = _get(
        app, client, f"centre={mine}&course={course}&unit=CSC-01&format=html", centre_code=mine
    ).get_data(as_text=True)
    assert f"LMS course {course}." in page
    assert "Ada Lovelace" in page and "Dee Okafor" in page
    assert "Ben Jones" not in page and "Cy Young" not in page
    assert "1 of 2 learners have every criterion met." in page
    assert "client:assessor-9" not in page

    empty = _get(
        app, client, f"centre={mine}&course={world['their_course']}&format=html", centre_code=mine
    ).get_data(as_text=True)
    assert "No learners." in empty and "0 of 0 learners" in empty
