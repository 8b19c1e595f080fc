"""The learner's effective access arrangement is read once per transaction (issue 12: a page
asked for it ~15 times) and read again as soon as the transaction writes an arrangement or
ends, so what applies is the same as reading it every time."""

from __future__ import annotations

import itertools

from sqlalchemy import event

from service import access_arrangements as arrangements
from service import bank, db
from service.access_vocabulary import SetBy
from service.attempt_access import Learner
from tests.test_attempt_clock import ASSESSMENT

_learners = itertools.count(1)


def _reads(app):
    engine = app.extensions["db_engine"]
    seen: list[str] = []

    def record(_conn, _cursor, sql, *_args):
        if "FROM access_arrangements" in sql:
            seen.append(sql)

    event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(engine, "before_cursor_execute", record)


def _set(session, learner, assessment, **values):
    new = arrangements.NewArrangement(**values)
    arrangements.set_arrangement(session, learner, assessment, new, SetBy.API_CLIENT, "client:t")


def test_read_once_per_transaction_and_again_after_a_change(app):
    with app.app_context():
        session = db.session()
        learner = Learner(f"effective-learner-{next(_learners)}", None)
        assessment = bank.get_assessment(session, ASSESSMENT)
        reads, stop = _reads(app)
        try:
            assert arrangements.effective(session, learner, assessment.id) is None
            assert arrangements.effective(session, learner, assessment.id) is None
            assert len(reads) == 1  # the assessment's own and the general, in one statement: once
            _set(session, learner, None, extra_time_percent=25)
            assert arrangements.effective(session, learner, assessment.id).extra_time_percent == 25
            _set(session, learner, assessment, extra_time_minutes=10)
            row = arrangements.effective(session, learner, assessment.id)
            assert (row.extra_time_percent, row.extra_time_minutes) == (None, 10)
            session.commit()
            del reads[:]
            # A new transaction reads again (another process may have changed them).
            assert arrangements.effective(session, learner, assessment.id).extra_time_minutes == 10
            assert arrangements.effective(session, learner, assessment.id).extra_time_minutes == 10
            assert len(reads) == 1
        finally:
            stop()
            session.rollback()


def test_a_rolled_back_change_is_forgotten(app):
    with app.app_context():
        session = db.session()
        learner = Learner(f"effective-learner-{next(_learners)}", None)
        assessment = bank.get_assessment(session, ASSESSMENT)
        _set(session, learner, None, extra_time_percent=50)
        assert arrangements.effective(session, learner, assessment.id).extra_time_percent == 50
        session.rollback()
        assert arrangements.effective(session, learner, assessment.id) is None
        session.rollback()
