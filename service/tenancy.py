"""Which centres an API client may see: one rule for every endpoint.

- A centre's client: its own centre.
- An external verifier's (EQA) client: the centres an administrator assigned to it, read
  afresh on each request (an assignment ended today stops reads today).
- The awarding body's clients: every centre (and records with no centre).
A record outside the client's centres is answered exactly like a missing one (404).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import false, select, true
from sqlalchemy.orm import Session

from service.client_vocabulary import ClientKind
from service.models import EqaAssignment, OAuthClient


@dataclass(frozen=True)
class Tenancy:
    """`centre_ids` None: every centre (the awarding body)."""

    centre_ids: frozenset[int] | None

    @property
    def everything(self) -> bool:
        return self.centre_ids is None

    def sees(self, centre_id: int | None) -> bool:
        return self.centre_ids is None or centre_id in self.centre_ids

    def condition(self, centre_column):
        """A WHERE clause on a table's centre_id column."""
        if self.centre_ids is None:
            return true()
        if not self.centre_ids:
            return false()
        return centre_column.in_(sorted(self.centre_ids))


def of_client(session: Session, client: OAuthClient) -> Tenancy:
    if client.kind == ClientKind.AWARDING_BODY:
        return Tenancy(None)
    if client.kind == ClientKind.CENTRE:
        return Tenancy(frozenset({client.centre_id}) if client.centre_id else frozenset())
    assigned = session.scalars(
        select(EqaAssignment.centre_id).where(EqaAssignment.client_id == client.id)
    )
    return Tenancy(frozenset(assigned))
