"""Guest sign-in (where the configuration allows it) and the caller's own identity."""
from __future__ import annotations

from flask import Blueprint, Response

from core import tokens
from core.errors import Forbidden
from core.ids import new_id
from webapp.auth import authenticate, is_admin, login_required
from webapp.envelope import ok
from webapp.state import settings

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.post("/guest")
def guest() -> Response:
    if not settings().allow_guest:
        raise Forbidden("guest sessions are disabled on this server; ask an operator for a token")
    subject = new_id("guest")
    token = tokens.mint_access_token(settings(), subject, guest=True, ttl=7 * 24 * 3600)
    return ok({"token": token, "user": {"subject": subject, "guest": True}}, status=201)


@bp.get("/me")
@login_required
def me() -> Response:
    u = authenticate().principal
    return ok({"id": u.id, "email": u.email, "is_admin": is_admin(u), "is_guest": u.is_guest, "plan": u.plan})
