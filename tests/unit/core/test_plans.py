from __future__ import annotations

from datetime import datetime

from core.config import Settings
from core.plans import PLANS, get_plan, month_start, next_month, plan_for_lookup


def test_plans_carry_monthly_quotas_and_operators_can_override_them() -> None:
    assert get_plan("pro").sessions_per_month == PLANS["pro"].sessions_per_month
    assert get_plan("nonexistent").name == "free"
    s = Settings(plan_quotas=("free=3/10", "pro=*/unlimited"))
    assert (get_plan("free", s).sessions_per_month, get_plan("free", s).audio_minutes_per_month) == (3, 10)
    assert get_plan("pro", s).sessions_per_month is None and get_plan("pro", s).audio_minutes_per_month is None


def test_stripe_lookup_keys_name_plans() -> None:
    assert plan_for_lookup("voicemock_team") == "team" and plan_for_lookup("pro") == "pro"
    assert plan_for_lookup("price_unknown") is None


def test_periods_are_calendar_months() -> None:
    at = datetime(2026, 12, 31, 23, 59)
    assert month_start(at) == datetime(2026, 12, 1) and next_month(at) == datetime(2027, 1, 1)
