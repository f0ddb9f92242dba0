"""Idempotency-Key on every POST (DESIGN.md §3), for every route, present and future, without edits.

before_request claims the key with an INSERT guarded by the unique (scope, key) constraint, so of many
concurrent requests exactly one proceeds; the others find the row and answer 409 (still in flight) or
replay the stored status and body (done). A different request under the same key is 422. after_request
stores the response; server errors and refusals that a retry could change (401, 409, 429, 5xx)
release the key instead, so the client can try again with it. Keys are per user and live 24 h
(settings.retention_idempotency_hours); the retention job purges expired ones.

Keys belong to an authenticated caller: one without a token of ours gets a 400 for a key (two clients
behind one address must never share answers). Stored answers hold no credentials: every token in a
body (a session token, a guest token, a stream URL's `?st=`) is replaced by the claims needed to
mint it again, and a replay carries freshly minted tokens for the same caller.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import timedelta

from flask import Flask, Response, current_app, g, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from core import tokens
from core.clock import utcnow
from core.errors import Conflict, Unauthorized, Unprocessable, ValidationFailed
from core.models import IdempotencyKey
from webapp.ratelimit import identity
from webapp.state import settings, state

HEADER = "Idempotency-Key"
_SANE = re.compile(r"^[\x21-\x7e]{1,255}$")
_RELEASE = {401, 408, 409, 425, 429}
_MAX_STORED = 1024 * 1024
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_SEALED = re.compile(r"\{\{vm-token:([A-Za-z0-9_=-]+)\}\}")


def _seal(body: str) -> str | None:
    """The body with every token replaced by what it takes to mint it again; None if a token in it
    is not one of ours (then the answer is not stored at all)."""
    foreign = False

    def swap(match: re.Match[str]) -> str:
        nonlocal foreign
        try:
            claims = tokens.own_claims(settings(), match.group(0))
        except Unauthorized:
            foreign = True
            return ""
        kept = {k: claims[k] for k in tokens.REISSUABLE if k in claims}
        kept["ttl"] = int(claims["exp"]) - int(claims["iat"])
        return "{{vm-token:" + base64.urlsafe_b64encode(json.dumps(kept).encode()).decode() + "}}"

    sealed = _JWT.sub(swap, body)
    return None if foreign else sealed


def _unseal(body: str) -> str:
    return _SEALED.sub(lambda m: tokens.reissue(settings(), json.loads(base64.urlsafe_b64decode(m.group(1)))),
                       body)


def _fingerprint() -> str:
    """What makes two requests "the same": method, path, query and body (form fields and file bytes
    for multipart, raw bytes otherwise)."""
    h = hashlib.sha256()
    h.update(f"{request.method} {request.path}?{request.query_string.decode('latin-1')}\n".encode())
    if (request.mimetype or "").startswith("multipart/form-data"):
        for name, value in sorted(request.form.items(multi=True)):
            h.update(f"f:{name}={value}\n".encode())
        for name, file in sorted(request.files.items(multi=True), key=lambda kv: kv[0]):
            data = file.read()
            file.seek(0)
            h.update(f"u:{name}:{file.filename}:{file.mimetype}:".encode())
            h.update(hashlib.sha256(data).digest())
    else:
        h.update(request.get_data(cache=True))
    return h.hexdigest()


def _replay(row: IdempotencyKey) -> Response:
    resp = current_app.response_class(_unseal(row.body or ""), status=row.status or 200,
                                      content_type=row.content_type or "application/json")
    resp.headers[HEADER] = row.key
    resp.headers["Idempotent-Replayed"] = "true"
    try:  # the replayed body names the first request's id: the header says the same
        first_id = json.loads(row.body or "{}").get("request_id")
    except (ValueError, AttributeError):
        first_id = None
    if isinstance(first_id, str) and first_id:
        resp.headers["X-Request-ID"] = first_id
    return resp


def _claim() -> Response | None:
    if request.method != "POST":
        return None
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not _SANE.match(key):
        raise ValidationFailed([{"path": f"header:{HEADER}", "message": "must be 1 to 255 visible ASCII characters"}])
    g.idempotency_key = key
    scope = identity(settings())
    if scope.startswith("ip:"):
        raise ValidationFailed([{"path": f"header:{HEADER}", "message": "needs an authenticated caller (a bearer or "
                                 "session token): answers are never shared between anonymous clients"}],
                               stage="idempotency")
    fingerprint = _fingerprint()
    database = state().runtime.db
    for _ in range(2):
        now = utcnow()
        row = IdempotencyKey(scope=scope, key=key, request_hash=fingerprint, method=request.method,
                             path=request.path[:500], state="in_flight", created_at=now,
                             expires_at=now + timedelta(hours=settings().retention_idempotency_hours))
        with database.Session() as s:
            s.add(row)
            try:
                s.commit()
                g.idempotency_claim = row.id
                return None
            except IntegrityError:
                s.rollback()
            existing = s.execute(select(IdempotencyKey).where(IdempotencyKey.scope == scope,
                                                              IdempotencyKey.key == key)).scalar_one_or_none()
            if existing is None:
                continue  # released between our INSERT and SELECT: claim again
            if existing.expires_at <= now:
                s.execute(delete(IdempotencyKey).where(IdempotencyKey.id == existing.id,
                                                       IdempotencyKey.expires_at <= now))
                s.commit()
                continue
            if existing.request_hash != fingerprint:
                raise Unprocessable(f"{HEADER} {key!r} was already used with a different request",
                                    stage="idempotency", headers={HEADER: key})
            if existing.state != "done":
                raise Conflict(f"a request with {HEADER} {key!r} is still in progress; retry shortly",
                               stage="idempotency", headers={"Retry-After": "1", HEADER: key})
            g.idempotency_replayed = True
            return _replay(existing)
    raise Conflict(f"{HEADER} {key!r} is contended; retry shortly", stage="idempotency",
                   headers={"Retry-After": "1", HEADER: key})


def _store(resp: Response) -> Response:
    key = g.get("idempotency_key")
    if key is not None:
        resp.headers[HEADER] = key
    claim = g.pop("idempotency_claim", None)
    if claim is None:
        return resp
    database = state().runtime.db
    with database.session_scope() as s:
        storable = not (resp.is_streamed or resp.direct_passthrough)
        if resp.status_code >= 500 or resp.status_code in _RELEASE or not storable:
            s.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claim))
            return resp
        body = _seal(resp.get_data(as_text=True))
        if body is None or len(body) > _MAX_STORED:
            s.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claim))
            return resp
        s.execute(update(IdempotencyKey).where(IdempotencyKey.id == claim).values(
            state="done", status=resp.status_code, body=body, content_type=resp.content_type))
    return resp


def _release(exc: BaseException | None) -> None:
    """A request that ended without a response (an exception escaped every handler) frees its key."""
    claim = g.pop("idempotency_claim", None)
    if claim is not None:
        with state().runtime.db.session_scope() as s:
            s.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claim))


def init_app(app: Flask) -> None:
    app.before_request(_claim)
    app.after_request(_store)
    app.teardown_request(_release)
