"""JWTs: access tokens (self-issued HS256 or an IdP's RS256 via JWKS), session tokens and stream tokens.

Each kind carries its own `typ`; a token of one kind is never accepted as another (RFC 8725 §3.11).
Algorithms are pinned from settings, so `alg: none` and HS/RS confusion are refused.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections import OrderedDict
from functools import lru_cache
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm
from jwt.utils import base64url_encode

from core.config import Settings
from core.errors import Unauthorized

ACCESS, SESSION, STREAM = "access", "session", "stream"
_OWN_TYPES = {ACCESS, SESSION, STREAM}


_HS256 = HMACAlgorithm(HMACAlgorithm.SHA256)
_HS256_HEADER = base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())


@lru_cache(maxsize=8)
def _hs256_key(secret: str) -> bytes:
    return _HS256.prepare_key(secret)


def _encode(settings: Settings, claims: dict[str, Any], ttl: int) -> str:
    """The HS256 JWT of these claims: the bytes `jwt.encode(payload, secret, algorithm="HS256")`
    writes (tests/unit/core/test_tokens.py compares them), signed by PyJWT's HMAC with the key
    prepared once. `jwt.encode` prepares the key (PEM and SSH checks) and merges and sorts its header
    on every call, 3× the signing itself; every job a request creates mints a stream token."""
    now = int(time.time())
    payload = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "iat": now, "nbf": now,
               "exp": now + ttl, "jti": uuid.uuid4().hex, **claims}
    signing_input = _HS256_HEADER + b"." + base64url_encode(json.dumps(payload, separators=(",", ":")).encode())
    signature = _HS256.sign(signing_input, _hs256_key(settings.secret_key))
    return (signing_input + b"." + base64url_encode(signature)).decode()


def mint_access_token(settings: Settings, subject: str, *, email: str | None = None, ttl: int | None = None,
                      admin: bool = False, guest: bool = False) -> str:
    claims: dict[str, Any] = {"sub": subject, "typ": ACCESS, "email": email or (subject if "@" in subject else None)}
    if admin:
        claims["adm"] = True
    if guest:
        claims["guest"] = True
    return _encode(settings, claims, ttl or settings.access_token_ttl)


def mint_session_token(settings: Settings, user_id: str, session_id: str) -> str:
    return _encode(settings, {"sub": user_id, "typ": SESSION, "sid": session_id}, settings.session_token_ttl)


def mint_stream_token(settings: Settings, user_id: str, stream: str) -> str:
    return _encode(settings, {"sub": user_id, "typ": STREAM, "stream": stream}, settings.stream_token_ttl)


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600)


_VERIFIED_MAX = 4096  # tokens whose verified claims a process remembers
_verified: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
_verified_lock = threading.Lock()


def _decode(settings: Settings, token: str, *, allow_jwks: bool) -> dict[str, Any]:
    """The verified claims of `token`. A token verified once is remembered until its `exp` (it cannot
    change, and nothing revokes a token short of its expiry: a deleted account is refused by its
    row), so a client's every request does not pay the signature check and claim checks again.
    The key holds everything the verification depended on, so other settings verify afresh."""
    key = (token, allow_jwks, settings.secret_key, settings.jwt_audience, settings.jwt_issuer,
           tuple(settings.jwt_algorithms), settings.jwt_jwks_url)
    with _verified_lock:
        claims = _verified.get(key)
        if claims is not None:
            if claims["exp"] > time.time():
                _verified.move_to_end(key)
                return dict(claims)
            del _verified[key]
    claims = _verify(settings, token, allow_jwks=allow_jwks)
    if isinstance(claims.get("exp"), (int, float)):
        with _verified_lock:
            _verified[key] = dict(claims)
            while len(_verified) > _VERIFIED_MAX:
                _verified.popitem(last=False)
    return claims


def _verify(settings: Settings, token: str, *, allow_jwks: bool) -> dict[str, Any]:
    if not token or token.count(".") != 2:
        raise Unauthorized("malformed token")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized("malformed token") from exc
    alg = header.get("alg")
    options = {"require": ["exp", "iat", "sub"], "verify_aud": True, "verify_iss": True}
    try:
        if alg == "HS256" and "HS256" in settings.jwt_algorithms:
            key: Any = settings.secret_key
            algorithms = ["HS256"]
        elif allow_jwks and settings.jwt_jwks_url and alg in {"RS256", "ES256"} and alg in settings.jwt_algorithms:
            key = _jwks_client(settings.jwt_jwks_url).get_signing_key_from_jwt(token).key
            algorithms = [alg]
        else:
            raise Unauthorized(f"token algorithm {alg!r} is not accepted")
        return jwt.decode(token, key, algorithms=algorithms, audience=settings.jwt_audience,
                          issuer=settings.jwt_issuer, options=options, leeway=5)
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise Unauthorized("token not yet valid") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthorized("token audience is wrong") from exc
    except jwt.InvalidIssuerError as exc:
        raise Unauthorized("token issuer is wrong") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("invalid token") from exc


def verify_access_token(settings: Settings, token: str) -> dict[str, Any]:
    claims = _decode(settings, token, allow_jwks=True)
    typ = claims.get("typ")
    # IdP tokens carry no `typ` of ours; ours must say "access". Never a session or stream token.
    if typ in _OWN_TYPES and typ != ACCESS:
        raise Unauthorized(f"a {typ} token is not an access token")
    return claims


def verify_session_token(settings: Settings, token: str) -> dict[str, Any]:
    claims = _decode(settings, token, allow_jwks=False)
    if claims.get("typ") != SESSION or not claims.get("sid"):
        raise Unauthorized("not a session token", stage="auth")
    return claims


# What a stored response keeps of a token it carried (never the token): enough to mint a new one.
REISSUABLE = ("sub", "typ", "email", "adm", "guest", "sid", "stream")


def own_claims(settings: Settings, token: str) -> dict[str, Any]:
    """The claims of a token this installation signed (any kind), or Unauthorized."""
    return _decode(settings, token, allow_jwks=False)


def reissue(settings: Settings, kept: dict[str, Any]) -> str:
    """A fresh token (new jti, iat and exp; the same lifetime) with the claims `kept` from another."""
    claims = {k: kept[k] for k in REISSUABLE if k in kept}
    return _encode(settings, claims, int(kept.get("ttl") or settings.access_token_ttl))


def verify_stream_token(settings: Settings, token: str, stream: str) -> dict[str, Any]:
    claims = _decode(settings, token, allow_jwks=False)
    if claims.get("typ") != STREAM or claims.get("stream") != stream:
        raise Unauthorized("stream token does not grant this stream")
    return claims
