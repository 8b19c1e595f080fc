"""Item provenance: who wrote and reviewed each item, its status, and the awarding body's
approval for live use.

The files in criteria_data/ say who wrote and reviewed an item and whether it is a draft or
reviewed; they never approve. Approval is a named person's act for the awarding body, recorded
in the database (who, when, which version). Loading the files again keeps an approval while the
item's content is the version approved; a changed item is a new version, which the approval
does not cover, so it goes back to its file status until approved again. These functions never
commit: the CLI command or the view owns the transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from service.content_vocabulary import ItemStatus
from service.models import Item, utcnow


class ProvenanceError(Exception):
    """An approval the item's state does not allow."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownItem(ProvenanceError):
    def __init__(self, code: str) -> None:
        super().__init__(f"No item with id {code!r}.")


class NotReviewed(ProvenanceError):
    """Only a reviewed item can be approved: a draft has had no independent review."""

    def __init__(self, code: str) -> None:
        super().__init__(f"{code} is a draft: it needs a recorded review before approval.")


class NoApprover(ProvenanceError):
    def __init__(self) -> None:
        super().__init__("Name the person approving (their name and role).")


def file_status(body: dict) -> ItemStatus:
    """The status an item's review record gives it: never `approved`."""
    review = body.get("review", {})
    default = ItemStatus.REVIEWED if review.get("reviewed_by") else ItemStatus.DRAFT
    return ItemStatus(review.get("status", default))


def sync_from_file(item: Item, body: dict) -> str | None:
    """Bring an item's provenance in line with its current version's review record (`body`).
    Returns a line for the load report when an approval no longer applies, else None."""
    review = body.get("review", {})
    item.written_by = review.get("written_by")
    item.reviewed_by = review.get("reviewed_by")
    if item.status == ItemStatus.APPROVED and item.approved_version == item.current_version:
        return None  # the approved content, unchanged: a reload never undoes an approval
    note = None
    if item.status == ItemStatus.APPROVED:
        note = (
            f"item {item.code}: approval of version {item.approved_version} does not cover "
            f"version {item.current_version}; approve it again"
        )
        _clear_approval(item)
    item.status = file_status(body)
    return note


def _clear_approval(item: Item) -> None:
    item.approved_by = item.approved_at = item.approved_version = None


def select_item(code: str):
    return select(Item).options(selectinload(Item.versions)).where(Item.code == code)


def get_item(session: Session, code: str) -> Item:
    item = session.scalar(select_item(code))
    if item is None:
        raise UnknownItem(code)
    return item


def approve(session: Session, code: str, by: str, now: datetime | None = None) -> Item:
    """Approve the item's current version for live use, as `by` (a named person and role).
    Approving an approved item again records the new approver and time."""
    if not by.strip():
        raise NoApprover()
    item = get_item(session, code)
    if item.status == ItemStatus.DRAFT:
        raise NotReviewed(code)
    item.status = ItemStatus.APPROVED
    item.approved_by = by.strip()
    item.approved_at = now or utcnow()
    item.approved_version = item.current_version
    return item


def withdraw_approval(session: Session, code: str) -> Item:
    """Take an item out of live use: back to the status its review record gives it."""
    item = get_item(session, code)
    if item.status == ItemStatus.APPROVED:
        _clear_approval(item)
        item.status = file_status(item.current.body)
    return item


def provenance(item: Item) -> dict:
    return {
        "item": item.code,
        "version": item.current_version,
        "status": item.status,
        "written_by": item.written_by,
        "reviewed_by": item.reviewed_by,
        "approved_by": item.approved_by,
        "approved_at": item.approved_at,
        "approved_version": item.approved_version,
    }
