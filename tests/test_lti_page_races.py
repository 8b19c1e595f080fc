"""The learner's page in two tabs at once, in-process on threads: first loads and Starts at
the same moment make one attempt; autosaves of different questions from the tabs all stay."""

from __future__ import annotations

from sqlalchemy import func, select

from bench.attempt_client import together, valid_responses
from service import db
from service.models import Attempt, LearnerIdentity
from tests.test_lti_pages import (
    _attempt_row,
    _form,
    _launch,
    _learner,
    _post,
    _uuid,
    _view,
    lti_client,  # noqa: F401 - the fixture
)


def test_first_loads_and_starts_at_once_make_one_started_attempt(app, lti_client):  # noqa: F811
    sub = "race-tabs-first-load"
    _path, ls = _launch(app, lti_client, sub=sub)
    pages = together(6, lambda n: app.test_client().get("/lti/attempt", query_string={"ls": ls}))
    assert {page.status_code for page in pages} == {200}
    with app.app_context():
        assert _attempt_row(db.session(), sub) is None  # the start page writes no attempt
    # Start in every tab at once: each start page's form names no attempt yet.
    started = together(
        6,
        lambda n: app.test_client().post("/lti/attempt/start", data={"ls": ls, "attempt": ""}),
    )
    assert {response.status_code for response in started} == {303}
    with app.app_context():
        row = _attempt_row(db.session(), sub)
        assert row.started_at is not None and row.deadline is not None
        count = db.session().scalar(
            select(func.count()).select_from(Attempt).where(Attempt.learner_ref == row.learner_ref)
        )
        identified = db.session().scalars(
            select(LearnerIdentity.lti_sub).where(LearnerIdentity.learner_ref == row.learner_ref)
        )
        assert list(identified) == [sub]  # the learner's identity, made once
    assert count == 1
    assert len(_view(app, sub)["items"]) > 0


def test_autosaves_of_different_questions_from_two_tabs_all_stay(app, lti_client):  # noqa: F811
    learner = _learner(app, lti_client)
    items, ls = learner["items"][:7], learner["ls"]
    uuid = _uuid(app, learner["sub"])

    def tab(n: int):
        item = items[n]
        last = None
        for value in valid_responses(item, 4):
            if item["type"] == "multiple_response":
                value = list(value)
            data = _form(ls, uuid, items, {item["id"]: value})
            response = _post(
                app.test_client(),
                "/lti/attempt/save",
                data=data,
                headers={"Accept": "application/json"},
            )
            assert response.status_code == 200, response.get_json()
            last = value
        return item["id"], last

    acknowledged = dict(together(len(items), tab))
    stored = _view(app, learner["sub"])["responses"]
    lost = {k: v for k, v in acknowledged.items() if stored.get(k) != v}
    assert lost == {}, f"{len(lost)} of {len(acknowledged)} acknowledged answers lost"
