"""`assessment demo create`: the newcomer's demo data and API credentials (service/demo.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from flask.cli import AppGroup

from service import db, demo
from service.config import PROJECT_ROOT

demo_group = AppGroup("demo", help="Demo centres, learners, results and API clients.")

DEFAULT_CREDENTIALS = PROJECT_ROOT / "instance" / "demo-credentials.json"


@demo_group.command("create", help="Make the demo data (once) and new demo API credentials.")
@click.option(
    "--credentials",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CREDENTIALS,
    show_default=True,
    help="Where to write the clients' ids and secrets",
)
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True)
def demo_create(credentials: Path, base_url: str) -> None:
    session = db.session()
    made = demo.create_data(session)
    session.commit()
    clients = demo.fresh_clients(session)
    document = {
        "about": "Demo API clients (invented centres and learners). Get a token with "
        "POST {token_url} (grant_type=client_credentials, HTTP Basic client_id:client_secret).",
        "base_url": base_url,
        "token_url": f"{base_url}/oauth/token",
        "clients": clients,
    }
    credentials.parent.mkdir(parents=True, exist_ok=True)
    # Secrets: readable by the owner only.
    descriptor = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(document, out, indent=2)
    what = "made" if made else "already there"
    click.echo(f"Demo data {what}: centres {', '.join(c.code for c in demo.CENTRES)}.")
    click.echo(f"Demo API credentials written to {credentials}")
