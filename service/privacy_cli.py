"""`assessment learners export|erase|retention`: UK GDPR requests from the command line
(service/learner_privacy.py), each recorded in the audit log as done by "cli:{user}". The daily
retention command also deletes expired Idempotency-Keys (service/idempotency.py)."""

from __future__ import annotations

import getpass
import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from service import audit, db, idempotency
from service import learner_privacy as privacy
from service.audit_vocabulary import AuditAction

learners_group = AppGroup("learners", help="Learners' personal data: export, erase, retention.")


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _learner(session, learner_id: str):
    try:
        return privacy.find(session, learner_id)
    except privacy.LearnerNotFound as exc:
        raise click.ClickException(f"no learner {learner_id}") from exc


@learners_group.command("export", help="Everything held about LEARNER_ID, as JSON.")
@click.argument("learner_id")
@click.option("--out", type=click.File("w"), default="-", help="File (default: standard out)")
def export_command(learner_id: str, out) -> None:
    session = db.session()
    learner = _learner(session, learner_id)
    document = privacy.export(session, learner)
    subject = f"learner:{learner.uuid}"
    audit.record(session, _actor(), AuditAction.EXPORT, subject, [(learner.id, learner.centre_id)])
    session.commit()
    json.dump(document, out, indent=2)
    out.write("\n")


@learners_group.command("erase", help="Pseudonymise LEARNER_ID, keeping anonymous evidence.")
@click.argument("learner_id")
def erase_command(learner_id: str) -> None:
    session = db.session()
    learner = _learner(session, learner_id)
    erased = privacy.pseudonymise(session, learner, _actor())
    session.commit()
    click.echo(f"learner {learner.uuid} " + ("pseudonymised" if erased else "was already"))


@learners_group.command(
    "retention",
    help="Pseudonymise every learner with nothing newer than the retention period "
    "(PERSONAL_DATA_RETENTION_DAYS), and delete expired Idempotency-Keys with the responses "
    "stored with them. Run it daily from the scheduler.",
)
@click.option("--days", type=click.IntRange(min=1), help="Override the retention period")
@click.option("--dry-run", is_flag=True, help="Count, change nothing")
def retention_command(days: int | None, dry_run: bool) -> None:
    days = days or current_app.config["PERSONAL_DATA_RETENTION_DAYS"]
    session = db.session()
    if dry_run:
        keys = idempotency.count_expired(session)
        due = privacy.due_for_retention(session, days)
        click.echo(f"{keys} expired idempotency key(s) would be deleted")
        click.echo(f"{len(due)} learner(s) past {days} days would be pseudonymised")
        return
    # Its own transaction, first: a failure among the learners below does not keep it back.
    keys = idempotency.purge_expired(session)
    session.commit()
    click.echo(f"{keys} expired idempotency key(s) deleted")
    due = privacy.due_for_retention(session, days)
    for learner in due:
        # One transaction per learner: a failure part-way keeps what was done.
        privacy.pseudonymise(session, learner, "retention")
        session.commit()
    click.echo(f"{len(due)} learner(s) past {days} days pseudonymised", file=sys.stdout)
