"""X-Request-ID: kept when the client sends a sane one, made otherwise; bound into every log line."""
from __future__ import annotations

import re
import uuid

import structlog
from flask import Flask, Response, g, request

_SANE = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")


def _begin() -> None:
    incoming = request.headers.get("X-Request-ID") or request.headers.get("X-Request-Id") or ""
    g.request_id = incoming if _SANE.match(incoming) else str(uuid.uuid4())
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=g.request_id, method=request.method, path=request.path)


def _end(resp: Response) -> Response:
    rid = getattr(g, "request_id", None)
    if rid:
        resp.headers["X-Request-ID"] = rid
    return resp


def init_app(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_end)
