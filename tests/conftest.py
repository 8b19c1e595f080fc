"""Fixtures. The database is SQLite unless TEST_DATABASE_URL names a PostgreSQL server.

Tests that change content get an isolated database of their own: a temporary SQLite file,
or on PostgreSQL a schema of their own selected through search_path.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sqlite3
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, make_url, text

from service import create_app, db, migrations
from service.config import PROJECT_ROOT
from service.content_loader import load_content

# Browser fixtures (server, browser, page) for the Playwright tests.
pytest_plugins = ["tests.browser_fixtures"]

# Copies of the seeds, platform captures and standards the tests use (sources in
# tests/data/README.md): the suite never reads outside the repository.
TEST_DATA = Path(__file__).resolve().parent / "data"
CAPTURES = TEST_DATA / "captures" / "moodle-4.5.6"
STANDARDS = Path(__file__).resolve().parent / "standards"
CONTENT_DIR = PROJECT_ROOT / "criteria_data"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


def on_postgres() -> bool:
    return TEST_DATABASE_URL.startswith("postgresql")


@contextlib.contextmanager
def isolated_database(tmp_path: Path, server_url: str = TEST_DATABASE_URL):
    """Yield the URL of an empty database that nothing else uses: a SQLite file, or a schema
    of its own on the PostgreSQL server at `server_url`."""
    if not server_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.sqlite3'}"
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_app(database_url: str, content_dir: Path = CONTENT_DIR, *, loaded: bool = False, **config):
    """The app on `database_url`, migrated and with the content of `content_dir` loaded; with
    `loaded`, the database is a copy of the template (loaded_database), which already is."""
    if not loaded:
        migrations.upgrade(database_url)
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "CONTENT_DIR": content_dir,
            # The suite makes many tokens from one address: limits far above its needs, set
            # explicitly; the rate-limit tests set their own.
            "OAUTH_TOKEN_RATE_LIMIT": "10000/minute",
            "OAUTH_TOKEN_ADDRESS_RATE_LIMIT": "10000/minute",
            "API_RATE_LIMIT": "100000/minute",
            **config,
        }
    )
    if not loaded:
        with app.app_context():
            load_content(db.session(), content_dir)
            db.session().commit()
    return app


# The template database: migrated and with criteria_data/ loaded once per test run, then copied
# for each test that needs a database of its own (a file copy on SQLite, CREATE DATABASE ...
# TEMPLATE on PostgreSQL), instead of migrating and loading again each time (about 2 s).
_template: dict[str, str] = {}


def _template_url() -> str:
    if "url" in _template:
        return _template["url"]
    if on_postgres():
        name = f"test_template_{uuid.uuid4().hex[:12]}"
        with _autocommit(TEST_DATABASE_URL) as admin:
            admin.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
        atexit.register(_drop_database, name)
    else:
        folder = tempfile.mkdtemp(prefix="test-template-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        url = f"sqlite:///{Path(folder) / 'template.sqlite3'}"
    make_app(url).extensions["db_engine"].dispose()
    if not on_postgres():
        # Fold the write-ahead log into the file, so that a copy of the file is the database.
        with contextlib.closing(sqlite3.connect(make_url(url).database)) as connection:
            connection.execute("PRAGMA journal_mode=DELETE")
    _template["url"] = url
    return url


@contextlib.contextmanager
def _autocommit(server_url: str):
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _drop_database(name: str) -> None:
    with _autocommit(TEST_DATABASE_URL) as admin:
        admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def loaded_database(tmp_path: Path):
    """Yield the URL of a database of its own that is already migrated and has criteria_data/
    loaded: a copy of the template. Use it with make_app(url, ..., loaded=True)."""
    template = _template_url()
    if not on_postgres():
        path = tmp_path / f"{uuid.uuid4().hex}.sqlite3"
        shutil.copyfile(make_url(template).database, path)
        yield f"sqlite:///{path}"
        return
    name = f"test_copy_{uuid.uuid4().hex[:12]}"
    with _autocommit(TEST_DATABASE_URL) as admin:
        admin.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(template).database}"'))
    try:
        yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _drop_database(name)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """One migrated database with the content loaded, shared by read-only tests."""
    with loaded_database(tmp_path_factory.mktemp("db")) as url:
        # DEV_PLATFORM: LTI tests launch from the development platform (JWKS on localhost).
        application = make_app(url, DEV_PLATFORM=True, loaded=True)
        yield application
        application.extensions["db_engine"].dispose()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def fresh(tmp_path):
    """An app on its own database, with a copy of criteria_data/ that the test may edit."""
    content_dir = tmp_path / "criteria_data"
    shutil.copytree(CONTENT_DIR, content_dir)
    with loaded_database(tmp_path) as url:
        application = make_app(url, content_dir, DEV_PLATFORM=True, loaded=True)
        yield application, content_dir
        application.extensions["db_engine"].dispose()


def ensure_centre(session, code: str):
    """The centre with `code`, created (and committed) if missing."""
    from sqlalchemy import select

    from service.identifiers import new_uuid
    from service.models import Centre

    centre = session.scalar(select(Centre).where(Centre.code == code))
    if centre is None:
        centre = Centre(code=code, name=f"Centre {code}", uuid=new_uuid())
        session.add(centre)
        session.commit()
    return centre


def create_client(
    app, scopes: list[str], centre_code: str | None = None, eqa_of: tuple[str, ...] | None = None
):
    """An OAuth client in the app's database: a centre's (`centre_code`, created if missing),
    an external verifier's assigned to the centres `eqa_of` (created if missing), or else the
    awarding body's."""
    from service.auth import create_client as create
    from service.client_vocabulary import ClientKind
    from service.models import EqaAssignment

    with app.app_context():
        session = db.session()
        centre = ensure_centre(session, centre_code) if centre_code else None
        kind = ClientKind.EQA if eqa_of is not None else None
        client, secret = create(session, "test client", scopes, centre, kind)
        for code in eqa_of or ():
            assigned = ensure_centre(session, code)
            session.add(EqaAssignment(client=client, centre=assigned, assigned_by="test"))
        session.commit()
        return client.client_id, secret


def bearer(
    app, scopes: list[str], centre_code: str | None = None, eqa_of: tuple[str, ...] | None = None
) -> dict:
    """Authorization header with a fresh token for a new client holding `scopes`."""
    client_id, secret = create_client(app, scopes, centre_code, eqa_of)
    response = app.test_client().post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
        },
    )
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def centre_tokens(app, centre: str, other: str) -> dict[str, dict]:
    """Headers for the clients a centre-scoped endpoint is tried with: the centre's reader and
    writer, another centre's, a reader only, and an awarding-body content client."""
    both = ["attempts:write", "attempts:read"]
    return {
        "centre": bearer(app, both, centre_code=centre),
        "other_centre": bearer(app, both, centre_code=other),
        "read_only": bearer(app, ["attempts:read"], centre_code=centre),
        "content": bearer(app, ["content:read"]),
    }
