"""Command line: `assessment <command>` (or `flask --app service <command>`)."""

from __future__ import annotations

import getpass
from contextlib import contextmanager

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup

from service import auth, cache, client_admin, db, item_provenance, item_statistics, migrations
from service.catalogue import Page
from service.client_vocabulary import ClientKind
from service.content_files import ContentError
from service.content_loader import load_content, read_content

# AppGroup runs each command inside an application context.
db_group = AppGroup("db", help="Database schema.")


@db_group.command("upgrade", help="Apply Alembic migrations up to the newest.")
def db_upgrade() -> None:
    migrations.upgrade(
        current_app.config["DATABASE_URL"], secret_key=current_app.config["SECRET_KEY"]
    )
    click.echo("database is at the newest migration")


content_group = AppGroup("content", help="The awarding body's content in criteria_data/.")


@content_group.command("check", help="Validate the data files without touching the database.")
def content_check() -> None:
    try:
        content = read_content(current_app.config["CONTENT_DIR"])
    except ContentError as exc:
        raise click.ClickException(str(exc)) from exc
    items = sum(len(bank.items) for bank in content.banks)
    rubrics = sum(len(bank.rubrics) for bank in content.banks)
    assessments = sum(len(bank.assessments) for bank in content.banks)
    click.echo(
        f"{len(content.units)} unit files valid; "
        f"{items} items, {rubrics} rubrics, {assessments} assessments valid"
    )


@content_group.command("load", help="Load the data files; unchanged content is left alone.")
def content_load() -> None:
    try:
        report = load_content(db.session(), current_app.config["CONTENT_DIR"])
        db.session().commit()
    except ContentError as exc:
        raise click.ClickException(str(exc)) from exc
    # Always: a process that loaded without clearing (a test, a crash) must not leave stale pages.
    cache.clear()
    for change in report.changes:
        click.echo(change)
    click.echo(f"{len(report.changes)} change(s)" if report.changed else "content unchanged")


centres_group = AppGroup("centres", help="Centres (colleges, training providers).")


def _cli_actor() -> str:
    """Who made a change from the command line, for the audit log (a login name, never a
    learner's data)."""
    return f"cli:{getpass.getuser()}"


@contextmanager
def _admin_change():
    """Commit what the block changed; an AdminError rolls back and becomes a CLI error."""
    session = db.session()
    try:
        yield session
    except client_admin.AdminError as exc:
        session.rollback()
        raise click.ClickException(exc.message) from exc
    session.commit()


@centres_group.command("create", help="Add a centre: CODE and NAME.")
@click.argument("code")
@click.argument("name")
def centres_create(code: str, name: str) -> None:
    with _admin_change() as session:
        client_admin.create_centre(session, _cli_actor(), code, name)
    click.echo(f"centre {code} created")


@centres_group.command("list", help="List centres.")
def centres_list() -> None:
    _, centres = client_admin.list_centres(db.session(), Page(1, 1_000_000))
    for centre in centres:
        click.echo(f"{centre.code:<16} {centre.uuid}  {centre.name}")


clients_group = AppGroup("clients", help="OAuth 2.0 API clients.")


@clients_group.command("create", help="Create a client; prints its id and secret once.")
@click.option("--name", required=True, help="Who the client is for")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in ClientKind]),
    help="centre (needs --centre), eqa (assign centres with `eqa assign`) or awarding_body; "
    "default: centre with --centre, else awarding_body",
)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help=f"Repeat for each: {', '.join(auth.SCOPES)}",
)
@click.option("--centre", "centre_code", help="A centre's client: its centre's code")
def clients_create(
    name: str, kind: str | None, scopes: tuple[str, ...], centre_code: str | None
) -> None:
    chosen = ClientKind(kind) if kind else None
    chosen = chosen or (ClientKind.CENTRE if centre_code else ClientKind.AWARDING_BODY)
    with _admin_change() as session:
        made = client_admin.create_client(
            session, _cli_actor(), name, chosen, list(scopes), centre_code
        )
    click.echo(f"client_id: {made.client.client_id}")
    click.echo(f"client_secret: {made.secret}")
    click.echo("The secret is shown once; only its hash is stored.")


@clients_group.command("list", help="List clients (never secrets).")
@click.option("--kind", type=click.Choice([k.value for k in ClientKind]), help="Only this kind")
@click.option("--centre", "centre_code", help="Only a centre's clients and EQAs assigned to it")
def clients_list(kind: str | None, centre_code: str | None) -> None:
    session = db.session()
    _, clients = client_admin.list_clients(
        session, Page(1, 1_000_000), ClientKind(kind) if kind else None, centre_code
    )
    for client in clients:
        state = "revoked" if client.revoked_at else "active"
        if client.kind == ClientKind.EQA:
            codes = [a.centre.code for a in client_admin.assigned_centres(session, client)]
            centres = ",".join(codes) or "-"
        else:
            centres = client.centre.code if client.centre else "all"
        click.echo(
            f"{client.client_id}  {state:<8} {client.kind.value:<13} {centres:<16} "
            f"{client.scopes}  {client.name}"
        )


@clients_group.command(
    "rotate", help="New secret for CLIENT_ID, printed once; the old secret and tokens stop."
)
@click.argument("client_id")
def clients_rotate(client_id: str) -> None:
    with _admin_change() as session:
        made = client_admin.rotate(session, _cli_actor(), client_id)
    click.echo(f"client_id: {client_id}")
    click.echo(f"client_secret: {made.secret}")
    click.echo("The old secret no longer works and its tokens are revoked.")


@clients_group.command("revoke", help="Revoke a client and every token it holds.")
@click.argument("client_id")
def clients_revoke(client_id: str) -> None:
    with _admin_change() as session:
        client_admin.revoke(session, _cli_actor(), client_id)
    click.echo(f"client {client_id} revoked")


eqa_group = AppGroup("eqa", help="External verifiers' (EQA) clients and their centres.")


@eqa_group.command("assign", help="Let EQA client CLIENT_ID see centre CENTRE_CODE.")
@click.argument("client_id")
@click.argument("centre_code")
def eqa_assign(client_id: str, centre_code: str) -> None:
    with _admin_change() as session:
        client_admin.assign(session, _cli_actor(), client_id, centre_code)
    click.echo(f"client {client_id} assigned to centre {centre_code}")


@eqa_group.command("unassign", help="End EQA client CLIENT_ID's access to CENTRE_CODE.")
@click.argument("client_id")
@click.argument("centre_code")
def eqa_unassign(client_id: str, centre_code: str) -> None:
    with _admin_change() as session:
        client_admin.unassign(session, _cli_actor(), client_id, centre_code)
    click.echo(f"client {client_id} no longer assigned to centre {centre_code}")


@eqa_group.command("list", help="List EQA assignments (of one client with CLIENT_ID).")
@click.argument("client_id", required=False)
def eqa_list(client_id: str | None) -> None:
    session = db.session()
    with _admin_change():
        if client_id:
            clients = [client_admin.client_by_id(session, client_id)]
        else:
            _, clients = client_admin.list_clients(session, Page(1, 1_000_000), ClientKind.EQA)
    for client in clients:
        for assignment in client_admin.assigned_centres(session, client):
            click.echo(
                f"{client.client_id}  {assignment.centre.code:<16} "
                f"{assignment.assigned_at:%Y-%m-%d %H:%M}  {assignment.assigned_by}"
            )


items_group = AppGroup("items", help="Items: approval for live use and item statistics.")


@items_group.command("approve", help="Approve ITEM (its current version) for live use.")
@click.argument("code")
@click.option("--by", required=True, help="Who approves, named, with their role")
def items_approve(code: str, by: str) -> None:
    session = db.session()
    try:
        item = item_provenance.approve(session, code, by)
    except item_provenance.ProvenanceError as exc:
        session.rollback()
        raise click.ClickException(exc.message) from exc
    session.commit()
    cache.clear()
    click.echo(f"{item.code} version {item.approved_version} approved by {item.approved_by}")


@items_group.command("unapprove", help="Withdraw ITEM's approval: it leaves live use.")
@click.argument("code")
def items_unapprove(code: str) -> None:
    session = db.session()
    try:
        item = item_provenance.withdraw_approval(session, code)
    except item_provenance.ProvenanceError as exc:
        session.rollback()
        raise click.ClickException(exc.message) from exc
    session.commit()
    cache.clear()
    click.echo(f"{item.code} is {item.status}")


@items_group.command("stats", help="Item statistics from fully graded attempts.")
@click.option("--unit", help="One unit's items (e.g. CSC-01)")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Submitted on or after")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Submitted on or before")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write CSV here")
def items_stats(unit: str | None, since, until, csv_path: str | None) -> None:
    rows = item_statistics.load(
        db.session(), unit, since.date() if since else None, until.date() if until else None
    )
    stats = item_statistics.compute(rows)
    if csv_path:
        with open(csv_path, "w", encoding="utf-8", newline="") as out:
            out.write(item_statistics.as_csv(stats))
        click.echo(f"{len(stats.items)} item(s) from {stats.attempts} attempt(s) in {csv_path}")
        return
    click.echo(f"{stats.attempts} fully graded attempt(s)")
    click.echo(f"{'item':<14} {'n':>5} {'facility':>9} {'discrim':>8} {'omitted':>8}  choices")
    for item in stats.items:
        discrimination = "-" if item.discrimination is None else f"{item.discrimination:.2f}"
        choices = " ".join(f"{c.choice}{'*' if c.keyed else ''}:{c.rate:.2f}" for c in item.choices)
        click.echo(
            f"{item.item:<14} {item.n:>5} {item.facility:>9.2f} {discrimination:>8} "
            f"{item.omission_rate:>8.2f}  {choices}"
        )
    for criterion in stats.criteria:
        click.echo(f"{criterion.criterion:<14} {criterion.n:>5} met {criterion.met_rate:.2f}")


def init_app(app: Flask) -> None:
    from lti.cli import grades_group, lti_group, worker_command
    from service.demo_cli import demo_group
    from service.privacy_cli import learners_group

    groups = (
        db_group,
        content_group,
        centres_group,
        clients_group,
        eqa_group,
        items_group,
        lti_group,
        grades_group,
        demo_group,
        learners_group,
    )
    for group in groups:
        app.cli.add_command(group)
    app.cli.add_command(worker_command)


def _create_app() -> Flask:
    from service import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="Assessment service administration.")
