"""The printable coverage heatmap in a real browser: axe-core (WCAG 2.2 A and AA) finds
nothing, and every cell says its state in words, not by colour alone."""

from __future__ import annotations

from service import db
from service.grading.vocabulary import Decision
from tests.conftest import bearer, ensure_centre
from tests.coverage_fixture import add_attempt, add_learner, all_met
from tests.test_accessibility import check_axe, no_console_errors


def test_heatmap_passes_axe(server, page):
    app = server["app"]
    with app.app_context():
        session = db.session()
        centre = ensure_centre(session, "AXE1")
        add_learner(session, centre, "ada", "Ada Lovelace")
        add_learner(session, centre, "cy", "Cy Young")
        add_attempt(session, centre, "ada", {"CSC-01.AC1": (Decision.NOT_YET_MET, ["Q1"])})
        all_met(session, centre, "cy")
        session.commit()
    page.set_extra_http_headers(bearer(app, ["coverage:read"], eqa_of=("AXE1",)))
    response = page.goto(f"{server['base']}/api/v1/coverage?centre=AXE1&unit=CSC-01&format=html")
    assert response.status == 200
    check_axe(page, "coverage heatmap")
    no_console_errors(page)
    cells = page.locator("td.cell").all_inner_texts()
    assert cells and all(
        any(words in text for words in ("Met", "Not yet met", "Pending", "Not evidenced"))
        for text in cells
    )
    # The stylesheet loaded under the strict CSP: met cells are coloured.
    colour = page.locator("td.met").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour != "rgba(0, 0, 0, 0)"
