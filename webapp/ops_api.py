"""Operator endpoints (admins only)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from pydantic import Field

from webapp.auth import admin_required, current_user
from webapp.enqueue import enqueue, job_links
from webapp.envelope import ok
from webapp.validation import Strict, json_body

bp = Blueprint("ops", __name__, url_prefix="/api/ops")


class CanaryRequest(Strict):
    sleep_seconds: float = Field(default=0.0, ge=0, le=300)
    steps: int = Field(default=1, ge=1, le=100)
    fail_attempts: int = Field(default=0, ge=0, le=10)
    bad_input: bool = False
    payload: Any = None


@bp.post("/canary")
@admin_required
def canary() -> Response:
    body = json_body(CanaryRequest, allow_empty=True)
    job = enqueue("ops.canary", user_id=current_user().id, args=body.model_dump())
    return ok(job_links(job), status=202)
