"""One access-log line per request: method, path, status, duration and request id, through structlog
(console lines in `voicemock dev`, JSON in production, as `core.logs` configures). Werkzeug's own
access log is silenced by `core.logs`, so each request is logged once. For a stream (SSE, a download)
the duration is the time to the response's first byte."""
from __future__ import annotations

import time

import structlog
from flask import Flask, Response, g, request

log = structlog.get_logger("voicemock.access")


def _begin() -> None:
    g.access_started = time.perf_counter()


def _end(resp: Response) -> Response:
    started = g.get("access_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    log.info("request", method=request.method, path=request.path, status=resp.status_code,
             duration_ms=duration_ms, request_id=g.get("request_id"))
    return resp


def init_app(app: Flask) -> None:
    # registered first: its before_request runs first (timing starts at once), its after_request last
    # (the status is final: errors, rate-limit and CORS headers are all in)
    app.before_request(_begin)
    app.after_request(_end)
