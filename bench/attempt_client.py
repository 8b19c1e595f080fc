"""A small HTTP client for attempts against a running server, shared by the concurrency tests
and bench/concurrent_saves.py: a token, start, save, submit, mark, and valid responses."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

from sqlalchemy import select

from service import create_app, db
from service.auth import create_client
from service.identifiers import new_uuid
from service.models import Centre


class Api:
    def __init__(self, port: int, token: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=self.headers
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def start(self, learner: str, assessment: str = "CSC-01-A1") -> tuple[int, dict]:
        return self.call(
            "POST", f"/api/v1/assessments/{assessment}/attempts", {"learner_ref": learner}
        )

    def save(self, attempt_id: str, responses: dict) -> tuple[int, dict]:
        body = {"responses": responses}
        return self.call("PUT", f"/api/v1/attempts/{attempt_id}/responses", body)

    def submit(self, attempt_id: str, responses: dict | None = None) -> tuple[int, dict]:
        return self.call(
            "POST", f"/api/v1/attempts/{attempt_id}/submit", {"responses": responses or {}}
        )

    def mark(
        self, attempt_id: str, item: str, levels: dict, previous: dict | None = None
    ) -> tuple[int, dict]:
        body = {"item": item, "levels": levels}
        if previous is not None:
            body["previous"] = previous
        return self.call("POST", f"/api/v1/attempts/{attempt_id}/marks", body)

    def get(self, attempt_id: str) -> tuple[int, dict]:
        return self.call("GET", f"/api/v1/attempts/{attempt_id}")


def token_for(database_url: str, port: int, scopes: list[str], centre_code: str) -> str:
    """A centre client in the database and a bearer token issued by the running server."""
    app = create_app({"DATABASE_URL": database_url})
    with app.app_context():
        session = db.session()
        centre = session.scalar(select(Centre).where(Centre.code == centre_code))
        if centre is None:
            centre = Centre(code=centre_code, name=centre_code, uuid=new_uuid())
            session.add(centre)
            session.commit()
        client, secret = create_client(session, "concurrency", scopes, centre)
        client_id = client.client_id
    app.extensions["db_engine"].dispose()
    form = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/oauth/token",
        data=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access_token"]


def valid_responses(item: dict, count: int) -> list:
    """`count` valid responses to a learner-view item, as different from each other as the
    item allows (text items: all different)."""
    kind = item["type"]
    if kind == "single_choice":
        choices = [o["id"] for o in item["options"]]
    elif kind == "multiple_response":
        choices = [[o["id"]] for o in item["options"]]
    elif kind == "ordering":
        steps = [s["id"] for s in item["steps"]]
        choices = [steps[n:] + steps[:n] for n in range(len(steps))]
    elif kind == "matching":
        choices = [{p["id"]: r["id"] for p in item["premises"]} for r in item["responses"]]
    else:
        return [f"answer {n} {new_uuid()[:8]}" for n in range(count)]
    return [choices[n % len(choices)] for n in range(count)]


def together(count: int, work) -> list:
    """Run work(n) for n in range(count) on threads released at the same moment."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def run(n: int) -> None:
        try:
            barrier.wait()
            results[n] = work(n)
        except Exception as exc:  # noqa: BLE001 - reported to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
