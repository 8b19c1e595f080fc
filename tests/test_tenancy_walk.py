"""The tenancy walk: every operation of the OpenAPI document, called by every kind of client,
with its path (and required query) parameters filled from centre A's records. Centre B's
client and an EQA not assigned to A must never get a success that carries A's records (they
get 404, or 403/401 for scope); no caller gets a 5xx.

Operations are read from the live document, so other lanes' endpoints join the walk when they
are merged. A parameter the walk cannot fill fails the test, unless its operation is listed in
NO_TENANT (public or holding nothing of a centre's): a new endpoint must say how to reach it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service import db
from service.client_vocabulary import KIND_SCOPES, ClientKind
from service.models import Criterion, Item, Learner, LearnerIdentity, Unit
from tests.conftest import bearer, create_client, ensure_centre, loaded_database, make_app
from tests.test_performance_evidence_api import _body as evidence_body

METHODS = ("get", "post", "put", "patch", "delete")
A, B, OTHER = "TW-A", "TW-B", "TW-X"
LEARNER = "tw-learner-a"
ASSESSMENT = "CSC-01-A1"
# Operations whose parameters need no filling from a centre's records: public ones.
NO_TENANT = {"POST /oauth/token"}
# Callers who must not see A's records.
OUTSIDERS = ("centre B", "EQA not assigned to A")


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    with loaded_database(tmp_path_factory.mktemp("walk")) as url:
        app = make_app(url, loaded=True)
        try:
            yield _setting(app)
        finally:
            app.extensions["db_engine"].dispose()


def _setting(app) -> dict:
    centre_scopes = sorted(KIND_SCOPES[ClientKind.CENTRE])
    eqa_scopes = sorted(KIND_SCOPES[ClientKind.EQA])
    callers = {
        "no token": {},
        "centre A": bearer(app, centre_scopes, centre_code=A),
        "centre B": bearer(app, centre_scopes, centre_code=B),
        "EQA assigned to A": bearer(app, eqa_scopes, eqa_of=(A,)),
        "EQA not assigned to A": bearer(app, eqa_scopes, eqa_of=(B, OTHER)),
        "content client": bearer(app, ["content:read", "content:approve"]),
        "admin client": bearer(app, ["admin"]),
    }
    # The client the admin operations act on (rotating or revoking it harms no caller).
    victim_id, _ = create_client(app, ["results:read"], centre_code=A)
    client = app.test_client()
    mine = callers["centre A"]
    attempt = client.post(
        f"/api/v1/assessments/{ASSESSMENT}/attempts", json={"learner_ref": LEARNER}, headers=mine
    )
    assert attempt.status_code == 201, attempt.get_json()
    # A's webhook first, so that the evidence below gives it a delivery.
    hook = client.post(
        "/api/v1/webhooks", json={"url": "https://hooks.example.com/assessment"}, headers=mine
    )
    assert hook.status_code == 201, hook.get_json()
    hook_id = hook.get_json()["id"]
    evidence = client.post(
        "/api/v1/performance-evidence", json=evidence_body(LEARNER), headers=mine
    )
    assert evidence.status_code == 201, evidence.get_json()
    arrangement = client.put(
        "/api/v1/access-arrangements",
        json={"learner_ref": LEARNER, "extra_time_percent": 25},
        headers=mine,
    )
    assert arrangement.status_code == 200, arrangement.get_json()
    plan = client.post(
        "/api/v1/sampling-plans",
        json={"centre": A, "kind": "summative", "size": 5},
        headers=callers["EQA assigned to A"],
    )
    assert plan.status_code == 201, plan.get_json()
    with app.app_context():
        session = db.session()
        centre_a = ensure_centre(session, A)
        learner_uuid = session.scalar(
            select(Learner.uuid)
            .join(LearnerIdentity, LearnerIdentity.learner_id == Learner.id)
            .where(LearnerIdentity.centre_id == centre_a.id, LearnerIdentity.learner_ref == LEARNER)
        )
        unit = session.scalar(select(Unit).where(Unit.code == "CSC-01"))
        criterion = session.scalar(
            select(Criterion.code).where(Criterion.code.like("CSC-01.%")).order_by(Criterion.code)
        )
        item = session.scalar(select(Item.code).order_by(Item.code))
        unit_uuid = unit.uuid
    attempt_id = attempt.get_json()["id"]
    evidence_id = evidence.get_json()["id"]
    deliveries = client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=mine).get_json()
    assert deliveries, "the evidence's event is queued for A's webhook"
    delivery_id = deliveries[0]["id"]
    # Path and query parameters by name: A's records, or shared content everyone may name.
    fill = {
        "attempt_id": attempt_id,
        "record_id": evidence_id,
        "learner_ref": LEARNER,
        "learner": learner_uuid,
        "learner_id": learner_uuid,
        "learner_uuid": learner_uuid,
        "client_id": victim_id,
        "centre_code": A,
        "centre": A,
        "assessment_code": ASSESSMENT,
        "unit_code": "CSC-01",
        "unit": "CSC-01",
        "criterion_code": criterion,
        "item_id": item,
        "sourced_id": unit_uuid,
        "platform_id": 1,
        "deployment_id": "1",
        "plan_id": plan.get_json()["id"],
        "n": 1,
        "webhook_id": hook_id,
        "delivery_id": delivery_id,
    }
    # What in an answer would be A's: its records' ids, its learner, the client acting for it.
    markers = [attempt_id, evidence_id, learner_uuid, victim_id, plan.get_json()["id"], A]
    markers += [hook_id, delivery_id]
    markers += [row["id"] for row in arrangement.get_json()["history"]]
    return {"app": app, "callers": callers, "fill": fill, "markers": markers}


def _operations(document: dict):
    for path, path_item in document["paths"].items():
        for method in METHODS:
            if method in path_item:
                operation = path_item[method]
                parameters = path_item.get("parameters", []) + operation.get("parameters", [])
                yield method, path, operation, parameters


def _request(method, path, operation, parameters, fill, document):
    """(url, query, json body) for the operation, or the names the walk cannot fill."""
    url, query, missing = path, {}, []
    for parameter in parameters:
        if "$ref" in parameter:
            name = parameter["$ref"].rsplit("/", 1)[-1]
            parameter = document["components"]["parameters"][name]
        name, where = parameter["name"], parameter["in"]
        if where == "path":
            if name not in fill:
                missing.append(name)
                continue
            url = url.replace("{" + name + "}", str(fill[name]))
        elif where == "query" and parameter.get("required"):
            if name not in fill:
                missing.append(name)
                continue
            query[name] = fill[name]
    body = None
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = content["application/json"].get("example")
        if isinstance(body, dict):
            # The body names A's learner and A's centre wherever it names one.
            names = {"learner_ref": fill["learner_ref"], "centre": fill["centre"]}
            body = body | {k: v for k, v in names.items() if k in body}
    return url, query, body, missing


def test_no_operation_shows_centre_a_records_to_another_centre_or_eqa(walk):
    app, callers, fill, markers = walk["app"], walk["callers"], walk["fill"], walk["markers"]
    document = app.extensions["service_api"].spec.to_dict()
    client = app.test_client()
    unfillable, leaks, errors, walked = [], [], [], 0
    for method, path, operation, parameters in _operations(document):
        where = f"{method.upper()} {path}"
        if where in NO_TENANT:
            continue
        url, query, body, missing = _request(method, path, operation, parameters, fill, document)
        if missing:
            unfillable.append(f"{where}: {', '.join(missing)}")
            continue
        walked += 1
        names_a_record = any(
            str(fill[name]) in url
            for name in (
                "attempt_id",
                "record_id",
                "plan_id",
                "learner_id",
                "webhook_id",
                "delivery_id",
            )
        )
        # Outsiders first: they must not see A's records as they are before anyone changes them.
        for name in (*OUTSIDERS, *(c for c in callers if c not in OUTSIDERS)):
            response = client.open(
                url, method=method.upper(), query_string=query, json=body, headers=callers[name]
            )
            if response.status_code >= 500:
                errors.append(f"{where} as {name}: {response.status_code}")
            if name in OUTSIDERS and response.status_code < 300:
                text = response.get_data(as_text=True)
                shown = [m for m in markers if m and m in text]
                if shown:
                    leaks.append(f"{where} as {name}: {response.status_code} shows {shown}")
            # An id of A's record in the path: the outsider is told nothing exists, or lacks scope.
            if name in OUTSIDERS and names_a_record and response.status_code not in (401, 403, 404):
                leaks.append(f"{where} as {name}: {response.status_code}, not 404")
    assert unfillable == [], "add these parameters to the walk's fill, or to NO_TENANT"
    assert leaks == []
    assert errors == []
    assert walked > 40


def test_the_walk_finds_records_it_must_not_show(walk):
    """The markers are real: centre A's own client sees its attempt, and an assigned EQA too."""
    app, callers, fill = walk["app"], walk["callers"], walk["fill"]
    client = app.test_client()
    url = f"/api/v1/attempts/{fill['attempt_id']}"
    assert client.get(url, headers=callers["centre A"]).status_code == 200
    assert client.get(url, headers=callers["EQA assigned to A"]).status_code == 200
    assert client.get(url, headers=callers["centre B"]).status_code == 404
    assert client.get(url, headers=callers["EQA not assigned to A"]).status_code == 404
