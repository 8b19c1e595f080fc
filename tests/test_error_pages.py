"""Error pages in plain words with a way forward (findings E1, E2, E4 and S4 of the November
2026 accessibility review)."""

from __future__ import annotations

import lxml.html

from tests import test_lti_pages as pages
from tests.test_lti_pages import lti_client  # noqa: F401 (fixture)

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def _title_and_text(response):
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    return doc.findtext(".//title"), " ".join(doc.xpath("//main")[0].text_content().split())


def test_a_learner_on_an_assessor_page_is_told_it_is_for_assessors(app, lti_client):  # noqa: F811
    learner = pages._learner(app, lti_client)
    page = lti_client.get("/lti/assessor", query_string={"ls": learner["ls"]})
    title, text = _title_and_text(page)
    assert page.status_code == 403 and title == "This page is for assessors"
    assert "as a learner" in text and "has expired" not in text and "Reference:" in text
    _path, staff = pages._launch(app, lti_client, "instructor-1")
    title, _text = _title_and_text(lti_client.get("/lti/attempt", query_string={"ls": staff}))
    assert title == "This page is for learners"
    title, text = _title_and_text(lti_client.get("/lti/attempt", query_string={"ls": "gone"}))
    assert title == "This page has expired" and "Nothing you saved is lost" in text


def test_browser_errors_outside_the_api_are_pages(client):
    missing = client.get("/nothing-here", headers=HTML)
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    title, text = _title_and_text(missing)
    assert title == "Page not found" and "open the activity again" in text
    wrong_method = client.get("/lti/launch", headers=HTML)
    assert wrong_method.status_code == 405 and wrong_method.mimetype == "text/html"
    assert "POST" in wrong_method.headers["Allow"]
    assert _title_and_text(wrong_method)[0] == "This address cannot be opened directly"
    # The API keeps its JSON errors.
    api = client.get("/api/v1/nothing-here", headers=HTML)
    assert api.status_code == 404 and api.get_json()["code"] == "not_found"
    assert client.get("/nothing-here").mimetype == "application/json"


def test_the_deep_link_picker_says_what_is_missing(app, lti_client):  # noqa: F811
    response, _token, _state = pages.lti_flow.launch(app, lti_client, "instructor-1", "deep_link")
    ls = pages.parse_qs(pages.urlsplit(response.headers["Location"]).query)["ls"][0]
    page = lti_client.get("/lti/deep-link", query_string={"ls": ls}).get_data(as_text=True)
    doc = lxml.html.fromstring(page)
    assert len(doc.xpath("//fieldset")) == 1 and not doc.xpath("//input[@required]")
    refused = lti_client.post("/lti/deep-link", data={"ls": ls})
    assert refused.status_code == 422
    doc = lxml.html.fromstring(refused.get_data(as_text=True))
    link = doc.xpath("//div[@class='error-summary']//a")[0]
    assert "Choose an assessment" in link.text_content()
    assert doc.xpath(f"//input[@type='radio'][@id='{link.get('href')[1:]}']")
    assert doc.findtext(".//title").startswith("Error: ")
