"""Administering API clients, centres and EQA assignments: one set of rules for the CLI
(`assessment clients|eqa|centres ...`) and the admin API (/api/v1/admin).

Domain code: it raises typed errors and records every change in the audit log; the caller
(the CLI command, the view) commits. Secrets are made here and returned once: only their
hashes are stored.

Rotating a client's secret revokes every token it holds: a rotation is usually made because
the secret may have leaked, and a token bought with a leaked secret must not outlive it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import audit
from service.audit_vocabulary import AuditAction
from service.auth import ClientError, new_client
from service.catalogue import Page, count_and_page
from service.client_secrets import hash_secret
from service.client_vocabulary import ClientKind
from service.identifiers import new_uuid
from service.models import Centre, EqaAssignment, OAuthClient, OAuthToken, utcnow


class AdminError(Exception):
    """A change that cannot be made as asked."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(AdminError):
    """No such client, centre or assignment."""


class Invalid(AdminError):
    """The input names something impossible (a scope the kind may not hold...)."""


class Conflict(AdminError):
    """The change conflicts with what exists (a centre code taken, a revoked client)."""


@dataclass(frozen=True)
class NewClient:
    client: OAuthClient
    secret: str


def centre_by_code(session: Session, code: str) -> Centre:
    centre = session.scalar(select(Centre).where(Centre.code == code))
    if centre is None:
        raise NotFound(f"No centre {code!r}.")
    return centre


def client_by_id(session: Session, client_id: str) -> OAuthClient:
    client = session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    if client is None:
        raise NotFound(f"No client {client_id!r}.")
    return client


def create_centre(session: Session, actor: str, code: str, name: str) -> Centre:
    if session.scalar(select(Centre.id).where(Centre.code == code)) is not None:
        raise Conflict(f"Centre {code!r} already exists.")
    centre = Centre(code=code, name=name, uuid=new_uuid())
    try:
        with session.begin_nested():
            session.add(centre)
            session.flush()
    except IntegrityError:
        # Made by someone else at the same moment: the unique code decides.
        raise Conflict(f"Centre {code!r} already exists.") from None
    audit.record(session, actor, AuditAction.CREATE, f"centre:{code}", [(None, centre.id)])
    return centre


def list_centres(session: Session, page: Page) -> tuple[int, list[Centre]]:
    return count_and_page(session, select(Centre).order_by(Centre.code), page)


def create_client(
    session: Session,
    actor: str,
    name: str,
    kind: ClientKind,
    scopes: list[str],
    centre_code: str | None = None,
) -> NewClient:
    centre = centre_by_code(session, centre_code) if centre_code else None
    try:
        client, secret = new_client(session, name, scopes, centre, kind)
    except ClientError as exc:
        raise Invalid(str(exc)) from None
    _record(session, actor, AuditAction.CREATE, client)
    return NewClient(client, secret)


def list_clients(
    session: Session,
    page: Page,
    kind: ClientKind | None = None,
    centre_code: str | None = None,
    include_revoked: bool = True,
) -> tuple[int, list[OAuthClient]]:
    """Clients, oldest first; `centre_code` keeps a centre's clients and the EQAs assigned to it."""
    query = select(OAuthClient).order_by(OAuthClient.id)
    if kind is not None:
        query = query.where(OAuthClient.kind == kind)
    if centre_code is not None:
        centre_id = select(Centre.id).where(Centre.code == centre_code).scalar_subquery()
        assigned = select(EqaAssignment.client_id).where(EqaAssignment.centre_id == centre_id)
        query = query.where((OAuthClient.centre_id == centre_id) | OAuthClient.id.in_(assigned))
    if not include_revoked:
        query = query.where(OAuthClient.revoked_at.is_(None))
    return count_and_page(session, query, page)


def assigned_centres(session: Session, client: OAuthClient) -> list[EqaAssignment]:
    return list(
        session.scalars(
            select(EqaAssignment)
            .join(Centre, Centre.id == EqaAssignment.centre_id)
            .where(EqaAssignment.client_id == client.id)
            .order_by(Centre.code)
        )
    )


def rotate(session: Session, actor: str, client_id: str) -> NewClient:
    """A new secret (returned once); the old one stops working and the client's tokens are
    revoked (see the module docstring)."""
    client = _active(session, client_id)
    secret = secrets.token_urlsafe(32)
    client.secret_hash = hash_secret(secret)
    _revoke_tokens(session, client)
    _record(session, actor, AuditAction.ROTATE, client)
    return NewClient(client, secret)


def revoke(session: Session, actor: str, client_id: str) -> OAuthClient:
    """Revoke the client and every token it holds. Revoking twice changes nothing."""
    client = client_by_id(session, client_id)
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        _revoke_tokens(session, client)
        _record(session, actor, AuditAction.REVOKE, client)
    return client


def assign(session: Session, actor: str, client_id: str, centre_code: str) -> EqaAssignment:
    """Assign an EQA's client to a centre; assigning again keeps the first assignment."""
    client = _active(session, client_id)
    if client.kind != ClientKind.EQA:
        raise Invalid("Only an external verifier's (eqa) client is assigned to centres.")
    centre = centre_by_code(session, centre_code)
    found = _assignment(session, client, centre)
    if found is not None:
        return found
    assignment = EqaAssignment(client_id=client.id, centre_id=centre.id, assigned_by=actor)
    try:
        with session.begin_nested():
            session.add(assignment)
            session.flush()
    except IntegrityError:
        # Assigned by someone else at the same moment: theirs stands, and nothing more is
        # recorded (the unique (client, centre) decides).
        return _assignment(session, client, centre)
    _record(session, actor, AuditAction.ASSIGN, client, centre.id)
    return assignment


def unassign(session: Session, actor: str, client_id: str, centre_code: str) -> None:
    client = client_by_id(session, client_id)
    centre = centre_by_code(session, centre_code)
    found = _assignment(session, client, centre)
    if found is None:
        raise NotFound(f"Client {client_id!r} is not assigned to centre {centre_code!r}.")
    # A core DELETE: of two simultaneous removals, the one that deleted nothing says so.
    removed = session.execute(delete(EqaAssignment).where(EqaAssignment.id == found.id))
    if removed.rowcount == 0:
        raise NotFound(f"Client {client_id!r} is not assigned to centre {centre_code!r}.")
    _record(session, actor, AuditAction.UNASSIGN, client, centre.id)


def _assignment(session: Session, client: OAuthClient, centre: Centre) -> EqaAssignment | None:
    return session.scalar(
        select(EqaAssignment).where(
            EqaAssignment.client_id == client.id, EqaAssignment.centre_id == centre.id
        )
    )


def _active(session: Session, client_id: str) -> OAuthClient:
    client = client_by_id(session, client_id)
    if client.revoked_at is not None:
        raise Conflict(f"Client {client_id!r} is revoked; create a new client.")
    return client


def _revoke_tokens(session: Session, client: OAuthClient) -> None:
    session.execute(
        update(OAuthToken)
        .where(OAuthToken.client_id == client.id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def _record(
    session: Session,
    actor: str,
    action: AuditAction,
    client: OAuthClient,
    centre_id: int | None = None,
) -> None:
    centre_id = centre_id if centre_id is not None else client.centre_id
    audit.record(session, actor, action, f"client:{client.client_id}", [(None, centre_id)])
