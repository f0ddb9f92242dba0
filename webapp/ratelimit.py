"""Rate limits (DESIGN.md §3): token buckets per client and policy, shared through Redis.

Policies by path: `/api/llm` and `/v1/chat/completions` (settings.rate_limit_llm, one bucket),
`/api/copilot/` (rate_limit_copilot), any
`rate_limit_routes` override (longest prefix wins), else the default. The client is the authenticated
user (the token's subject, read without a database round trip), else the client IP plus user agent;
`X-Forwarded-For` / `X-Real-IP` count only when the peer is a trusted proxy.
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
from dataclasses import dataclass

from flask import Flask, Response, g, request
from prometheus_client import Counter
from sqlalchemy import select

from core import tokens
from core.config import Settings
from core.errors import RateLimited, Unauthorized
from core.ratelimit import Decision, Limit, MemoryStore, RedisStore, Store

log = logging.getLogger("voicemock.ratelimit")

RATE_LIMITED = Counter("voicemock_api_rate_limited_total", "Requests refused by the rate limiter",
                       ["route", "method", "status", "mode"])
# The same count under the name document 001 ("### Metrics") gives it, for dashboards written from it.
RATE_LIMITED_DOCUMENTED = Counter("coachup_ui_api_rate_limited_total", "Requests refused by the rate limiter "
                                  "(document 001's name)", ["route", "method", "status", "mode"])
EXEMPT = ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/api/webhooks/", "/static/")


@dataclass(frozen=True)
class Policy:
    name: str
    prefix: str
    limit: Limit


def policies(settings: Settings) -> list[Policy]:
    out = [Policy("llm", "/api/llm", Limit.parse(settings.rate_limit_llm)),
           Policy("guest", "/auth/guest", Limit.parse(settings.rate_limit_guest)),
           Policy("llm", "/v1/chat/completions", Limit.parse(settings.rate_limit_llm)),  # one bucket with /api/llm
           Policy("copilot", "/api/copilot/", Limit.parse(settings.rate_limit_copilot))]
    for item in settings.rate_limit_routes:
        prefix, _, text = item.partition("=")
        if not prefix.startswith("/") or not text:
            raise ValueError(f"VOICEMOCK_RATE_LIMIT_ROUTES item {item!r} is not like '/path=N/minute'")
        out.append(Policy("route:" + prefix.strip(), prefix.strip(), Limit.parse(text)))
    return sorted(out, key=lambda p: len(p.prefix), reverse=True)


def _in(addr: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    for net in networks:
        try:
            if ip in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_ip(trusted: tuple[str, ...]) -> str:
    """The client's address; forwarded headers are believed only from a trusted proxy."""
    peer = request.remote_addr or "unknown"
    if not trusted or not _in(peer, trusted):
        return peer
    forwarded = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    # Walk from the nearest hop: the first address that is not one of our proxies is the client.
    for hop in reversed(forwarded):
        if not _in(hop, trusted):
            return hop
    real = request.headers.get("X-Real-IP", "").strip()
    return real or (forwarded[0] if forwarded else peer)


_SUBJECTS: dict[str, str] = {}  # user id -> token subject (never changes); bounded below


def _subject_of(user_id: str) -> str:
    """The access-token subject of a user id, so session and access tokens share one bucket."""
    subject = _SUBJECTS.get(user_id)
    if subject is None:
        from core.models import User
        from webapp.state import db

        subject = db().execute(select(User.subject).where(User.id == user_id)).scalar_one_or_none()
        if subject is None:
            return "uid:" + user_id
        if len(_SUBJECTS) > 50_000:
            _SUBJECTS.clear()
        _SUBJECTS[user_id] = subject
    return subject


def identity(settings: Settings) -> str:
    """`user:<subject>` for a valid token (access or session), else `ip:<hash of IP + user agent>`.
    Memoised per request."""
    if "client_identity" in g:
        return g.client_identity
    ident: str | None = None
    header = request.headers.get("Authorization", "")
    try:
        if header.lower().startswith("bearer "):
            ident = "user:" + str(tokens.verify_access_token(settings, header[7:].strip())["sub"])
        elif request.headers.get("X-Session-Token"):
            uid = str(tokens.verify_session_token(settings, request.headers["X-Session-Token"])["sub"])
            ident = "user:" + _subject_of(uid)
    except Unauthorized:
        ident = None  # a bad token is judged by the view; here it is just an anonymous client
    if ident is None:
        raw = f"{client_ip(settings.trusted_proxies)}|{request.headers.get('User-Agent', '')}"
        ident = "ip:" + hashlib.sha256(raw.encode()).hexdigest()[:32]
    g.client_identity = ident
    return ident


class RateLimiter:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.policies = policies(settings)
        self.default = Policy("default", "/", Limit.parse(settings.rate_limit_default))
        self.guests_total = Policy("guest-deployment", "/auth/guest", Limit.parse(settings.rate_limit_guest_total))

    def policy_for(self, path: str) -> Policy:
        return next((p for p in self.policies if path == p.prefix.rstrip("/") or path.startswith(p.prefix)),
                    self.default)

    def check(self) -> None:
        if request.method == "OPTIONS" or request.path.startswith(EXEMPT):
            return
        policy = self.policy_for(request.path)
        if policy.name == "guest":
            # Each guest brings its own buckets and free quota: limit their making by address alone
            # (a rotated User-Agent is not a new client), and for the deployment as a whole.
            address = hashlib.sha256(client_ip(self.settings.trusted_proxies).encode()).hexdigest()[:32]
            keys = [(policy, f"guest:ip:{address}"), (self.guests_total, "guest:deployment")]
        else:
            keys = [(policy, f"{policy.name}:{identity(self.settings)}")]
            if self._makes_a_guest():  # e.g. an anonymous POST /session/start: the guest buckets too
                address = hashlib.sha256(client_ip(self.settings.trusted_proxies).encode()).hexdigest()[:32]
                guest = next(p for p in self.policies if p.name == "guest")
                keys += [(guest, f"guest:ip:{address}"), (self.guests_total, "guest:deployment")]
        try:
            for policy, key in keys:
                decision = self.store.take(key, policy.limit)
                if not decision.allowed:
                    break
        except Exception as exc:  # noqa: BLE001 - a limiter outage must not take the API down
            log.warning("rate limiter store unavailable (%s); letting the request through", exc.__class__.__name__)
            return
        g.rate_limit = (policy, decision)
        if not decision.allowed:
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            for counter in (RATE_LIMITED, RATE_LIMITED_DOCUMENTED):
                counter.labels(route=route, method=request.method, status="429", mode=self.store.kind).inc()
            raise RateLimited(f"rate limit exceeded: {policy.limit.capacity} requests per "
                              f"{policy.limit.period} s; retry in {decision.retry_after} s",
                              details={"policy": policy.name, "limit": policy.limit.capacity,
                                       "window_seconds": policy.limit.period},
                              headers={"Retry-After": str(decision.retry_after)})

    def _makes_a_guest(self) -> bool:
        """A route that makes a guest account for a caller without credentials (views marked
        `voicemock_guest`) counts against guest creation like POST /auth/guest."""
        from flask import current_app

        view = current_app.view_functions.get(request.endpoint or "")
        return bool(getattr(view, "voicemock_guest", False)) and self.settings.allow_guest \
            and identity(self.settings).startswith("ip:")

    @staticmethod
    def headers(resp: Response) -> Response:
        limited = g.get("rate_limit")
        if limited is None:
            return resp
        policy, d = limited
        d: Decision
        resp.headers["X-RateLimit-Limit"] = str(d.limit)
        resp.headers["X-RateLimit-Remaining"] = str(d.remaining)
        resp.headers["X-RateLimit-Reset"] = str(d.reset)
        # draft-ietf-httpapi-ratelimit-headers: the policy (quota q per window w) and its state.
        name = policy.name.replace('"', "")
        resp.headers["RateLimit-Policy"] = f'"{name}";q={d.limit};w={policy.limit.period}'
        resp.headers["RateLimit"] = f'"{name}";r={d.remaining};t={d.reset}'
        if not d.allowed:
            resp.headers["Retry-After"] = str(d.retry_after)
        return resp


def make_store(settings: Settings) -> Store:
    if settings.redis_url:
        import redis

        client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        return RedisStore(client, settings.redis_prefix)
    return MemoryStore()


def init_app(app: Flask, settings: Settings, store: Store | None = None) -> None:
    if not settings.rate_limits_enabled:
        return
    limiter = RateLimiter(settings, store or make_store(settings))
    app.extensions["voicemock.ratelimit"] = limiter
    app.before_request(limiter.check)
    app.after_request(RateLimiter.headers)
