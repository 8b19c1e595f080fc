"""RSA signing keys in the database, published as JWKS. Rotation: the newest active key signs;
older keys stay published until retired, so platforms can still verify what they signed."""

from __future__ import annotations

import json
import uuid

from jwcrypto import jwk
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti.models import LtiKey
from service.models import utcnow


def generate(session: Session, owner: str = "tool") -> LtiKey:
    kid = uuid.uuid4().hex
    key = jwk.JWK.generate(kty="RSA", size=2048, kid=kid)
    public = json.loads(key.export_public())
    public.update({"alg": "RS256", "use": "sig"})
    row = LtiKey(
        owner=owner,
        kid=kid,
        public_jwk=public,
        private_pem=key.export_to_pem(private_key=True, password=None).decode(),
    )
    session.add(row)
    session.commit()
    return row


def published(session: Session, owner: str = "tool") -> list[LtiKey]:
    return list(
        session.scalars(
            select(LtiKey)
            .where(LtiKey.owner == owner, LtiKey.retired_at.is_(None))
            .order_by(LtiKey.id)
        )
    )


def signing_key(session: Session, owner: str = "tool") -> LtiKey:
    """The newest published key; one is made on first use."""
    keys = published(session, owner)
    return keys[-1] if keys else generate(session, owner)


def jwks(session: Session, owner: str = "tool") -> dict:
    signing_key(session, owner)
    return {"keys": [k.public_jwk for k in published(session, owner)]}


def rotate(session: Session, owner: str = "tool") -> LtiKey:
    return generate(session, owner)


def retire(session: Session, kid: str) -> bool:
    """Stop publishing a key. The signing key cannot be retired (rotate first)."""
    keys = published(session)
    if not keys or keys[-1].kid == kid:
        return False
    row = next((k for k in keys if k.kid == kid), None)
    if row is None:
        return False
    row.retired_at = utcnow()
    session.commit()
    return True
