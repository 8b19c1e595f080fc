"""Command line: `assessment <command>` (or `flask --app service <command>`)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup
from sqlalchemy import select

from service import auth, cache, db, migrations
from service.content_files import ContentError
from service.content_loader import load_content, read_content
from service.identifiers import new_uuid
from service.models import Centre, OAuthClient, utcnow

# AppGroup runs each command inside an application context.
db_group = AppGroup("db", help="Database schema.")


@db_group.command("upgrade", help="Apply Alembic migrations up to the newest.")
def db_upgrade() -> None:
    migrations.upgrade(current_app.config["DATABASE_URL"])
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
    except ContentError as exc:
        raise click.ClickException(str(exc)) from exc
    # Always: a process that loaded without clearing (a test, a crash) must not leave stale pages.
    cache.clear()
    for change in report.changes:
        click.echo(change)
    click.echo(f"{len(report.changes)} change(s)" if report.changed else "content unchanged")


centres_group = AppGroup("centres", help="Centres (colleges, training providers).")


@centres_group.command("create", help="Add a centre: CODE and NAME.")
@click.argument("code")
@click.argument("name")
def centres_create(code: str, name: str) -> None:
    session = db.session()
    if session.scalar(select(Centre).where(Centre.code == code)):
        raise click.ClickException(f"centre {code} already exists")
    session.add(Centre(code=code, name=name, uuid=new_uuid()))
    session.commit()
    click.echo(f"centre {code} created")


clients_group = AppGroup("clients", help="OAuth 2.0 API clients.")


@clients_group.command("create", help="Create a client; prints its id and secret once.")
@click.option("--name", required=True, help="Who the client is for")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help=f"Repeat for each: {', '.join(auth.SCOPES)}",
)
@click.option("--centre", "centre_code", help="Bind to one centre (default: awarding body)")
def clients_create(name: str, scopes: tuple[str, ...], centre_code: str | None) -> None:
    session = db.session()
    centre = None
    if centre_code:
        centre = session.scalar(select(Centre).where(Centre.code == centre_code))
        if centre is None:
            raise click.ClickException(f"no centre {centre_code}")
    try:
        client, secret = auth.create_client(session, name, list(scopes), centre)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"client_id: {client.client_id}")
    click.echo(f"client_secret: {secret}")
    click.echo("The secret is shown once; only its hash is stored.")


@clients_group.command("list", help="List clients (never secrets).")
def clients_list() -> None:
    for client in db.session().scalars(select(OAuthClient).order_by(OAuthClient.id)):
        state = "revoked" if client.revoked_at else "active"
        owner = client.centre.code if client.centre else "awarding body"
        click.echo(f"{client.client_id}  {state:<8} {owner:<16} {client.scopes}  {client.name}")


@clients_group.command("revoke", help="Revoke a client and every token it holds.")
@click.argument("client_id")
def clients_revoke(client_id: str) -> None:
    session = db.session()
    client = session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    if client is None:
        raise click.ClickException(f"no client {client_id}")
    client.revoked_at = utcnow()
    session.commit()
    click.echo(f"client {client_id} revoked")


def init_app(app: Flask) -> None:
    from lti.cli import grades_group, lti_group, worker_command

    groups = (db_group, content_group, centres_group, clients_group, lti_group, grades_group)
    for group in groups:
        app.cli.add_command(group)
    app.cli.add_command(worker_command)


def _create_app() -> Flask:
    from service import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="Assessment service administration.")
