"""Retention for operators: receipts (admins) and the on-demand cron trigger (cron secret only)."""
from __future__ import annotations

import hmac

from flask import Blueprint, Response, request
from pydantic import Field
from sqlalchemy import select

from core.errors import Unauthorized
from core.models import RetentionReceipt
from jobs.retention import receipt_dict
from webapp.auth import admin_required
from webapp.enqueue import job_links, new_job, submit
from webapp.envelope import ok
from webapp.openapi import document
from webapp.state import db, settings
from webapp.validation import Strict, query

bp = Blueprint("retention", __name__)


class ReceiptsQuery(Strict):
    limit: int = Field(default=20, ge=1, le=200)
    kind: str | None = Field(default=None, pattern="^(retention|purge)$")


def cron_secret_given() -> bool:
    """The request carries the cron secret (X-Cron-Secret, or Authorization: Bearer <secret>)."""
    expected = settings().cron_secret
    given = request.headers.get("X-Cron-Secret")
    if given is None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        given = token.strip() if scheme.lower() == "bearer" else None
    return bool(expected and given and hmac.compare_digest(given.encode(), expected.encode()))


def _require_cron_secret() -> None:
    if not cron_secret_given():
        raise Unauthorized("this endpoint needs the cron secret (X-Cron-Secret or Authorization: Bearer)",
                           stage="auth")


def _enqueue(kind: str) -> Response:
    _require_cron_secret()
    job = new_job(kind, user_id=None, args={"trigger": "cron"})  # type: ignore[arg-type]
    db().commit()
    submit(job)
    return ok({"kind": kind, **job_links(job)}, status=202)


@bp.post("/api/cron/retention")
@document(summary="Run retention now (cron secret only)", auth="cron", status=202, tags=["retention"],
          data={"type": "object"}, responses={401: "missing or wrong cron secret"})
def cron_retention() -> Response:
    return _enqueue("retention.run")


@bp.post("/api/cron/purge")
@document(summary="Purge deleted accounts and interviews now (cron secret only)", auth="cron", status=202,
          tags=["retention"], data={"type": "object"}, responses={401: "missing or wrong cron secret"})
def cron_purge() -> Response:
    return _enqueue("retention.purge")


@bp.get("/api/retention/receipts")
@document(query=ReceiptsQuery, summary="What retention and purge runs deleted, newest first (admins)",
          tags=["retention"], data={"type": "object"})
@admin_required
def receipts() -> Response:
    q = query(ReceiptsQuery)
    stmt = select(RetentionReceipt)
    if q.kind:
        stmt = stmt.where(RetentionReceipt.kind == q.kind)
    rows = db().execute(stmt.order_by(RetentionReceipt.finished_at.desc()).limit(q.limit)).scalars().all()
    return ok({"receipts": [receipt_dict(r) for r in rows]})
