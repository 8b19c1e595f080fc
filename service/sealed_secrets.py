"""Secrets the service must read back, kept encrypted at rest.

A webhook's signing secret cannot be hashed like a client's: the worker computes an HMAC with
it for every delivery. So it is sealed with Fernet (AES-128-CBC with an HMAC-SHA256 tag) under
a key derived from the app's SECRET_KEY by HKDF with a purpose label. A read of the database
(a backup, a replica, a leaked dump) shows only tokens; SECRET_KEY lives in the environment.

Changing SECRET_KEY makes the sealed secrets unreadable: the worker then fails those
deliveries with a message saying so, and rotating the webhook's secret (PATCH rotate_secret)
seals a new one under the new key.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

WEBHOOK_SECRETS = b"assessment-service webhook signing secrets v1"


class Unreadable(Exception):
    """The token was not sealed under this SECRET_KEY (it changed) or was altered."""


@lru_cache(maxsize=8)
def _fernet(secret_key: str, purpose: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str, plaintext: str, purpose: bytes = WEBHOOK_SECRETS) -> str:
    return _fernet(secret_key, purpose).encrypt(plaintext.encode()).decode("ascii")


def unseal(secret_key: str, token: str, purpose: bytes = WEBHOOK_SECRETS) -> str:
    try:
        return _fernet(secret_key, purpose).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError) as error:
        raise Unreadable("sealed under another SECRET_KEY, or altered") from error
