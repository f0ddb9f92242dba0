"""Who is calling: bearer access tokens, session tokens (X-Session-Token) and stream tokens (?st=)."""
from __future__ import annotations

import calendar
from functools import wraps
from typing import Any, Callable, TypeVar

import structlog
from flask import g, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import principals, tokens
from core.errors import Forbidden, Unauthorized
from core.models import DeletedSubject, User
from core.principals import Principal
from webapp import supabase_cookies
from webapp.state import db, settings, state

F = TypeVar("F", bound=Callable[..., Any])


class Caller:
    """The authenticated caller: its account's principal (core/principals.py: read, or kept until
    it changes) and, loaded on first use, its ORM row (`user`) for the handlers that read or change more."""

    __slots__ = ("principal", "session_id", "_user")

    def __init__(self, principal: Principal, session_id: str | None = None, user: User | None = None) -> None:
        self.principal = principal
        self.session_id = session_id  # set when authenticated by a session token
        self._user = user

    @classmethod
    def of_user(cls, user: User, session_id: str | None = None) -> "Caller":
        return cls(Principal.of(user), session_id, user)

    @property
    def user_id(self) -> str:
        return self.principal.id

    @property
    def user(self) -> User:
        if self._user is None:
            user = db().get(User, self.principal.id)
            if user is None or user.deleted_at is not None:  # deleted since the principal was read
                raise Unauthorized("account deleted")
            self._user = user
        return self._user


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    return token.strip()


def caller_for_claims(claims: dict[str, Any]) -> Caller:
    """The caller an access token's claims name; its account is made on its first request."""
    principal = principals.by_subject(state().runtime.db, db, str(claims["sub"]), state().principals)
    if principal is None:
        return Caller.of_user(user_for_claims(claims))
    if principal.deleted_at is not None:
        raise Unauthorized("account deleted")
    return Caller(principal)


def user_for_claims(claims: dict[str, Any]) -> User:
    """The ORM row of an access token's subject, made (committed) when absent."""
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


def is_admin(user: User | Principal) -> bool:
    """Admin status, decided on every request: the database role or VOICEMOCK_ADMIN_EMAILS."""
    if user.is_admin:
        return True
    email = (user.email or "").strip().lower()
    return bool(email) and email in {e.strip().lower() for e in settings().admin_emails}


def _principal_by_id(user_id: str) -> Principal:
    principal = principals.by_id(state().runtime.db, db, user_id, state().principals)
    if principal is None or principal.deleted_at is not None:
        raise Unauthorized("unknown user")
    return principal


def authenticate(*, allow_session: bool = False, stream: str | None = None) -> Caller:
    """Resolve the caller from, in order: bearer token, session token, stream token."""
    if "caller" in g:
        return g.caller
    token = _bearer()
    caller: Caller | None = None
    if token:
        claims = tokens.verify_access_token(settings(), token)
        caller = caller_for_claims(claims)
    elif allow_session and request.headers.get("X-Session-Token"):
        claims = tokens.verify_session_token(settings(), request.headers["X-Session-Token"])
        caller = Caller(_principal_by_id(claims["sub"]), session_id=claims["sid"])
    elif stream is not None and request.args.get("st"):
        claims = tokens.verify_stream_token(settings(), request.args["st"], stream)
        caller = Caller(_principal_by_id(claims["sub"]))
    elif settings().jwt_jwks_url and (cookie := supabase_cookies.access_token(request.cookies)):
        claims = tokens.verify_access_token(settings(), cookie)
        supabase_cookies.check_origin(settings().cors_origins)  # CSRF: cookies ride along cross-site
        caller = caller_for_claims(claims)
    if caller is None:
        raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'")
    g.caller = caller
    structlog.contextvars.bind_contextvars(user_id=caller.user_id)
    return caller


def has_cookie_credentials() -> bool:
    """A Supabase session cookie is present and accepted here (only with VOICEMOCK_JWKS_URL)."""
    return bool(settings().jwt_jwks_url and supabase_cookies.access_token(request.cookies))


def current_user() -> User:
    """The caller's ORM row (read on first use): for handlers that read or change the account."""
    return authenticate().user


def current_user_id() -> str:
    """The caller's account id, with no read beyond authentication's."""
    return authenticate().user_id


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
        if not is_admin(authenticate().principal):
            raise Forbidden("administrators only")
        return fn(*args, **kwargs)

    wrapper.voicemock_auth = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


SYSTEM_SUBJECT = "system"  # the subject of stream tokens for jobs no user owns (cron runs)


def stream_url(path: str, user_id: str, stream: str) -> str:
    """A URL an EventSource can open: it carries a short-lived token for this one stream."""
    return f"{path}?st={tokens.mint_stream_token(settings(), user_id, stream)}"
