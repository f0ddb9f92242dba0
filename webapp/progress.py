"""Progress over time across the caller's sessions and interviews."""
from __future__ import annotations

from flask import Blueprint, Response

from jobs.progress import progress
from webapp.auth import current_user_id, login_required
from webapp.envelope import ok
from webapp.state import db

bp = Blueprint("progress", __name__, url_prefix="/api")


@bp.get("/progress")
@login_required
def get_progress() -> Response:
    return ok(progress(db(), current_user_id()))
