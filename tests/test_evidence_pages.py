"""The assessor's performance evidence pages (LTI): record and withdraw evidence for the learner
of an attempt in the assessor's course activity, the unit status, the error summary; and the
learner's result page saying the test gives the knowledge result only. Through HTTP with
launches signed by the development platform."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from service import db
from service.models import PerformanceEvidence
from tests.test_assessor_course import (
    _course,
    _doc,
    _extended,
    _launch,
    _mark_form,
    _post,
    _submitted,
    lti_client,  # noqa: F401 - fixture
)

PERFORMANCE = [f"CSC-01.AC{n}" for n in range(4, 9)]


def _evidence_url(learner):
    return f"/lti/assessor/attempt/{learner['uuid']}/evidence"


def _form(staff, learner, criterion="CSC-01.AC4", **changes):
    form = {
        "ls": staff,
        "attempt": learner["uuid"],
        "criterion": criterion,
        "evidence_type": "observation",
        "evidenced_on": date.today().isoformat(),
        "description": "Observed two live calls; the script was followed throughout.",
        "decision": "met",
        "reference": "Portfolio section 3",
    }
    return list((form | changes).items())


def _records(app, learner_ref):
    with app.app_context():
        return (
            db.session()
            .scalars(
                select(PerformanceEvidence)
                .where(PerformanceEvidence.learner_ref == learner_ref)
                .order_by(PerformanceEvidence.id)
            )
            .all()
        )


def _learner_ref(app, learner):
    from tests.test_lti_pages import _view

    with app.app_context():
        from service import attempts as attempt_service

        attempt = attempt_service.find_attempt(db.session(), _view(app, learner["sub"])["id"])
        return attempt.learner_ref


def test_an_assessor_records_evidence_and_the_unit_status_follows(app, lti_client):  # noqa: F811
    course = _course("pe")
    learner = _submitted(app, lti_client, course)
    _path, staff = _launch(app, lti_client, "instructor-1", course, nrps=False)

    marking = lti_client.get(f"/lti/assessor/attempt/{learner['uuid']}", query_string={"ls": staff})
    assert _evidence_url(learner) in marking.get_data(as_text=True)

    page = lti_client.get(_evidence_url(learner), query_string={"ls": staff})
    assert page.status_code == 200
    doc = _doc(page)
    forms = doc.xpath("//form[contains(@action, '/lti/assessor/evidence')]")
    assert [f.xpath(".//input[@name='criterion']/@value")[0] for f in forms] == PERFORMANCE
    for control in doc.xpath("//form//textarea | //form//input[@type!='hidden']"):
        # Every field has a label (radios and text alike).
        assert doc.xpath(f"//label[@for='{control.get('id')}']"), control.get("name")
    outcome = doc.xpath("//dt[text()='Unit result']/following-sibling::dd")[0]
    assert outcome.text_content() == "Not yet achieved"

    saved = _post(lti_client, "/lti/assessor/evidence", _form(staff, learner))
    assert saved.status_code == 303
    after = lti_client.get(saved.headers["Location"])
    html = after.get_data(as_text=True)
    assert "The evidence is recorded." in html
    assert "Observed two live calls" in html and "Portfolio section 3" in html
    rows = _doc(after).xpath("//table[1]//tr[th[@scope='row']='CSC-01.AC4']")
    assert "Met" in rows[0].text_content()

    stored = _records(app, _learner_ref(app, learner))
    assert len(stored) == 1
    assert stored[0].assessor.startswith("lti:") and "instructor-1" in stored[0].assessor
    assert stored[0].learner_ref.startswith("lti:")

    # Evidence for every performance criterion: the unit is achieved (the keyed attempt met
    # the knowledge criteria once its written answer is marked).
    for code in PERFORMANCE[1:]:
        posted = _post(lti_client, "/lti/assessor/evidence", _form(staff, learner, code))
        assert posted.status_code == 303
    page = lti_client.get(_evidence_url(learner), query_string={"ls": staff})
    assert "No fully marked attempt yet" in page.get_data(as_text=True)
    marked = _post(
        lti_client, "/lti/assessor/mark", _mark_form(staff, learner, _extended(app, learner))
    )
    assert marked.status_code == 303
    page = lti_client.get(_evidence_url(learner), query_string={"ls": staff})
    outcome = _doc(page).xpath("//dt[text()='Unit result']/following-sibling::dd")[0]
    assert outcome.text_content() == "Achieved"


def test_bad_input_shows_the_error_summary_and_keeps_what_was_typed(app, lti_client):  # noqa: F811
    course = _course("pe-errors")
    learner = _submitted(app, lti_client, course)
    _path, staff = _launch(app, lti_client, "instructor-1", course, nrps=False)
    future = (date.today() + timedelta(days=3)).isoformat()
    refused = _post(
        lti_client,
        "/lti/assessor/evidence",
        _form(staff, learner, "CSC-01.AC5", evidence_type="", decision="", evidenced_on="27/11"),
    )
    assert refused.status_code == 422
    doc = _doc(refused)
    links = doc.xpath("//div[@class='error-summary']//a/@href")
    assert {"#CSC-01-AC5-type", "#CSC-01-AC5-date", "#CSC-01-AC5-decision"} <= set(links)
    for link in links:
        assert doc.xpath(f"//*[@id='{link[1:]}']"), link  # every link reaches its field
    assert (
        "Observed two live calls" in doc.xpath("//textarea[@id='CSC-01-AC5-description']")[0].text
    )
    assert doc.xpath("//title")[0].text.startswith("Error:")

    later = _post(lti_client, "/lti/assessor/evidence", _form(staff, learner, evidenced_on=future))
    assert later.status_code == 422 and "after today" in later.get_data(as_text=True)
    knowledge = _post(lti_client, "/lti/assessor/evidence", _form(staff, learner, "CSC-01.AC1"))
    assert knowledge.status_code == 422 and "knowledge criterion" in knowledge.get_data(
        as_text=True
    )
    assert _records(app, _learner_ref(app, learner)) == []


def test_withdrawing_keeps_the_record_and_needs_a_reason(app, lti_client):  # noqa: F811
    course = _course("pe-withdraw")
    learner = _submitted(app, lti_client, course)
    _path, staff = _launch(app, lti_client, "instructor-1", course, nrps=False)
    assert _post(lti_client, "/lti/assessor/evidence", _form(staff, learner)).status_code == 303
    record = _records(app, _learner_ref(app, learner))[0]
    form = [("ls", staff), ("attempt", learner["uuid"]), ("record", record.uuid)]

    empty = _post(lti_client, "/lti/assessor/evidence/withdraw", form + [("reason", " ")])
    assert empty.status_code == 422
    assert f"#reason-{record.uuid}" in _doc(empty).xpath("//div[@class='error-summary']//a/@href")

    done = _post(
        lti_client, "/lti/assessor/evidence/withdraw", form + [("reason", "Wrong learner.")]
    )
    assert done.status_code == 303
    page = lti_client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Withdrawn: Wrong learner." in page and "Observed two live calls" in page
    (stored,) = _records(app, _learner_ref(app, learner))
    assert stored.withdrawn_reason == "Wrong learner." and stored.description == record.description

    again = _post(lti_client, "/lti/assessor/evidence/withdraw", form + [("reason", "Again.")])
    assert again.status_code == 409


def test_another_course_cannot_see_or_record_evidence_for_the_learner(app, lti_client):  # noqa: F811
    course_a, course_b = _course("pe-a"), _course("pe-b")
    learner = _submitted(app, lti_client, course_a)
    _path, staff_a = _launch(app, lti_client, "instructor-1", course_a, nrps=False)
    _path, staff_b = _launch(app, lti_client, "instructor-1", course_b, nrps=False)
    assert _post(lti_client, "/lti/assessor/evidence", _form(staff_a, learner)).status_code == 303
    record = _records(app, _learner_ref(app, learner))[0]

    page = lti_client.get(_evidence_url(learner), query_string={"ls": staff_b})
    assert page.status_code == 404
    posted = _post(lti_client, "/lti/assessor/evidence", _form(staff_b, learner, "CSC-01.AC6"))
    assert posted.status_code == 404
    withdraw = _post(
        lti_client,
        "/lti/assessor/evidence/withdraw",
        [("ls", staff_b), ("attempt", learner["uuid"]), ("record", record.uuid), ("reason", "x")],
    )
    assert withdraw.status_code == 404
    assert len(_records(app, _learner_ref(app, learner))) == 1
    assert _records(app, _learner_ref(app, learner))[0].withdrawn_at is None
    # A learner cannot open the assessor's page.
    assert (
        lti_client.get(_evidence_url(learner), query_string={"ls": learner["ls"]}).status_code
        == 403
    )


def test_the_learner_is_told_the_test_gives_the_knowledge_result(app, lti_client):  # noqa: F811
    course = _course("pe-learner")
    learner = _submitted(app, lti_client, course)
    result = lti_client.get("/lti/attempt", query_string={"ls": learner["ls"]})
    text = " ".join(_doc(result).xpath("//p[@id='knowledge-result']")[0].text_content().split())
    assert text.startswith("This is your knowledge result from the online assessment.")
    assert ", ".join(PERFORMANCE) in text
