"""Probes, OpenAPI document, offline docs, migrations, and no input giving a 500."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from service import create_app
from service.config import PROJECT_ROOT
from service.models import Base

OPENAPI_FILE = PROJECT_ROOT / "openapi" / "openapi.json"


def test_probes(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ok", "database": "ok"}


def test_readyz_says_503_when_the_database_is_unreachable(tmp_path: Path):
    app = create_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_checked_in_openapi_is_current_and_valid(app):
    generated = app.extensions["service_api"].spec.to_dict()
    checked_in = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    assert checked_in == json.loads(json.dumps(generated)), (
        "openapi/openapi.json is stale: run `assessment openapi write`"
    )
    assert checked_in["openapi"].startswith("3.1")
    validate(checked_in)


def test_openapi_served_and_documents_the_error_shape(client):
    spec = client.get("/openapi.json").get_json()
    assert "/api/v1/units/{unit_code}/criteria" in spec["paths"]
    assert "/ims/case/v1p0/CFPackages/{sourced_id}" in spec["paths"]
    error = spec["components"]["schemas"]["Error"]
    assert {"status", "code", "message", "details"} <= set(error["properties"])


def test_docs_work_offline(client):
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert "/docs/docs.css" in html and client.get("/docs/docs.css").status_code == 200
    # Every operation of the document is on the page.
    spec = client.get("/openapi.json").get_json()
    for path, path_item in spec["paths"].items():
        for method in path_item.keys() - {"parameters"}:
            assert f"{method.upper()}</span> <code>{path}</code>" in html, (method, path)
    explorer = client.get("/docs/explorer").get_data(as_text=True)
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        assert asset in explorer
        assert client.get(asset).status_code == 200


def test_migrations_match_the_models(app):
    with app.extensions["db_engine"].connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


PATHS = [
    "/api/v1/units",
    "/api/v1/units/{x}",
    "/api/v1/units/{x}/criteria",
    "/api/v1/criteria/{x}",
    "/ims/case/v1p0/CFDocuments",
    "/ims/case/v1p0/CFItems/{x}",
    "/ims/case/v1p0/CFPackages/{x}",
    "/ims/case/v1p0/CFConcepts/{x}",
]
PARAMS = [
    "level",
    "grading",
    "q",
    "page",
    "page_size",
    "evidence_type",
    "band",
    "limit",
    "offset",
    "sort",
    "orderBy",
    "filter",
    "fields",
]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(PATHS),
    segment=st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s and s not in ".."),
    params=st.dictionaries(st.sampled_from(PARAMS), st.text(max_size=30), max_size=4),
)
def test_no_input_gives_a_500(client, path, segment, params):
    response = client.get(path.replace("{x}", quote(segment, safe="")), query_string=params)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json


def test_nul_characters_are_refused_with_400(client):
    for url in ("/api/v1/units/%00", "/api/v1/units?q=a%00b", "/ims/case/v1p0/CFItems/%00"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert response.is_json
    posted = client.post("/api/v1/assessments/CSC-01-A1/attempts", json={"learner_ref": "a\u0000b"})
    assert posted.status_code == 400


def test_landing_page_links_the_demo_path(client):
    page = client.get("/").get_data(as_text=True)
    for link in ("/docs", "/api/v1/units", "/ims/case/v1p0/CFDocuments", "/lti/config"):
        assert f'href="{link}' in page
        assert client.get(link).status_code == 200
