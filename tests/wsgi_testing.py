"""WSGI entry point for tests that run the tool under gunicorn on PostgreSQL with the
development platform: `create_app` refuses DEV_PLATFORM with any database but SQLite unless
the app is in testing mode, and only this test-only module turns that on."""

from service import create_app

app = create_app({"TESTING": True})
