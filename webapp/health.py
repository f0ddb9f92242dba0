from __future__ import annotations

from flask import Blueprint, Response

from core.errors import ServiceUnavailable
from webapp.envelope import error, ok
from webapp.state import settings, state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return ok({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    # Within 2 s whatever the services do: a database ping of its own (outside the pool, which
    # stalled requests may hold) bounded at 1 s, and Redis with sub-second socket timeouts.
    checks: dict[str, str] = {}
    try:
        state().runtime.db.ping(timeout=1.0)
        checks["database"] = "ok"
    except ServiceUnavailable as exc:
        checks["database"] = f"unavailable: {exc.__cause__.__class__.__name__ if exc.__cause__ else exc}"
    if settings().redis_url:
        import redis

        try:
            redis.Redis.from_url(settings().redis_url, socket_timeout=0.4, socket_connect_timeout=0.4).ping()
            checks["redis"] = "ok"
        except (redis.RedisError, OSError) as exc:
            checks["redis"] = f"unavailable: {exc.__class__.__name__}"
    if all(v == "ok" for v in checks.values()):
        return ok({"status": "ready", "checks": checks, "mode": settings().mode})
    failing = ", ".join(k for k, v in checks.items() if v != "ok")
    return error(f"not ready: {failing} unreachable", status=503, stage="readiness", details=checks,
                 headers={"Retry-After": "5"})
