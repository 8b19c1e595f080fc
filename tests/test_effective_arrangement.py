"""The learner's effective access arrangement is read once per transaction (issue 12: a page
asked for it ~15 times) and read again as soon as the transaction writes an arrangement or
ends, so what applies is the same as reading it every time."""

from __future__ import annotations

import itertools

from sqlalchemy import event
from sqlalchemy.orm import Session

from service import access_arrangements as arrangements
from service import bank, content_cache, db
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
        content_cache.forget(session)  # as in a process that has not read who has one yet
        reads, stop = _reads(app)
        try:
            assert arrangements.effective(session, learner, assessment.id) is None
            assert arrangements.effective(session, learner, assessment.id) is None
            assert len(reads) == 1  # who has one at the centre (not this learner): once
            _set(session, learner, None, extra_time_percent=25)
            assert arrangements.effective(session, learner, assessment.id).extra_time_percent == 25
            _set(session, learner, assessment, extra_time_minutes=10)
            row = arrangements.effective(session, learner, assessment.id)
            assert (row.extra_time_percent, row.extra_time_minutes) == (None, 10)
            session.commit()
            del reads[:]
            # A new transaction reads again (another process may have changed them): after the
            # change, who has arrangements at the centre too (the change was a new version).
            assert arrangements.effective(session, learner, assessment.id).extra_time_minutes == 10
            assert arrangements.effective(session, learner, assessment.id).extra_time_minutes == 10
            assert len(reads) == 2
            session.rollback()
            del reads[:]
            assert arrangements.effective(session, learner, assessment.id).extra_time_minutes == 10
            assert len(reads) == 1  # the learner's rows; who has any is kept
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


def test_a_learner_without_arrangements_reads_none_until_one_is_written_anywhere(app):
    """Most learners have no arrangement: once this process knows who has one at the centre,
    their pages read nothing for it. An arrangement another session (another process, an
    assessor's page) commits applies at this session's next transaction all the same."""
    with app.app_context():
        session = db.session()
        learner = Learner(f"effective-learner-{next(_learners)}", None)
        assessment = bank.get_assessment(session, ASSESSMENT)
        session.rollback()
        arrangements.effective(session, learner, assessment.id)  # who has one: kept
        session.rollback()
        reads, stop = _reads(app)
        other = Session(app.extensions["db_engine"])
        try:
            assert arrangements.effective(session, learner, assessment.id) is None
            assert reads == []
            session.rollback()

            _set(other, learner, assessment, extra_time_percent=25)
            other.commit()
            assert arrangements.effective(session, learner, assessment.id).extra_time_percent == 25
            session.rollback()

            # Another learner at the centre still reads nothing once the new list is kept.
            del reads[:]
            someone_else = Learner(f"effective-learner-{next(_learners)}", None)
            assert arrangements.effective(session, someone_else, assessment.id) is None
            assert reads == []
        finally:
            stop()
            other.close()
            session.rollback()
