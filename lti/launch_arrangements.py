"""Access arrangements carried by a launch: custom parameters an LMS sets per activity or per
learner (Moodle's and Canvas's custom parameters, or user-level substitutions).

| custom parameter | value |
| --- | --- |
| extra_time_percent | whole number 1-100 (25 for 25% more time) |
| extra_time_minutes | whole number 1-240 |
| time_limit_minutes | whole number 1-600: replaces the assessment's time limit |
| rest_breaks | true / false (also 1 / 0, yes / no) |
| rest_break_max_minutes | whole number 1-240: the most break time that stops the clock |

What a launch gives replaces only those values of the learner's arrangement for the activity's
assessment; the rest stay as recorded. A change is recorded as set by "lms:{platform}", and
only when it differs from what applies now (a launch repeating the same values records
nothing). A bad value (not a number, out of range, an unsubstituted "$User.id"-style variable,
extra time both as a percentage and as minutes) is ignored and logged with the parameter's
name only: never its value or the learner.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy.orm import Session

from service import access_arrangements as arrangements
from service.access_vocabulary import SetBy
from service.attempt_access import Learner
from service.models import Assessment

log = logging.getLogger(__name__)

NUMBERS = (
    "extra_time_percent",
    "extra_time_minutes",
    "time_limit_minutes",
    "rest_break_max_minutes",
)
FLAGS = ("rest_breaks",)
TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def _number(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _flag(value) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else None
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    return None


def _ignored(name: str, why: str) -> None:
    log.warning("lti launch: custom parameter %s ignored: %s", name, why)


def named_in(custom: dict) -> bool:
    """Whether the launch's custom claim names any arrangement parameter (valid or not)."""
    return any(name in custom for name in (*NUMBERS, *FLAGS))


def parameters(custom: dict) -> dict:
    """The arrangement values a launch's custom claim gives, valid ones only."""
    # An empty value is a parameter the LMS left unset: as if absent.
    custom = {k: v for k, v in custom.items() if not (isinstance(v, str) and not v.strip())}
    given: dict = {}
    for name in NUMBERS:
        if name in custom:
            value = _number(custom[name])
            if value is None:
                _ignored(name, "not a whole number")
            else:
                given[name] = value
    for name in FLAGS:
        if name in custom:
            value = _flag(custom[name])
            if value is None:
                _ignored(name, "not true or false")
            else:
                given[name] = value
    if given.get("extra_time_percent") and given.get("extra_time_minutes"):
        _ignored("extra_time_percent/extra_time_minutes", "both given")
        given.pop("extra_time_percent")
        given.pop("extra_time_minutes")
    return given


def record(
    session: Session, learner: Learner, assessment: Assessment, platform_id: int, custom: dict
) -> bool:
    """Record the launch's arrangement values for the learner at `assessment` when they change
    what applies now. Returns whether a change was recorded. Flushes; the launch commits."""
    given = parameters(custom)
    if not given:
        return False
    row = arrangements.effective(session, learner, assessment.id)
    now = arrangements.NewArrangement.of(row) if row is not None else arrangements.NOTHING
    applies = arrangements.check(now)
    if given.get("extra_time_percent"):
        now = replace(now, extra_time_minutes=None)
    if given.get("extra_time_minutes"):
        now = replace(now, extra_time_percent=None)
    wanted = replace(now, **given)
    try:
        wanted = arrangements.check(wanted)
    except arrangements.InvalidArrangement as exc:
        # Out of range: those values are ignored, the good ones kept.
        for name in exc.details:
            if name in given:
                _ignored(name, "out of range")
                wanted = replace(wanted, **{name: getattr(now, name)})
        try:
            wanted = arrangements.check(wanted)
        except arrangements.InvalidArrangement as again:
            _ignored(",".join(sorted(again.details)), "not valid together")
            return False
    if wanted == applies:
        return False
    # The reason stays what the centre or assessor recorded: the LMS does not give one.
    _, recorded = arrangements.set_arrangement(
        session, learner, assessment, wanted, SetBy.LMS, f"lms:{platform_id}"
    )
    return recorded
