"""Stripe webhooks and the caller's plan and usage."""
from __future__ import annotations

import time

import stripe
from flask import Blueprint, Response, request
from sqlalchemy.exc import IntegrityError

from core.clock import utcnow
from core.errors import NotFound, ValidationFailed
from core.models import StripeEvent
from core.plans import get_plan, month_start, next_month, used
from jobs.billing import HANDLED
from webapp.auth import authenticate, login_required
from webapp.enqueue import job_links, new_job, submit
from webapp.envelope import error, ok
from webapp.openapi import document
from webapp.state import db, settings
from webapp.validation import loads

bp = Blueprint("billing", __name__)

TOLERANCE_SECONDS = 300


def _signed_at(header: str) -> int:
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.strip().isdigit():
            return int(value)
    return 0


@bp.post("/api/webhooks/stripe")
@document(summary="Stripe webhook (signature verified, deduplicated by event id, processed in a job)",
          auth="stripe", tags=["billing"], headers={"Stripe-Signature": "t=…,v1=… (HMAC-SHA256)"},
          data={"type": "object"})
def stripe_webhook() -> Response:
    secret = settings().stripe_webhook_secret
    if not secret:
        # Not a dependency outage but a feature this installation has not turned on: like a missing route.
        raise NotFound("Stripe webhooks are not enabled on this server (set STRIPE_WEBHOOK_SECRET)", stage="billing")
    payload = request.get_data(cache=True)
    header = request.headers.get("Stripe-Signature")
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        return error(f"invalid Stripe signature: {exc.user_message or 'verification failed'}", status=400,
                     stage="signature")
    except UnicodeDecodeError:
        return error("invalid Stripe signature: the payload is not UTF-8", status=400, stage="signature")
    # The library refuses only signatures older than the tolerance; one dated ahead is as suspect.
    if _signed_at(header or "") > time.time() + TOLERANCE_SECONDS:
        return error(f"invalid Stripe signature: timestamp more than {TOLERANCE_SECONDS} s in the future",
                     status=400, stage="signature")
    raw = loads(payload)  # NaN, infinities and deep nesting are a 400 here, not a 500 from PostgreSQL
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("type"), str) \
            or not raw["id"] or not raw["type"]:
        raise ValidationFailed([{"path": "body", "message": "an event is a JSON object with a string id and type"}])
    event = raw
    session = db()
    row = StripeEvent(id=str(event["id"])[:255], type=str(event["type"])[:100], payload=raw,
                      status="received" if raw["type"] in HANDLED else "ignored")
    session.add(row)
    job = None
    try:
        if row.status == "received":
            job = new_job("billing.process_event", user_id=None, args={"event_id": row.id})  # type: ignore[arg-type]
            session.flush()
            row.job_id = job.id
        session.commit()
    except IntegrityError:
        # Stripe redelivers: the event id is the primary key, so the second copy changes nothing.
        session.rollback()
        return ok({"received": True, "duplicate": True, "event_id": row.id})
    if job is not None:
        submit(job)
        return ok({"received": True, "duplicate": False, "event_id": row.id, **job_links(job)})
    return ok({"received": True, "duplicate": False, "event_id": row.id, "ignored": True})


@bp.get("/api/billing/usage")
@document(summary="The caller's plan, quotas and this month's usage", tags=["billing"], data={"type": "object"})
@login_required
def usage() -> Response:
    user = authenticate().principal
    now = utcnow()
    plan = get_plan(user.plan, settings())
    since = month_start(now)
    return ok({
        "plan": plan.name,
        "period": {"from": since.date().isoformat(), "to": next_month(now).date().isoformat()},
        "sessions": {"used": used(db(), user.id, "session", since), "limit": plan.sessions_per_month},
        "audio_minutes": {"used": round(used(db(), user.id, "audio_seconds", since) / 60, 3),
                          "limit": plan.audio_minutes_per_month},
        "llm_tokens": {"used": used(db(), user.id, "llm_tokens", since)},
    })


def enforce_quota(user_id: str, plan: str | None, kind: str, amount: float) -> None:
    """402 (stage `quota`) if `amount` more `kind` would pass the caller's monthly quota."""
    from core.plans import check_quota

    check_quota(db(), settings(), user_id, plan, kind, amount, utcnow())


def meter(user_id: str, kind: str, amount: float, *, job_id: str | None = None,
          subject_id: str | None = None) -> None:
    """Add a usage-ledger row to the request's transaction (committed with the work it pays for)."""
    from core.models import UsageLedger

    db().add(UsageLedger(user_id=user_id, kind=kind, amount=float(amount), job_id=job_id, subject_id=subject_id))
