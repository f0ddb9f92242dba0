"""Supabase session cookies (document 004: "Routes require authentication via Supabase session
cookies"), accepted only when the server verifies IdP tokens (`VOICEMOCK_JWKS_URL`). Bearer stays the
default and wins when both are sent.

@supabase/ssr stores the session as `sb-<project-ref>-auth-token`, a JSON object with `access_token`
(or, from older helpers, a JSON array whose first item is it), optionally `base64-`-prefixed and split
into chunks `….0`, `….1`, … when large; some deployments set a bare `sb-access-token` JWT.

A cookie rides along on cross-site requests, so an unsafe method (POST, PUT, PATCH, DELETE)
authenticated by one must come from an allowed origin: its `Origin` (or, without one, `Referer`) must
be this server's own origin or one of `VOICEMOCK_CORS_ORIGINS` (a `*` there allows none by itself).
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from flask import request

from core.errors import Forbidden

_AUTH_COOKIE = re.compile(r"^sb-[A-Za-z0-9_-]+-auth-token(?:\.(\d+))?$")
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _decode(value: str) -> str | None:
    value = unquote(value.strip())
    if value.startswith("base64-"):
        raw = value[len("base64-"):]
        try:
            value = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return None
    if value.count(".") == 2 and value.startswith("eyJ"):
        return value
    try:
        session = json.loads(value)
    except ValueError:
        return None
    if isinstance(session, dict):
        token = session.get("access_token")
    elif isinstance(session, list) and session:
        token = session[0]
    else:
        token = None
    return token if isinstance(token, str) and token else None


def access_token(cookies: Mapping[str, str]) -> str | None:
    """The access token of the Supabase session cookie(s), or None."""
    chunks: dict[str, dict[int, str]] = {}
    for name, value in cookies.items():
        m = _AUTH_COOKIE.match(name)
        if m:
            base = name.rsplit(".", 1)[0] if m.group(1) is not None else name
            chunks.setdefault(base, {})[int(m.group(1)) if m.group(1) is not None else -1] = value
    for parts in chunks.values():
        whole = parts[-1] if -1 in parts else "".join(parts[i] for i in sorted(parts))
        token = _decode(whole)
        if token:
            return token
    legacy = cookies.get("sb-access-token")
    return _decode(legacy) if legacy else None


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def check_origin(allowed: tuple[str, ...]) -> None:
    """CSRF defence for cookie-authenticated unsafe requests: 403 unless from an allowed origin."""
    if request.method in _SAFE_METHODS:
        return
    origin = request.headers.get("Origin")
    origin = _origin_of(origin) if origin and origin != "null" else _origin_of(request.headers.get("Referer", ""))
    own = _origin_of(request.host_url)
    ok = {own} | {o.rstrip("/").lower() for o in allowed if o != "*"}
    if origin is None or origin not in ok:
        raise Forbidden("a request authenticated by a session cookie must come from an allowed origin "
                        "(Origin header); send 'Authorization: Bearer <token>' from other clients", stage="auth")
