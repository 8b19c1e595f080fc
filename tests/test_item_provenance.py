"""Item provenance (review A12): status from the review record, the awarding body's approval
through the CLI and the API, reloads that keep it, and delivery limited to approved items."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service import db, item_provenance
from service.content_loader import load_content
from service.content_vocabulary import ItemStatus
from service.models import AttemptItem, Item
from tests.conftest import bearer, loaded_database, make_app

APPROVER = "Dr A. Patel, sector expert"


def _item(app, code: str) -> Item:
    with app.app_context():
        item = db.session().scalar(select(Item).where(Item.code == code))
        db.session().expunge(item)
        return item


def test_status_comes_from_the_review_record_and_never_says_approved(fresh):
    app, _ = fresh
    with app.app_context():
        statuses = dict(db.session().execute(select(Item.code, Item.status)).all())
    assert statuses["CSC-04-Q001"] == ItemStatus.REVIEWED  # a recorded review
    assert statuses["CSC-04-Q016"] == ItemStatus.DRAFT  # "Not yet reviewed": status: draft
    assert statuses["CSC-04-Q013"] == ItemStatus.DRAFT  # no reviewer at all
    assert ItemStatus.APPROVED not in statuses.values()
    q001 = _item(app, "CSC-04-Q001")
    assert q001.written_by.startswith("Item writer CSC-04")
    assert q001.reviewed_by.startswith("Content reviewer")


def test_cli_approves_and_a_reload_keeps_the_approval_until_the_item_changes(fresh):
    app, content_dir = fresh
    runner = app.test_cli_runner()
    result = runner.invoke(args=["items", "approve", "CSC-04-Q001", "--by", APPROVER])
    assert result.exit_code == 0, result.output
    approved = _item(app, "CSC-04-Q001")
    assert (approved.status, approved.approved_by, approved.approved_version) == (
        ItemStatus.APPROVED,
        APPROVER,
        1,
    )
    assert approved.approved_at is not None

    with app.app_context():
        load_content(db.session(), content_dir)  # unchanged files: the approval stays
        db.session().commit()
    assert _item(app, "CSC-04-Q001").status == ItemStatus.APPROVED

    items = content_dir / "items" / "CSC-04.yaml"
    text = items.read_text(encoding="utf-8")
    items.write_text(text.replace("title: ", "title: Changed ", 1), encoding="utf-8")
    with app.app_context():
        report = load_content(db.session(), content_dir)
        db.session().commit()
    assert any("approve it again" in change for change in report.changes)
    changed = _item(app, "CSC-04-Q001")
    assert (changed.status, changed.approved_by, changed.current_version) == (
        ItemStatus.REVIEWED,
        None,
        2,
    )


def test_cli_refuses_a_draft_and_an_unknown_item(fresh):
    app, _ = fresh
    runner = app.test_cli_runner()
    draft = runner.invoke(args=["items", "approve", "CSC-04-Q016", "--by", APPROVER])
    assert draft.exit_code != 0 and "needs a recorded review" in draft.output
    unknown = runner.invoke(args=["items", "approve", "CSC-99-Q001", "--by", APPROVER])
    assert unknown.exit_code != 0 and "No item" in unknown.output
    assert _item(app, "CSC-04-Q016").status == ItemStatus.DRAFT


def test_api_approves_and_withdraws_with_the_approve_scope_only(fresh):
    app, _ = fresh
    client = app.test_client()
    url = "/api/v1/items/CSC-04-Q001/approval"
    reader = bearer(app, ["content:read"])
    approver = bearer(app, ["content:approve"])
    assert client.put(url, json={"by": APPROVER}, headers=reader).status_code == 403
    answer = client.put(url, json={"by": APPROVER}, headers=approver)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "approved"
    assert answer.get_json()["approved_by"] == APPROVER
    shown = client.get(url, headers=reader).get_json()
    assert (shown["status"], shown["approved_version"]) == ("approved", 1)
    withdrawn = client.delete(url, headers=approver).get_json()
    assert (withdrawn["status"], withdrawn["approved_by"]) == ("reviewed", None)
    draft = client.put(
        "/api/v1/items/CSC-04-Q016/approval", json={"by": APPROVER}, headers=approver
    )
    assert draft.status_code == 409
    missing = client.get("/api/v1/items/CSC-99-Q001/approval", headers=reader)
    assert missing.status_code == 404


def test_the_approve_scope_is_for_the_awarding_body_only(fresh):
    app, _ = fresh
    with pytest.raises(ValueError, match="awarding body"):
        bearer(app, ["content:approve"], centre_code="C-PROV")


def test_delivery_limited_to_approved_items(tmp_path):
    with loaded_database(tmp_path) as url:
        app = make_app(url, DELIVER_APPROVED_ONLY=True, loaded=True)
        try:
            headers = bearer(app, ["attempts:write"], centre_code="C-LIVE")
            client = app.test_client()
            start = "/api/v1/assessments/CSC-04-A1/attempts"
            refused = client.post(start, json={"learner_ref": "L0"}, headers=headers)
            assert refused.status_code == 409, refused.get_json()
            assert "approved" in refused.get_json()["message"]

            with app.app_context():
                session = db.session()
                items = session.scalars(select(Item).where(Item.code.like("CSC-04-%"))).all()
                # Held back: two of AC1's five items; the rest approved (drafts as if reviewed).
                held = {"CSC-04-Q001", "CSC-04-Q003"}
                for item in items:
                    if item.code in held:
                        continue
                    item.status = ItemStatus.REVIEWED
                    item_provenance.approve(session, item.code, APPROVER)
                session.commit()
            for n in range(8):
                answer = client.post(start, json={"learner_ref": f"L{n}"}, headers=headers)
                assert answer.status_code == 201, answer.get_json()
            with app.app_context():
                drawn = set(db.session().scalars(select(AttemptItem.item_code)))
            assert drawn and not drawn & held
        finally:
            app.extensions["db_engine"].dispose()


def test_a_learner_is_told_when_too_few_items_are_approved(tmp_path, requests_mock):
    from tests import lti_flow
    from tests.test_lti_pages import _launch

    with loaded_database(tmp_path) as url:
        app = make_app(url, DEV_PLATFORM=True, DELIVER_APPROVED_ONLY=True, loaded=True)
        try:
            client = app.test_client()
            lti_flow.register(app)
            lti_flow.mock_platform_jwks(app, requests_mock)
            _path, ls = _launch(app, client, sub="not-yet-live")
            page = client.get("/lti/attempt", query_string={"ls": ls})
            assert page.status_code == 200
            assert "not available yet" in page.get_data(as_text=True)
            with app.app_context():
                assert db.session().scalar(select(AttemptItem.id)) is None
        finally:
            app.extensions["db_engine"].dispose()
