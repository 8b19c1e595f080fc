"""Issue 7: every bad input a clean 4xx, on both databases. Limits at the boundary, auth before
validation, a database outage as a 503, and errors documented as they are answered."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from service import create_app
from tests.conftest import bearer

REST_ERROR = {"status", "code", "message"}
CASE_ERROR = {"imsx_codeMajor", "imsx_severity", "imsx_description", "imsx_codeMinor"}
ADMIN_PLATFORMS = "/api/v1/admin/lti/platforms"


def assert_rest_error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.is_json, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert set(body) >= REST_ERROR and body["status"] == status
    return body


# --- authenticate before validating a body -------------------------------------------------


def _example_path(path: str, path_item: dict, operation: dict) -> str:
    for parameter in path_item.get("parameters", []) + operation.get("parameters", []):
        if parameter.get("in") == "path":  # a $ref (pagination) is a query parameter
            value = "1" if parameter["schema"].get("type") == "integer" else "x"
            path = path.replace("{" + parameter["name"] + "}", value)
    return path


def test_every_protected_operation_answers_401_without_a_token_whatever_the_body(client):
    """A caller with no token learns nothing about the payload: 401, never a 422."""
    spec = client.get("/openapi.json").get_json()
    failures, checked = [], 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or not operation.get("security"):
                continue
            if {} in operation["security"]:
                continue  # open to anonymous callers too (the item bank's published samples)
            if path == "/oauth/token":
                continue  # where credentials are presented: RFC 6749's own 400/401 rules
            checked += 1
            url = _example_path(path, operations, operation) + "?page=0&page_size=-1"
            response = client.open(url, method=method.upper(), json=["not", "an", "object"])
            if response.status_code != 401:
                failures.append(f"{method.upper()} {path}: {response.status_code}")
    assert checked >= 10
    assert failures == []


# --- request size, JSON depth, NUL and lone surrogates --------------------------------------


def test_a_body_over_the_limit_is_a_json_413(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    response = client.post(
        ADMIN_PLATFORMS, data=b'{"name": "' + b"x" * 2000 + b'"}', content_type="application/json"
    )
    assert_rest_error(response, 413)


def test_the_default_body_limit_is_one_mebibyte(app, client):
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    response = client.post(ADMIN_PLATFORMS, data=big, content_type="application/json")
    assert_rest_error(response, 413)


def test_a_body_over_the_limit_on_an_lti_page_is_an_html_page(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    response = client.post("/lti/launch", data={"id_token": "x" * 2000, "state": "s"})
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "Reference:" in response.get_data(as_text=True)


@pytest.mark.parametrize("depth", [33, 100_000])
def test_json_nested_too_deeply_is_refused_before_parsing(client, depth):
    body = "[" * depth + "]" * depth
    response = client.post(ADMIN_PLATFORMS, data=body, content_type="application/json")
    assert "deeply" in assert_rest_error(response, 400)["message"]


def test_json_depth_ignores_brackets_inside_strings(client):
    body = json.dumps({"name": "[" * 100 + "{" * 100})
    response = client.post(ADMIN_PLATFORMS, data=body, content_type="application/json")
    assert response.status_code == 401  # past the guard, stopped by authentication


def test_nul_in_a_multipart_body_is_refused(client):
    for data in ({"name": "a\x00b"}, {"a\x00b": "name"}):
        response = client.post(ADMIN_PLATFORMS, data=data, content_type="multipart/form-data")
        assert "NUL" in assert_rest_error(response, 400)["message"]


def test_nul_in_a_multipart_launch_gets_the_lti_error_page(client):
    response = client.post(
        "/lti/launch", data={"state": "a\x00b", "id_token": "x"}, content_type="multipart/form-data"
    )
    assert response.status_code == 400 and response.mimetype == "text/html"


def test_lone_surrogates_in_json_are_refused(app, client):
    headers = bearer(app, ["admin"])
    body = '{"name": "\\ud800", "issuer": "https://lms.example", "client_id": "c"}'
    response = client.post(
        ADMIN_PLATFORMS, data=body, content_type="application/json", headers=headers
    )
    assert_rest_error(response, 400)


# --- huge numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["9223372036854775807", "100001", "1" + "0" * 30])
@pytest.mark.parametrize(
    "path", ["/api/v1/units", "/api/v1/items", "/api/v1/rubrics", "/api/v1/assessments"]
)
def test_huge_page_numbers_are_a_422(client, path, page):
    body = assert_rest_error(client.get(path, query_string={"page": page}), 422)
    assert "page" in body["details"]


def test_huge_page_numbers_on_a_protected_list_are_a_422(app, client):
    headers = bearer(app, ["admin"])
    response = client.get(ADMIN_PLATFORMS, query_string={"page": 2**63 - 1}, headers=headers)
    assert_rest_error(response, 422)


@pytest.mark.parametrize("platform_id", ["2147483648", "9223372036854775808", "1" + "0" * 40])
def test_huge_ids_in_the_path_are_a_404(app, client, platform_id):
    headers = bearer(app, ["admin"])
    assert_rest_error(client.get(f"{ADMIN_PLATFORMS}/{platform_id}", headers=headers), 404)
    response = client.post(f"{ADMIN_PLATFORMS}/{platform_id}/disable", headers=headers)
    assert_rest_error(response, 404)


# --- odd query strings ----------------------------------------------------------------------

ODD_QUERIES = [
    "q=%ED%A0%80",  # a lone surrogate, percent-encoded as UTF-8
    "q=%FF%FE",  # not UTF-8
    "%FF=1",
    "%ED%A0%80=%ED%A0%80",
    "q=%F0%9F%92%A9%E2%80%AE",  # an emoji and a right-to-left override
    "level=%EF%BC%91",  # a full-width digit one
    "page=%D9%A1",  # an Arabic-Indic digit one
    "page=1e3&page_size=1.5",
    "unknown=1&unknown=2",
    "limit=99999999999999999999999&offset=99999999999999999999999",
]


@pytest.mark.parametrize("query", ODD_QUERIES)
@pytest.mark.parametrize(
    "path", ["/api/v1/units", "/api/v1/items", "/ims/case/v1p0/CFDocuments", "/lti/jwks"]
)
def test_odd_query_strings_are_never_a_500(client, path, query):
    response = client.get(f"{path}?{query}")
    assert response.status_code < 500, response.get_data(as_text=True)[:300]


def test_odd_path_segments_are_never_a_500(client):
    for segment in ("%ED%A0%80", "%FF", "%C0%AF", "%F0%9F%92%A9", "x" * 5000):
        for prefix in ("/api/v1/units/", "/api/v1/items/", "/ims/case/v1p1/CFItems/"):
            response = client.get(prefix + segment)
            assert response.status_code < 500, (prefix, segment, response.status_code)


# --- a database outage ----------------------------------------------------------------------


@pytest.fixture(params=["postgresql", "sqlite"])
def unreachable(request, tmp_path: Path):
    """An app whose database cannot be reached: a PostgreSQL port nothing listens on, or a
    SQLite file whose directory is gone."""
    if request.param == "postgresql":
        url = "postgresql+psycopg://root@127.0.0.1:1/x?connect_timeout=2"
        return create_app({"TESTING": True, "DATABASE_URL": url, "DEV_PLATFORM": False})
    directory = tmp_path / "gone"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{directory}/db.sqlite3"})
    shutil.rmtree(directory)
    return app


def test_a_database_outage_is_a_503_with_retry_after(unreachable):
    client = unreachable.test_client()
    for url in ("/api/v1/units", "/api/v1/units/CSC-01", "/api/v1/items?page=2"):
        response = client.get(url)
        assert_rest_error(response, 503)
        assert int(response.headers["Retry-After"]) > 0
    # Authentication reads the database too: still a 503, not a 500 or a 401.
    response = client.get(ADMIN_PLATFORMS, headers={"Authorization": "Bearer x"})
    assert_rest_error(response, 503)


def test_a_database_outage_on_case_is_imsx_status_info(unreachable):
    response = unreachable.test_client().get("/ims/case/v1p0/CFDocuments")
    assert response.status_code == 503 and response.headers["Retry-After"]
    body = response.get_json()
    assert set(body) >= CASE_ERROR and body["imsx_codeMajor"] == "failure"


def test_a_database_outage_on_lti_pages_is_an_html_page(unreachable):
    client = unreachable.test_client()
    for response in (
        client.post("/lti/launch", data={"state": "s", "id_token": "x"}),
        client.get("/lti/attempt?ls=whatever"),
    ):
        assert response.status_code == 503 and response.mimetype == "text/html"
        assert "not available just now" in response.get_data(as_text=True)
        assert response.headers["Retry-After"]


# --- the document says what the service answers ----------------------------------------------


def test_every_operation_documents_the_errors_it_can_answer(client):
    spec = client.get("/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            responses = set(operation["responses"])
            expected = {"400", "429", "503", "default"}
            if "{" in path:
                expected.add("404")
            if "requestBody" in operation:
                expected |= {"413", "422"}
            if operation.get("security"):
                expected.add("401")  # no token, or a bad one
                if {} not in operation["security"]:
                    expected.add("403")  # open to anonymous callers: no scope to lack
            if path == "/oauth/token":
                # Where credentials are presented: no scope to lack (403), and its form cannot
                # fail validation (all optional strings), so no 422.
                expected -= {"403", "422"}
            assert expected <= responses, (method, path, expected - responses)
            for status in responses - {"200", "201", "204", "304"}:
                documented = json.dumps(operation["responses"][status])
                wanted = "CASE_ERROR" if path.startswith("/ims/case/") else "ERROR"
                if path == "/oauth/token" and status in ("400", "401", "429"):
                    wanted = "OAuthError" if status != "429" else "TokenRateLimited"
                assert wanted in documented or "UNPROCESSABLE" in documented, (path, status)
                if path.startswith("/ims/case/"):
                    assert "CASE_ERROR" in documented, (path, status)


def test_case_errors_are_documented_as_imsx_status_info(client):
    spec = client.get("/openapi.json").get_json()
    schema = spec["components"]["schemas"]["CaseStatusInfo"]
    assert set(schema["required"]) >= {"imsx_codeMajor", "imsx_severity"}
    response = spec["components"]["responses"]["CASE_ERROR_404"]
    assert response["content"]["application/json"]["schema"]["$ref"].endswith("CaseStatusInfo")


def test_the_pagination_header_is_documented_as_json(client):
    """X-Pagination is a JSON object; documented with a bare schema it reads as OpenAPI's
    comma-separated "simple" style, which no client parses (schemathesis found it)."""
    header = client.get("/openapi.json").get_json()["components"]["headers"]["PAGINATION"]
    assert "application/json" in header["content"]
    response = client.get("/api/v1/units")
    assert json.loads(response.headers["X-Pagination"])["page"] == 1
