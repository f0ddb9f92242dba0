"""Every error becomes the envelope here, and only here."""
from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
from typing import Any

from flask import Flask, Response, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from core.errors import VoiceMockError
from webapp.envelope import error

log = logging.getLogger("voicemock.web")

_HTTP_STAGES = {401: "auth", 403: "auth", 404: "routing", 405: "routing", 408: "upload", 413: "upload", 415: "upload"}


def _server_roots() -> list[str]:
    from webapp.state import settings

    roots = {os.path.abspath(settings().storage_dir), os.path.abspath(settings().data_dir),
             os.path.dirname(os.path.dirname(os.path.abspath(__file__))), sys.prefix, sys.base_prefix,
             tempfile.gettempdir()}
    return sorted((r for r in roots if len(r) > 1), key=len, reverse=True)


def scrub_paths(value: Any) -> Any:
    """Error text must not name server files (a decoder's message quotes the stored upload's path):
    a path under the storage, data, install or temp directories is reduced to its file name."""
    if isinstance(value, str):
        for root in _server_roots():
            if root in value:
                value = re.sub(re.escape(root) + r"[^\s'\"]*", lambda m: os.path.basename(m.group(0)), value)
        return value
    if isinstance(value, dict):
        return {k: scrub_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_paths(v) for v in value]
    return value


def _voicemock_error(exc: VoiceMockError) -> Response:
    if exc.status >= 500 and exc.status != 503:
        log.error("server error at %s: %s", exc.stage, exc.message)
    return error(scrub_paths(exc.message), status=exc.status, stage=exc.stage, details=scrub_paths(exc.details),
                 headers=exc.headers)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    headers: dict[str, str] = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    message = exc.description or exc.name
    if isinstance(exc, RequestEntityTooLarge):
        limit = request.max_content_length
        message = f"the request body is larger than this route allows ({limit} bytes)" if limit \
            else "upload is larger than the allowed size"
    if status == 404 and request.path and not message.startswith("The requested URL"):
        message = exc.description
    return error(message, status=status, stage=_HTTP_STAGES.get(status, "http"), headers=headers)


def _database_error(exc: DBAPIError) -> Response:
    # A database that is down is a 503 with a retry hint; nothing was written (the request's
    # transaction never committed).
    log.warning("database error: %s", exc.__class__.__name__)
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        return error("the database is unavailable; try again shortly", status=503, stage="database",
                     headers={"Retry-After": "5"})
    # Never the driver's message or a traceback: PostgreSQL quotes the offending value and psycopg2 the
    # whole statement with its parameters interpolated (resume text, Stripe payloads, tokens).
    orig = getattr(exc, "orig", None)
    log.error("unexpected database error: %s (sqlstate %s)", type(orig or exc).__name__,
              getattr(orig, "pgcode", None) or "unknown")
    return error("internal server error", status=500, stage="database")


def _pool_exhausted(exc: Exception) -> Response:
    # Every pooled connection stayed busy for the pool timeout (requests held by a stalled
    # database): a 503 like the database being down, not a 500.
    log.warning("database pool exhausted: %s", exc.__class__.__name__)
    return error("the database is unavailable; try again shortly", status=503, stage="database",
                 headers={"Retry-After": "5"})


def _redis_error(exc: Exception) -> Response:
    log.warning("redis unavailable: %s", exc)
    return error("a backing service (redis) is unavailable; try again shortly", status=503, stage="dependency",
                 headers={"Retry-After": "5"})


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error")
    return error("internal server error", status=500, stage="internal")


def init_app(app: Flask) -> None:
    import redis

    app.register_error_handler(VoiceMockError, _voicemock_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(PoolTimeout, _pool_exhausted)
    app.register_error_handler(redis.ConnectionError, _redis_error)
    app.register_error_handler(redis.TimeoutError, _redis_error)
    app.register_error_handler(Exception, _unexpected)
