"""The learner's question page reads what it shows once each, with explicit loading (issue 12:
a class opens its first question page at once). A lazy load anywhere on the page fails here;
the attempt is read with raiseload, so a new lazy load of it fails the page itself."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event, inspect, select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session

from lti.learner_pages import QUESTION_PAGE_LOADING
from lti.models import LtiPlatform
from service import attempt_access, db
from service import attempts as attempt_service
from service.attempt_access import Learner
from service.models import Assessment
from tests import lti_flow
from tests.test_lti_pages import ASSESSMENT, _launch, _learners, start


@pytest.fixture()
def lti_client(app, requests_mock):
    lti_flow.register(app)
    lti_flow.mock_platform_jwks(app, requests_mock)
    return app.test_client()


@contextlib.contextmanager
def lazy_loads():
    """What the ORM loads lazily inside the block (relationship loads from an object's
    attribute, in any session): the entity and attribute of each."""
    found: list[str] = []

    def execute(state) -> None:
        if state.lazy_loaded_from is not None:
            found.append(f"{state.lazy_loaded_from.class_.__name__}: {state.statement}")

    event.listen(Session, "do_orm_execute", execute)
    try:
        yield found
    finally:
        event.remove(Session, "do_orm_execute", execute)


def _started(app, client) -> tuple[str, str]:
    sub = f"question-page-learner-{next(_learners)}"
    _path, ls = _launch(app, client, sub=sub)
    assert client.get("/lti/attempt", query_string={"ls": ls}).status_code == 200
    start(app, client, ls, sub)
    return sub, ls


def test_the_first_question_page_loads_nothing_lazily(app, lti_client):
    _sub, ls = _started(app, lti_client)
    with lazy_loads() as loads:
        page = lti_client.get("/lti/attempt", query_string={"ls": ls})
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert html.count('<fieldset class="question') > 1  # the questions, each shown
    assert loads == []


def test_the_lazy_load_detector_sees_a_lazy_load(app, lti_client):
    """The check above can fail: the attempt read without the page's loading loads its form
    lazily, and the detector says so."""
    sub, _ls = _started(app, lti_client)
    with app.app_context():
        session = db.session()
        _assessment, attempt = _latest(session, sub)
        with lazy_loads() as loads:
            assert attempt.items
        assert len(loads) == 1 and "attempt_items" in loads[0]


def test_the_question_page_reads_the_attempt_with_its_loading_in_force(app, lti_client):
    sub, _ls = _started(app, lti_client)
    with app.app_context():
        session = db.session()
        assessment, attempt = _latest(session, sub, *QUESTION_PAGE_LOADING)
        state = inspect(attempt)
        # What the page reads of the attempt is loaded with it ...
        assert {"items", "response_rows", "rest_breaks"}.isdisjoint(state.unloaded)
        assert attempt.items and attempt.response_rows == [] and attempt.rest_breaks == []
        # ... the assessment, already read, comes from the session without SQL ...
        assert attempt.assessment is assessment
        # ... and what it does not read raises rather than loading lazily.
        for name in ("mark_rows", "score_rows", "decision_rows", "centre"):
            with pytest.raises(InvalidRequestError, match="raise"):
                getattr(attempt, name)


def _latest(session, sub, *loading):
    """(the assessment, the learner's latest attempt): the caller keeps the assessment, so
    that it stays in the session (whose identity map holds objects weakly)."""
    platform = session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == lti_flow.ISS))
    assessment = session.scalar(select(Assessment).where(Assessment.code == ASSESSMENT))
    learner = Learner(f"lti:{platform.id}:{sub}", platform.centre_id)
    return assessment, attempt_access.latest_attempt(session, assessment, learner, *loading)


def test_the_form_kept_per_content_version_is_the_form_as_stored(app, lti_client):
    """The page's items come from the unit's item versions kept per content version: the same
    items, versions and bodies as a read of the attempt's form."""
    sub, _ls = _started(app, lti_client)
    with app.app_context():
        session = db.session()
        _assessment, attempt = _latest(session, sub)
        kept = attempt_service.form_of(session, attempt)
        stored = attempt_service.form_items(session, attempt)
        assert [(i.code, i.uuid, i.unit_code, i.sample, i.version, i.body) for i in kept] == [
            (item.code, item.uuid, item.unit.code, item.sample, version.version, version.body)
            for item, version in stored
        ]
        assert [i.code for i in kept] == [entry["item"] for entry in attempt.form]
