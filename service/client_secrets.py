"""Hashing of OAuth client secrets.

Client secrets are random 32-byte tokens made by the service (256 bits), never passwords a
person chose, so a slow password hash buys nothing: guessing is hopeless at any speed. A plain
SHA-256 of such a secret is the standard store for machine credentials, and it keeps a flood of
wrong secrets at /oauth/token cheap (each scrypt check cost ~100 ms of CPU, which let a few
callers starve the whole service).

Hashes written before this change are werkzeug scrypt/pbkdf2 strings; they are still verified,
and the caller re-hashes on the next successful use (see `needs_rehash`).
"""

from __future__ import annotations

import hashlib
import hmac

from werkzeug.security import check_password_hash

PREFIX = "sha256$"


def hash_secret(secret: str) -> str:
    return PREFIX + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def verify_secret(stored: str, secret: str) -> bool:
    if stored.startswith(PREFIX):
        return hmac.compare_digest(stored, hash_secret(secret))
    # Legacy werkzeug hash ("scrypt:...", "pbkdf2:..."): slow, but only until next use.
    return check_password_hash(stored, secret)


def needs_rehash(stored: str) -> bool:
    return not stored.startswith(PREFIX)
