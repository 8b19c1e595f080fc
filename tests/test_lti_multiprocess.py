"""Nothing an LTI launch needs lives in one process: two server processes sharing PostgreSQL
and Redis, the login on one and the launch on the other, and a replay refused by the other."""

from __future__ import annotations

import html
import re
import tempfile
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import create_engine, text

from bench.common import free_port, gunicorn, prepared_database
from tests.conftest import isolated_database

POSTGRES = "postgresql+psycopg://root@127.0.0.1:5432/test"


def _reachable() -> bool:
    try:
        with create_engine(POSTGRES).connect() as connection:
            connection.execute(text("SELECT 1"))
        return bool(redis.Redis.from_url("redis://127.0.0.1:6379/0").ping())
    except Exception:  # noqa: BLE001 - any failure: the shared services are not here
        return False


pytestmark = pytest.mark.skipif(not _reachable(), reason="needs PostgreSQL and Redis")


def _form_fields(page: str) -> dict[str, str]:
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', page)
    }


def test_login_on_one_process_launch_on_another_and_replay_refused(monkeypatch):
    with isolated_database(Path(tempfile.mkdtemp()), POSTGRES) as url:
        assert url.startswith("postgresql")
        monkeypatch.setenv("DATABASE_URL", url)
        prepared_database()
        port_a, port_b = free_port(), free_port()
        base = f"http://127.0.0.1:{port_a}"
        env = {
            "PUBLIC_BASE_URL": base,
            "DEV_PLATFORM": "1",
            "LTI_SECURE_COOKIES": "0",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        }
        with (
            gunicorn("tests.wsgi_testing:app", url, env=env, port=port_a) as a,
            gunicorn("tests.wsgi_testing:app", url, env=env, port=port_b) as b,
        ):
            browser = requests.Session()
            assert browser.get(f"http://127.0.0.1:{a}/dev-platform/").status_code == 200
            login = browser.get(
                f"http://127.0.0.1:{a}/lti/login",
                params={
                    "iss": f"{base}/dev-platform",
                    "login_hint": "learner-1",
                    "target_link_uri": f"{base}/lti/launch",
                    "client_id": "dev-platform-tool",
                    "lti_message_hint": '{"user": "learner-1", "message": "resource"}',
                    "lti_deployment_id": "dev-deployment-1",
                    "new_window": "1",
                },
                allow_redirects=False,
            )
            assert login.status_code == 302
            platform_page = browser.get(login.headers["Location"])  # the platform signs
            assert platform_page.status_code == 200
            fields = _form_fields(platform_page.text)
            launch = {"id_token": fields["id_token"], "state": fields["state"]}

            on_b = browser.post(
                f"http://127.0.0.1:{b}/lti/launch", data=launch, allow_redirects=False
            )
            assert on_b.status_code == 303, on_b.text
            assert "/lti/attempt?ls=" in on_b.headers["Location"]

            replay_on_a = browser.post(
                f"http://127.0.0.1:{a}/lti/launch", data=launch, allow_redirects=False
            )
            assert replay_on_a.status_code == 400
            assert "Reference:" in replay_on_a.text
