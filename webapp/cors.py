"""CORS as DESIGN.md §3 says (configurable origins; `*` by default for self-hosting)."""
from __future__ import annotations

from flask import Flask, Response, request

ALLOW_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
ALLOW_HEADERS = ("Content-Type, Authorization, X-Session-Token, Idempotency-Key, X-Request-Id, "
                 "X-Tracked-Skill-Id, Last-Event-ID")
EXPOSE_HEADERS = ("X-Request-ID, X-Stage, Retry-After, Idempotency-Key, X-RateLimit-Limit, X-RateLimit-Remaining, "
                  "X-RateLimit-Reset, RateLimit, RateLimit-Policy, Content-Disposition")


def init_app(app: Flask, origins: tuple[str, ...]) -> None:
    allow_any = "*" in origins

    def preflight() -> Response | None:
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            return app.response_class(status=204)
        return None

    def add_headers(resp: Response) -> Response:
        origin = request.headers.get("Origin")
        if allow_any:
            resp.headers["Access-Control-Allow-Origin"] = "*"
        elif origin and origin in origins:
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers.add("Vary", "Origin")
        else:
            return resp
        resp.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        resp.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        resp.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        resp.headers["Access-Control-Max-Age"] = "600"
        return resp

    app.before_request(preflight)
    app.after_request(add_headers)
