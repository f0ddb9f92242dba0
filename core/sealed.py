"""Sealing a value that must travel to a worker but must never be stored or logged readable.

The raw `X-Tracked-Skill-Id` is forwarded to LLM providers by jobs (document 001: provider calls carry
both the raw id and its hash), so the worker needs it; the job row and the logs hold only the hash.
It rides in the broker message, encrypted and authenticated (Fernet: AES-128-CBC + HMAC-SHA256) with
a key derived from the server secret, and lives only as long as the message.
"""
from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

_PURPOSE = b"voicemock/sealed/v1:"


def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(_PURPOSE + secret.encode()).digest()))


def seal(secret: str, value: str) -> str:
    return _fernet(secret).encrypt(value.encode()).decode()


def unseal(secret: str, token: str | None, *, max_age: int = 7 * 24 * 3600) -> str | None:
    """The sealed value, or None when the token is missing, forged, from another secret or too old."""
    if not token:
        return None
    try:
        return _fernet(secret).decrypt(token.encode(), ttl=max_age).decode()
    except (InvalidToken, ValueError):
        return None
