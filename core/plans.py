"""Plans and their monthly quotas: the one table billing, quota checks and reconciliation read.

Stripe prices map to a plan by the price's `lookup_key` (or the subscription's `metadata.plan`).
Operators can override quotas with VOICEMOCK_PLAN_QUOTAS="free=3/10,pro=200/1200" (sessions/minutes).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.errors import PaymentRequired


@dataclass(frozen=True)
class Plan:
    name: str
    title: str
    sessions_per_month: int | None  # None: unlimited
    audio_minutes_per_month: float | None
    lookup_key: str  # the Stripe price lookup key that buys this plan


PLANS: dict[str, Plan] = {p.name: p for p in (
    Plan("free", "Free", 20, 60.0, "voicemock_free"),
    Plan("pro", "Pro", 200, 1200.0, "voicemock_pro"),
    Plan("team", "Team", None, None, "voicemock_team"),
)}
DEFAULT_PLAN = "free"


def get_plan(name: str | None, settings: Settings | None = None) -> Plan:
    plan = PLANS.get(name or DEFAULT_PLAN, PLANS[DEFAULT_PLAN])
    for item in (settings.plan_quotas if settings else ()):
        pname, _, quota = item.partition("=")
        if pname.strip() != plan.name:
            continue
        sessions, _, minutes = quota.partition("/")
        plan = dataclasses.replace(plan, sessions_per_month=_quota(sessions), audio_minutes_per_month=_quota(minutes))
    return plan


def _quota(text: str) -> float | None:
    text = text.strip()
    return None if text in ("", "*", "unlimited") else float(text)


def plan_for_lookup(lookup_key: str | None) -> str | None:
    for plan in PLANS.values():
        if lookup_key in (plan.lookup_key, plan.name):
            return plan.name
    return None


def month_start(at: datetime) -> datetime:
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(at: datetime) -> datetime:
    start = month_start(at)
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def used(session: Session, user_id: str, kind: str, since: datetime) -> float:
    from core.models import UsageLedger

    total = session.execute(select(func.coalesce(func.sum(UsageLedger.amount), 0.0)).where(
        UsageLedger.user_id == user_id, UsageLedger.kind == kind, UsageLedger.at >= since)).scalar_one()
    return float(total or 0.0)


def check_quota(session: Session, settings: Settings, user_id: str, plan_name: str | None, kind: str,
                amount: float, now: datetime) -> None:
    """Raise 402 (stage `quota`) when `amount` more of `kind` would exceed this month's quota."""
    plan = get_plan(plan_name, settings)
    since = month_start(now)
    if kind == "session":
        limit, unit = plan.sessions_per_month, "practice sessions"
        spent = used(session, user_id, "session", since)
    else:
        limit = None if plan.audio_minutes_per_month is None else plan.audio_minutes_per_month * 60
        unit = "seconds of transcribed audio"
        spent = used(session, user_id, "audio_seconds", since)
    if limit is None or spent + amount <= limit:
        return
    resets = next_month(now).strftime("%Y-%m-%d")
    shown = f"{limit / 60:g} minutes of transcribed audio" if kind != "session" else f"{limit:g} {unit}"
    raise PaymentRequired(f"the {plan.title} plan includes {shown} per month and this month's quota is used up; "
                          f"upgrade your plan or wait until {resets}",
                          details={"plan": plan.name, "kind": kind, "used": round(spent, 3), "limit": limit,
                                   "requested": round(amount, 3), "resets": resets})
