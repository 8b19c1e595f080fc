"""The learner's result page (issue 10, findings R1-R7): each criterion's decision explained in
plain words, the assessor's feedback, what happens next, feedback that names the option it is
about, and no stored vocabulary value (snake_case) anywhere in the page's text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import lxml.html
from sqlalchemy import select

from lti.page_words import CHANNEL_WORDS, scenario_value
from lti.result_page import labelled_feedback, learner_wording, percent_words
from service import attempts as attempt_service
from service import db
from service.models import Criterion
from tests import test_lti_pages as pages
from tests.test_lti_pages import lti_client  # noqa: F401 (fixture)

SNAKE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
SCHEMA = Path(__file__).resolve().parent.parent / "criteria_data/schema/items.schema.json"


def _wrong(body: dict):
    """A response that earns nothing (bank ids, as stored)."""
    kind = body["type"]
    if kind == "single_choice":
        return next(o["id"] for o in body["options"] if not o["correct"])
    if kind == "multiple_response":
        return [o["id"] for o in body["options"] if not o["correct"]][:1]
    if kind == "ordering":
        return [s["id"] for s in reversed(body["steps"])]
    if kind == "matching":
        responses = [r["id"] for r in body["responses"]]
        return {p["id"]: next(r for r in responses if r != p["match"]) for p in body["premises"]}
    if kind == "short_text":
        return "zzz"
    return "My written answer names procedure BR1 and says why it exists."


def _submitted_wrong(app, client):
    """A learner whose auto answers are all wrong, submitted (through the service, in bank
    ids); their written answer waits for marking."""
    learner = pages._learner(app, client, needs=("single_choice",))
    bodies = pages._bodies(app, learner["sub"])
    with app.app_context():
        session = db.session()
        attempt = pages._attempt_row(session, learner["sub"])
        attempt_service.submit(session, attempt, {c: _wrong(b) for c, b in bodies.items()})
        session.commit()
    return learner, bodies


def _text(html: str) -> str:
    return lxml.html.fromstring(html).xpath("//main")[0].text_content()


def test_an_assessor_met_criterion_can_be_not_yet_met_and_the_page_says_why(app, lti_client):  # noqa: F811
    learner, bodies = _submitted_wrong(app, lti_client)
    view = pages._view(app, learner["sub"])
    extended = next(b for b in bodies.values() if b["type"] == "extended_response")
    criteria = [f"CSC-01.{c}" for c in extended["criteria"]]
    _path, staff = pages._launch(app, lti_client, "instructor-1")
    form = [("ls", staff), ("attempt", view["id"]), ("item", extended["id"])]
    form += [(f"level-{c}", "met") for c in criteria]
    form += [(f"comment-{criteria[0]}", "You cited the procedure well.")]
    marked = pages._post(lti_client, "/lti/assessor/mark", data=form)
    assert marked.status_code == 303
    pages._post(
        lti_client,
        "/lti/assessor/comment",
        data={"ls": staff, "attempt": view["id"], "comment": "Revise the complaints procedure."},
    )

    page = lti_client.get("/lti/attempt", query_string={"ls": learner["ls"]})
    html = page.get_data(as_text=True)
    text = _text(html)
    assert page.status_code == 200 and "Not yet achieved" in text
    doc = lxml.html.fromstring(html)
    blocks = doc.xpath("//li[@class='criterion-result']")
    assert len(blocks) == 8
    by_code = {b.xpath(".//dd[@class='hint']")[0].text_content(): b for b in blocks}
    # A criterion the assessor marked met, with every question for it wrong: not yet met, and
    # the page says the written answer was met but the questions fell short.
    code = criteria[0]
    block = next(b for k, b in by_code.items() if f"({code})" in k)
    said = " ".join(block.text_content().split())
    assert "Not yet met" in said
    assert "Your assessor marked your written answer as meeting this criterion, but" in said
    number = next(n for n, i in enumerate(view["items"], 1) if i["id"] == extended["id"])
    assert f"Question {number} (your assessor marked it met)" in said
    assert re.search(r"Question \d+ \(0 of \d marks?\)", said)
    assert "You cited the procedure well." in said
    # Criteria in the learner's words, not the assessor's.
    assert "The learner can" not in text and "You need to show that you can" in text
    # Feedback, next steps, the meaning of each decision.
    assert "Revise the complaints procedure." in text
    assert "resit" in text and "ask your assessor or tutor" in text
    assert "Performance evidence needed" in text
    # No stored value reaches the page, no percentage with decimals.
    assert SNAKE.findall(text) == []
    assert not re.search(r"\d\.\d+%", text)
    # Feedback on a wrong single choice names the right answer; no line opens with "Correct".
    lines = [" ".join(li.text_content().split()) for li in doc.xpath("//ul[@class='feedback']/li")]
    assert lines and not [line for line in lines if line.lower().startswith("correct")]
    single = next(b for b in bodies.values() if b["type"] == "single_choice")
    keyed = next(o for o in single["options"] if o["correct"])
    assert any(
        line.startswith(f"The right answer was \u2018{' '.join(keyed['text'].split())}\u2019")
        for line in lines
    )


def test_pending_result_explains_waiting_and_matching_answers_are_separated(app, lti_client):  # noqa: F811
    learner, bodies = _submitted_wrong(app, lti_client)
    html = lti_client.get("/lti/attempt", query_string={"ls": learner["ls"]}).get_data(as_text=True)
    text = " ".join(_text(html).split())
    assert "Your assessor has not marked your written answer yet" in text
    assert "Come back to this page later" in text
    assert SNAKE.findall(text) == []
    if any(b["type"] == "matching" for b in bodies.values()):
        assert "you matched it to \u201c" in text


def test_feedback_lines_say_which_option_they_belong_to():
    body = {
        "type": "single_choice",
        "options": [
            {"id": "A", "text": "Close the chat", "correct": False, "feedback": "Not for her."},
            {
                "id": "B",
                "text": "Give a reference",
                "correct": True,
                "feedback": "Correct. So she knows.",
            },
        ],
    }
    assert labelled_feedback(body, "A") == [
        "You chose \u2018Close the chat\u2019: not right. Not for her.",
        "The right answer was \u2018Give a reference\u2019. Why: So she knows.",
    ]
    assert labelled_feedback(body, "B") == [
        "You chose \u2018Give a reference\u2019: a right answer. So she knows."
    ]


def test_criterion_wording_and_percentages_for_learners():
    wording = learner_wording("The learner can identify procedures in their organisation's policy.")
    assert (
        wording
        == "You need to show that you can identify procedures in your organisation's policy."
    )
    assert percent_words(7.142857) == "7%" and percent_words(35.71) == "36%"


def test_every_scenario_channel_has_words():
    schema = json.loads(SCHEMA.read_text())
    channels = schema["$defs"]["scenario"]["properties"]["channel"]["enum"]
    assert set(channels) == set(CHANNEL_WORDS)
    assert scenario_value("channel", "face_to_face") == "Face to face"
    assert scenario_value("channel", "carrier_pigeon") == "Carrier pigeon"
    assert scenario_value("customer", "Mrs Ada Okafor") == "Mrs Ada Okafor"


def test_every_criterion_of_the_bank_reads_as_a_learner_sentence(app):
    with app.app_context():
        texts = [c.current.text for c in db.session().scalars(select(Criterion))]
    assert texts
    assert all(learner_wording(t).startswith("You need to show that you can") for t in texts)
