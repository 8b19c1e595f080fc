"""Command line: `assessment <command>` (or `flask --app service <command>`)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup

from service import cache, db, migrations
from service.content_loader import ContentError, load_content, read_data_file, read_units

# AppGroup runs each command inside an application context.
db_group = AppGroup("db", help="Database schema.")


@db_group.command("upgrade", help="Apply Alembic migrations up to the newest.")
def db_upgrade() -> None:
    migrations.upgrade(current_app.config["DATABASE_URL"])
    click.echo("database is at the newest migration")


content_group = AppGroup("content", help="The awarding body's content in criteria_data/.")


@content_group.command("check", help="Validate the data files without touching the database.")
def content_check() -> None:
    content_dir = current_app.config["CONTENT_DIR"]
    try:
        read_data_file(content_dir / "qualification.yaml", "qualification.schema.json")
        units = read_units(content_dir)
    except ContentError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{len(units)} unit files valid")


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


def init_app(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(content_group)


def _create_app() -> Flask:
    from service import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="Assessment service administration.")
