"""X-Request-ID: the client's id is kept when usable, a UUID v4 is made otherwise; bound into every log line.

Usable (document 001: "stable per client request; propagate client → … → provider"): 1 to 128
printable ASCII characters without spaces, e.g. `req_123`. Anything else (empty, too long, spaces,
control or non-ASCII characters, which could split a log line or a header) is replaced.
"""
from __future__ import annotations

import re
import uuid

import structlog
from flask import Flask, Response, g, request

USABLE = re.compile(r"^[\x21-\x7e]{1,128}$")


def usable(value: str | None) -> bool:
    return bool(value) and USABLE.match(value) is not None  # type: ignore[arg-type]


def _begin() -> None:
    incoming = request.headers.get("X-Request-ID") or ""
    g.request_id = incoming if usable(incoming) else str(uuid.uuid4())
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=g.request_id, method=request.method, path=request.path)


def _end(resp: Response) -> Response:
    rid = getattr(g, "request_id", None)
    if rid and "X-Request-ID" not in resp.headers:  # an idempotent replay keeps its first request's id
        resp.headers["X-Request-ID"] = rid
    return resp


def init_app(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_end)
