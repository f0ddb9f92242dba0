"""Who is calling: bearer access tokens, session tokens (X-Session-Token) and stream tokens (?st=)."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable, TypeVar

import structlog
from flask import g, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import tokens
from core.errors import Forbidden, Unauthorized
from core.models import DeletedSubject, User
from webapp import supabase_cookies
from webapp.state import db, settings

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Caller:
    user: User
    session_id: str | None = None  # set when authenticated by a session token


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    return token.strip()


def user_for_claims(claims: dict[str, Any]) -> User:
    session = db()
    subject = str(claims["sub"])
    user = session.execute(select(User).where(User.subject == subject)).scalar_one_or_none()
    if user is None:
        _refuse_purged(subject, claims)
        email = claims.get("email")
        # The `adm` claim (a token minted with `voicemock token create --admin`) grants the database role
        # to an account it creates; afterwards the role is the database's (granted or revoked by
        # `voicemock admin`), never the token's. VOICEMOCK_ADMIN_EMAILS is checked on each request
        # (`is_admin`), never copied into the row, so removing an email demotes it.
        user = User(subject=subject, email=email, is_admin=bool(claims.get("adm")), is_guest=bool(claims.get("guest")))
        session.add(user)
        try:
            session.commit()
        except IntegrityError:  # two first requests raced: the other one created it
            session.rollback()
            user = session.execute(select(User).where(User.subject == subject)).scalar_one()
    if user.deleted_at is not None:
        raise Unauthorized("account deleted")
    return user


def _refuse_purged(subject: str, claims: dict[str, Any]) -> None:
    """A purged account left a tombstone: its tokens (issued up to its deletion) stay dead; only a
    token issued after the deletion (a new sign-in) makes a new, empty account."""
    tomb = db().get(DeletedSubject, subject)
    if tomb is not None and int(claims.get("iat") or 0) <= calendar.timegm(tomb.deleted_at.utctimetuple()):
        raise Unauthorized("account deleted")


def is_admin(user: User) -> bool:
    """Admin status, decided on every request: the database role or VOICEMOCK_ADMIN_EMAILS."""
    if user.is_admin:
        return True
    email = (user.email or "").strip().lower()
    return bool(email) and email in {e.strip().lower() for e in settings().admin_emails}


def _user_by_id(user_id: str) -> User:
    user = db().get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise Unauthorized("unknown user")
    return user


def authenticate(*, allow_session: bool = False, stream: str | None = None) -> Caller:
    """Resolve the caller from, in order: bearer token, session token, stream token."""
    if "caller" in g:
        return g.caller
    token = _bearer()
    caller: Caller | None = None
    if token:
        claims = tokens.verify_access_token(settings(), token)
        caller = Caller(user=user_for_claims(claims))
    elif allow_session and request.headers.get("X-Session-Token"):
        claims = tokens.verify_session_token(settings(), request.headers["X-Session-Token"])
        caller = Caller(user=_user_by_id(claims["sub"]), session_id=claims["sid"])
    elif stream is not None and request.args.get("st"):
        claims = tokens.verify_stream_token(settings(), request.args["st"], stream)
        caller = Caller(user=_user_by_id(claims["sub"]))
    elif settings().jwt_jwks_url and (cookie := supabase_cookies.access_token(request.cookies)):
        claims = tokens.verify_access_token(settings(), cookie)
        supabase_cookies.check_origin(settings().cors_origins)  # CSRF: cookies ride along cross-site
        caller = Caller(user=user_for_claims(claims))
    if caller is None:
        raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'")
    g.caller = caller
    structlog.contextvars.bind_contextvars(user_id=caller.user.id)
    return caller


def has_cookie_credentials() -> bool:
    """A Supabase session cookie is present and accepted here (only with VOICEMOCK_JWKS_URL)."""
    return bool(settings().jwt_jwks_url and supabase_cookies.access_token(request.cookies))


def current_user() -> User:
    return authenticate().user


def login_required(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        authenticate()
        return fn(*args, **kwargs)

    wrapper.voicemock_auth = True  # type: ignore[attr-defined] - webapp/pipeline.py authenticates before the body
    return wrapper  # type: ignore[return-value]


def admin_required(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_admin(authenticate().user):
            raise Forbidden("administrators only")
        return fn(*args, **kwargs)

    wrapper.voicemock_auth = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


SYSTEM_SUBJECT = "system"  # the subject of stream tokens for jobs no user owns (cron runs)


def stream_url(path: str, user_id: str, stream: str) -> str:
    """A URL an EventSource can open: it carries a short-lived token for this one stream."""
    return f"{path}?st={tokens.mint_stream_token(settings(), user_id, stream)}"
