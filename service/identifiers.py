"""Stable UUIDs: derived from human codes, so a reload (or a fresh database) gives the same ids."""

import uuid

# Fixed for the life of the qualification: changing it changes every CASE sourcedId.
NAMESPACE = uuid.UUID("6f1c2b52-3d5e-4a8b-9a61-2f4e7c9d0b13")


def stable_uuid(kind: str, code: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{code}"))


def new_uuid() -> str:
    """A random UUID for records that must never be guessed (attempts)."""
    return str(uuid.uuid4())
