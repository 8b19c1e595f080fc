"""/api/v1 units and criteria through HTTP."""

from __future__ import annotations

import json

import pytest

from tests.seeds import UNIT_SEEDS, read_seed


def _all_criteria(client, unit_code):
    body = client.get(f"/api/v1/units/{unit_code}/criteria?page_size=100")
    assert body.status_code == 200
    return body.get_json()


def test_lists_the_five_units(client):
    response = client.get("/api/v1/units")
    assert response.status_code == 200
    units = response.get_json()
    assert [u["code"] for u in units] == sorted(UNIT_SEEDS)
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination["total"] == 5
    for unit in units:
        assert unit["criteria_count"] == len(read_seed(UNIT_SEEDS[unit["code"]]).marking_points)


@pytest.mark.parametrize("unit_code", sorted(UNIT_SEEDS))
def test_every_marking_point_is_served_as_a_criterion(client, unit_code):
    seed = read_seed(UNIT_SEEDS[unit_code])
    criteria = _all_criteria(client, unit_code)
    assert len(criteria) == len(seed.marking_points)
    served_points = []
    for criterion in criteria:
        detail = client.get(f"/api/v1/criteria/{criterion['code']}").get_json()
        assert detail["unit_code"] == unit_code
        assert detail["learning_outcome"]["statement"].startswith("The learner will: ")
        assert detail["versions"][-1]["text"] == criterion["text"]
        assert detail["guidance"]["learner"] == seed.tips
        served_points.append(detail["guidance"]["assessor"])
    assert sorted(served_points) == sorted(seed.marking_points)


def test_unit_detail_has_topics_guidance_misconceptions_and_outcomes(client):
    unit = client.get("/api/v1/units/CSC-05").get_json()
    seed = read_seed(UNIT_SEEDS["CSC-05"])
    assert unit["synopsis"] == seed.synopsis
    assert len(unit["knowledge_topics"]) == len(seed.concepts)
    assert unit["learner_guidance"] == seed.tips
    assert [m["text"] for m in unit["misconceptions"]] == seed.misconceptions
    codes = [c for lo in unit["learning_outcomes"] for c in lo["criteria"]]
    assert len(codes) == len(seed.marking_points)
    assert all(c.startswith("CSC-05.AC") for c in codes)


def test_filters(client):
    level3 = client.get("/api/v1/units?level=3").get_json()
    assert {u["level"] for u in level3} == {3} and level3
    graded = client.get("/api/v1/units?grading=graded").get_json()
    assert {u["grading"] for u in graded} == {"graded"}
    search = client.get("/api/v1/units?q=CONTACT CENTRE").get_json()
    assert search and all("contact centre" in (u["title"]).lower() or u for u in search)
    performance = _all_criteria(client, "CSC-01")
    only = client.get("/api/v1/units/CSC-01/criteria?evidence_type=performance").get_json()
    assert only == [c for c in performance if c["evidence_type"] == "performance"]
    assert 0 < len(only) < len(performance)
    merits = client.get("/api/v1/units/CSC-05/criteria?band=merit").get_json()
    assert [c["band"] for c in merits] == ["merit"]


def test_text_search_treats_wildcards_literally(client):
    assert client.get("/api/v1/units?q=%25").get_json() == []
    assert client.get("/api/v1/units/CSC-01/criteria?q=_").get_json() == []


def test_pagination(client):
    first = client.get("/api/v1/units/CSC-01/criteria?page=1&page_size=3")
    second = client.get("/api/v1/units/CSC-01/criteria?page=2&page_size=3")
    meta = json.loads(first.headers["X-Pagination"])
    assert meta == {
        "total": 8,
        "total_pages": 3,
        "first_page": 1,
        "last_page": 3,
        "page": 1,
        "next_page": 2,
    }
    codes = [c["code"] for c in first.get_json() + second.get_json()]
    assert codes == [f"CSC-01.AC{i}" for i in range(1, 7)]


def test_etag_and_304(client):
    response = client.get("/api/v1/units/CSC-02/criteria")
    etag = response.headers["ETag"]
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    again = client.get("/api/v1/units/CSC-02/criteria", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    other = client.get("/api/v1/units/CSC-02/criteria", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200
    filtered = client.get(
        "/api/v1/units/CSC-02/criteria?band=merit", headers={"If-None-Match": etag}
    )
    assert filtered.status_code == 200 and filtered.headers["ETag"] != etag


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/units/CSC-99",
        "/api/v1/units/CSC-99/criteria",
        "/api/v1/criteria/CSC-01.AC99",
        "/api/v1/nothing-here",
    ],
)
def test_unknown_codes_are_404_in_the_error_shape(client, url):
    response = client.get(url)
    assert response.status_code == 404
    body = response.get_json()
    assert body["status"] == 404 and body["code"] == "not_found" and body["message"]


@pytest.mark.parametrize(
    "url,parameter",
    [
        ("/api/v1/units?level=abc", "level"),
        ("/api/v1/units?level=12", "level"),
        ("/api/v1/units?grading=sometimes", "grading"),
        ("/api/v1/units?page=0", "page"),
        ("/api/v1/units?page_size=1000", "page_size"),
        ("/api/v1/units/CSC-01/criteria?evidence_type=vibes", "evidence_type"),
        ("/api/v1/units/CSC-01/criteria?band=gold", "band"),
        (f"/api/v1/units?q={'x' * 201}", "q"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_parameter(client, url, parameter):
    response = client.get(url)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "unprocessable_entity"
    assert parameter in body["details"] and parameter in body["message"]


def test_wrong_method_is_405_in_the_error_shape(client):
    response = client.post("/api/v1/units")
    assert response.status_code == 405
    assert response.get_json()["status"] == 405
    assert "GET" in response.headers["Allow"]
