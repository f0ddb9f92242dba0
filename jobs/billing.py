"""Stripe events → the user's plan. Runs in a job (`billing.process_event`); idempotent per event."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import BadInput
from core.models import BillingCustomer, StripeEvent, User
from core.plans import DEFAULT_PLAN, plan_for_lookup
from jobs.context import JobContext

HANDLED = ("checkout.session.completed", "customer.subscription.created", "customer.subscription.updated",
           "customer.subscription.deleted", "invoice.payment_failed")
_ACTIVE = {"active", "trialing"}
_ENDED = {"canceled", "unpaid", "incomplete_expired"}


def _customer(session: Session, obj: dict[str, Any]) -> BillingCustomer | None:
    """Find (or, from a checkout naming our user, create) the billing record the object belongs to."""
    cus = obj.get("customer")
    user_id = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("user_id")
    record = None
    if cus:
        record = session.execute(select(BillingCustomer).where(BillingCustomer.stripe_customer_id == cus)
                                 ).scalar_one_or_none()
    if record is None and user_id and session.get(User, user_id) is not None:
        record = session.get(BillingCustomer, user_id)
        if record is None:
            record = BillingCustomer(user_id=user_id, plan=DEFAULT_PLAN)
            session.add(record)
        if cus:
            record.stripe_customer_id = cus
    return record


def _plan_of_subscription(obj: dict[str, Any]) -> str | None:
    plan = plan_for_lookup((obj.get("metadata") or {}).get("plan"))
    if plan:
        return plan
    for item in ((obj.get("items") or {}).get("data") or []):
        price = item.get("price") or {}
        plan = plan_for_lookup(price.get("lookup_key")) or plan_for_lookup((price.get("metadata") or {}).get("plan"))
        if plan:
            return plan
    return None


def apply_event(session: Session, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Apply one event's object to our records; returns what changed (the event's outcome)."""
    record = _customer(session, obj)
    if record is None:
        return {"applied": False, "reason": "no user matches this customer"}
    user = session.get(User, record.user_id)
    before = user.plan if user else None
    if event_type == "checkout.session.completed":
        plan = plan_for_lookup((obj.get("metadata") or {}).get("plan")) or record.plan
        if plan == DEFAULT_PLAN:
            plan = "pro"  # a paid checkout with no plan named buys the standard paid plan
        record.subscription_id = obj.get("subscription") or record.subscription_id
        record.subscription_status = "active"
        record.plan = plan
    elif event_type in ("customer.subscription.created", "customer.subscription.updated"):
        status = obj.get("status") or "active"
        record.subscription_id = obj.get("id") or record.subscription_id
        record.subscription_status = status
        if status in _ACTIVE:
            record.plan = _plan_of_subscription(obj) or record.plan
        elif status in _ENDED:
            record.plan = DEFAULT_PLAN
    elif event_type == "customer.subscription.deleted":
        record.subscription_status = "canceled"
        record.plan = DEFAULT_PLAN
    elif event_type == "invoice.payment_failed":
        # Unpaid means no paid quota: the plan drops to free until a later event reactivates it.
        record.subscription_status = "past_due"
        record.plan = DEFAULT_PLAN
    record.updated_at = utcnow()
    if user is not None:
        user.plan = record.plan
    return {"applied": True, "user_id": record.user_id, "plan_before": before, "plan": record.plan,
            "subscription_status": record.subscription_status}


def process_event(session: Session, ctx: JobContext, event_id: str) -> dict[str, Any]:
    event = session.get(StripeEvent, event_id)
    if event is None:
        raise BadInput(f"stripe event {event_id} was not stored", stage="billing")
    if event.status in ("processed", "ignored"):
        return {"event_id": event_id, "duplicate": True, **(event.outcome or {})}
    ctx.progress("billing", 0.5)
    obj = ((event.payload or {}).get("data") or {}).get("object") or {}
    if event.type in HANDLED:
        outcome = apply_event(session, event.type, obj)
        event.status = "processed"
    else:
        outcome = {"applied": False, "reason": f"event type {event.type} is not used"}
        event.status = "ignored"
    event.outcome = outcome
    event.processed_at = utcnow()
    return {"event_id": event_id, "type": event.type, **outcome}
