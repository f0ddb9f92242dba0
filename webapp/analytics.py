"""Operator analytics: billing reconciliation."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response
from pydantic import Field

from core.clock import utcnow
from core.errors import ValidationFailed
from core.plans import month_start, next_month
from jobs.reconciliation import reconcile
from webapp.auth import authenticate, is_admin, login_required
from webapp.envelope import ok
from webapp.openapi import document
from webapp.state import db, settings
from webapp.validation import Strict, query

bp = Blueprint("analytics", __name__, url_prefix="/api/analytics")

_MONTH = r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$"


class ReconciliationQuery(Strict):
    model_config = {**Strict.model_config, "populate_by_name": True}

    from_: str | None = Field(default=None, alias="from", pattern=_MONTH,
                              description="first month (YYYY-MM or YYYY-MM-DD), default: this month")
    to: str | None = Field(default=None, pattern=_MONTH, description="last month, inclusive (default: from)")


def _month(text: str, path: str) -> datetime:
    try:
        month = month_start(datetime.strptime(text[:7], "%Y-%m"))
    except ValueError as exc:
        raise ValidationFailed([{"path": path, "message": "must be YYYY-MM"}]) from exc
    if not 1970 <= month.year <= 9000:  # the report ends a month after `to`: 9999-12 has no next month
        raise ValidationFailed([{"path": path, "message": "must be a month between 1970-01 and 9000-12"}])
    return month


@bp.get("/reconciliation")
@document(query=ReconciliationQuery, summary="Usage ledger vs job records vs plan quotas, per month and plan "
                                             "(administrators: every user; anyone else: their own figures)",
          tags=["analytics"], data={"type": "object"})
@login_required
def reconciliation() -> Response:
    q = query(ReconciliationQuery)
    start = _month(q.from_, "from") if q.from_ else month_start(utcnow())
    last = _month(q.to, "to") if q.to else start
    if last < start:
        raise ValidationFailed([{"path": "to", "message": "must not be before 'from'"}])
    if (last.year - start.year) * 12 + last.month - start.month > 36:
        raise ValidationFailed([{"path": "to", "message": "at most 36 months per report"}])
    end = next_month(last)
    caller = authenticate()
    scope = None if is_admin(caller.principal) else caller.user_id  # document 004: "analytics data for dashboard"
    report = reconcile(db(), settings(), start, end, user_id=scope)
    return ok({"from": start.date().isoformat(), "to": end.date().isoformat(),
               "scope": "all" if scope is None else "user", **report})

