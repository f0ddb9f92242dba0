"""X-Tracked-Skill-Id: only its hash is ever stored or logged (document 001).

`X-Tracked-Skill-Id-Hash` is the SHA-256 hex digest of the raw value, as the document names it, so a
client or provider can compute the same hash to correlate. A deployment whose skill ids are guessable
(short, public names) may set `VOICEMOCK_TRACKING_KEYED_HASH=1`: the hash becomes HMAC-SHA256 keyed
with `VOICEMOCK_TRACKING_SECRET`, which nobody can reverse by hashing a list of candidate ids.

The raw value lives in `g` for the length of the request, so a provider call made inside the request
(the `/api/llm` proxy) forwards it; jobs get `tracked_skill_id_hash` on their row and the raw value
sealed in their broker message only (`sealed_for_job`, see core/sealed.py), so the worker's provider
calls carry both headers too.
"""
from __future__ import annotations

import hashlib
import hmac
import logging

import structlog
from flask import Flask, Response, g, has_request_context, request

from core.config import Settings
from core.errors import ValidationFailed
from core.sealed import seal
from webapp.state import settings

log = logging.getLogger("voicemock.tracking")

HEADER = "X-Tracked-Skill-Id"
HASH_HEADER = "X-Tracked-Skill-Id-Hash"
MAX_LENGTH = 256


def hash_skill_id(config: Settings, value: str) -> str:
    """SHA-256 hex of the raw id (document 001); HMAC-SHA256 when the deployment opted into a keyed hash."""
    if config.tracking_keyed_hash:
        secret = config.tracking_secret or config.secret_key
        return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()
    return hashlib.sha256(value.encode()).hexdigest()


def _begin() -> None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return
    raw = raw.strip()
    if not raw or len(raw) > MAX_LENGTH:
        raise ValidationFailed([{"path": f"header:{HEADER}", "message": f"must be 1 to {MAX_LENGTH} characters"}])
    g.tracked_skill_id = raw
    g.tracked_skill_id_hash = hash_skill_id(settings(), raw)
    structlog.contextvars.bind_contextvars(tracked_skill_id_hash=g.tracked_skill_id_hash)
    log.info("request carries a tracked skill id")  # the hash rides along in the bound context


def _end(resp: Response) -> Response:
    digest = g.get("tracked_skill_id_hash")
    if digest:
        resp.headers[HASH_HEADER] = digest
    return resp


def provider_headers() -> dict[str, str]:
    """Headers for a provider call made inside the current request: both the raw id and its hash."""
    out: dict[str, str] = {}
    if g.get("tracked_skill_id"):
        out[HEADER] = g.tracked_skill_id
    if g.get("tracked_skill_id_hash"):
        out[HASH_HEADER] = g.tracked_skill_id_hash
    return out


def sealed_for_job() -> str | None:
    """The raw id of this request, sealed for a job's broker message (None without one)."""
    raw = g.get("tracked_skill_id") if has_request_context() else None
    return seal(settings().secret_key, raw) if raw else None


def init_app(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_end)
