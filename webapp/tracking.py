"""X-Tracked-Skill-Id: only a keyed hash of it is ever stored or logged.

The raw value lives in `g` for the length of the request, so a provider call made inside the request
(the `/api/llm` proxy) can forward it; jobs get `tracked_skill_id_hash` (copied onto the job row by
`webapp.enqueue.new_job`) and forward only that.
"""
from __future__ import annotations

import hashlib
import hmac

import logging

import structlog
from flask import Flask, Response, g, request

from core.errors import ValidationFailed
from webapp.state import settings

log = logging.getLogger("voicemock.tracking")

HEADER = "X-Tracked-Skill-Id"
HASH_HEADER = "X-Tracked-Skill-Id-Hash"
MAX_LENGTH = 256


def hash_skill_id(secret: str, value: str) -> str:
    """HMAC-SHA256 keyed with the server's tracking secret: not reversible by dictionary without it."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def _begin() -> None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return
    raw = raw.strip()
    if not raw or len(raw) > MAX_LENGTH:
        raise ValidationFailed([{"path": f"header:{HEADER}", "message": f"must be 1 to {MAX_LENGTH} characters"}])
    g.tracked_skill_id = raw
    g.tracked_skill_id_hash = hash_skill_id(settings().tracking_secret or settings().secret_key, raw)
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


def init_app(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_end)
