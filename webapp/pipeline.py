"""What happens to a request body before any view reads it (issue 13, items 3 and 4).

Order of the hooks (see `create_app`): request id, NUL in the path, CORS, rate limit, then here:

1. `_bound_body`: JSON bodies get a per-route size cap (`JSON_LIMITS`, else `DEFAULT_JSON_LIMIT`),
   413 before reading; and every body gets a read deadline (`settings.body_read_timeout`), 408 when
   a client trickles it (slowloris) instead of a greenlet held for as long as the client likes.
2. `_authenticate_first`: a request that carries a body on a route that needs a caller is
   authenticated before a byte of the body is read (401 at once for an anonymous upload), so only
   callers who passed authentication and the rate limit cost the server a body read. Stream tokens
   (`?st=`) are read-only and never admit a body.

A reverse proxy in front should buffer request bodies too (README, "Behind a reverse proxy").
"""
from __future__ import annotations

import re
import sys
import time
from typing import Any

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestTimeout

from core import tokens
from core.errors import Unauthorized
from webapp.state import settings
from webapp.validation import has_body, is_json

KB, MB = 1024, 1024 * 1024
DEFAULT_JSON_LIMIT = 64 * KB
# Routes whose JSON may be larger than the default, by path (first match wins): resume text and job
# descriptions (50 000 and 20 000 characters, up to 6 bytes each once JSON-escaped), batches of up to
# 1000 job descriptions, base64 audio chunks of the copilot (capped like an audio upload), chat messages.
JSON_LIMITS: list[tuple[re.Pattern[str], int]] = [
    (re.compile(r"^/api/resume/generate/batch$|^/api/batches/[^/]+/items$"), 8 * MB),
    (re.compile(r"^/api/copilot/sessions/[^/]+/events$"), -1),  # -1: the audio cap, as base64
    (re.compile(r"^/api/resume(/[^/]+)?$|^/api/resume/generate$|^/session/start$"), MB),
    (re.compile(r"^/api/llm$|^/v1/|^/api/webhooks/"), MB),
    (re.compile(r"^/api/interviews/[^/]+/messages$|^/api/copilot/sessions/[^/]+/transcript$"), 256 * KB),
]
# Routes that take a body without a caller's token: they check a signature or a secret of their own.
ANONYMOUS_BODIES = ("/api/webhooks/", "/api/cron/", "/auth/")


def json_limit(path: str) -> int:
    for pattern, limit in JSON_LIMITS:
        if pattern.search(path):
            return limit if limit >= 0 else settings().max_audio_bytes * 4 // 3 + 64 * KB
    return DEFAULT_JSON_LIMIT


class DeadlineInput:
    """wsgi.input with a deadline for the whole body. Under gevent (gunicorn's gevent worker) a
    `gevent.Timeout` bounds each read; otherwise the socket's timeout is set to the time left and
    single reads (`read1`) keep a trickle from stretching one call."""

    def __init__(self, stream: Any, seconds: float, sock: Any) -> None:
        self._stream = stream
        self._deadline = time.monotonic() + seconds
        self._seconds = seconds
        self._sock = sock

    def _left(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise self._timeout()
        return left

    def _timeout(self) -> RequestTimeout:
        return RequestTimeout(f"the request body did not arrive within {self._seconds:g} s")

    def _call(self, fn: Any, *args: Any) -> Any:
        left = self._left()
        if _gevent_patched():
            import gevent

            try:
                with gevent.Timeout(left):
                    return fn(*args)
            except gevent.Timeout as exc:
                raise self._timeout() from exc
        if self._sock is None:
            return fn(*args)
        try:
            previous = self._sock.gettimeout()
            self._sock.settimeout(left)
        except OSError:
            return fn(*args)
        try:
            return fn(*args)
        except TimeoutError as exc:
            raise self._timeout() from exc
        finally:
            try:
                self._sock.settimeout(previous)
            except OSError:
                pass

    def read(self, size: int = -1) -> bytes:
        read1 = getattr(self._stream, "read1", None)
        if read1 is not None and size and size > 0 and not _gevent_patched():
            return self._call(read1, size)
        return self._call(self._stream.read, size)

    def readline(self, size: int = -1) -> bytes:
        return self._call(self._stream.readline, size)

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


def _gevent_patched() -> bool:
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("socket"))


def off_loop(fn: Any, *args: Any) -> Any:
    """Run CPU-bound `fn(*args)` (document parsing) where it cannot stall the server: under gevent on
    the hub's native thread pool, so the event loop keeps answering other requests; elsewhere the
    request already has its own thread. Exceptions propagate as if called directly."""
    if _gevent_patched():
        import gevent

        return gevent.get_hub().threadpool.apply(fn, args)
    return fn(*args)


def _bound_body() -> None:
    if not has_body():
        return
    if is_json(request.mimetype):
        request.max_content_length = min(json_limit(request.path),
                                         request.max_content_length or sys.maxsize)
    timeout = settings().body_read_timeout
    env = request.environ
    if timeout > 0 and not isinstance(env.get("wsgi.input"), DeadlineInput):
        sock = env.get("gunicorn.socket") or env.get("werkzeug.socket")
        env["wsgi.input"] = DeadlineInput(env["wsgi.input"], timeout, sock)


def _needs_caller() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "voicemock_auth", False))


def _authenticate_first() -> None:
    if not has_body() or request.method == "OPTIONS" or request.path.startswith(ANONYMOUS_BODIES):
        return
    from webapp.auth import authenticate

    if _needs_caller():
        authenticate()  # the same call the view's decorator makes (memoised in g)
        return
    # A view that authenticates on its own terms (session or stream tokens): some credential of ours
    # must verify before the body is read; the view still decides whether it is the right one.
    if request.headers.get("Authorization"):
        authenticate()  # a bearer token: the full check, as the view would make it
        return
    if request.headers.get("X-Session-Token"):
        tokens.verify_session_token(settings(), request.headers["X-Session-Token"])
        return
    if _other_credentials():
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "voicemock_guest", False) and settings().allow_guest:
        return  # e.g. POST /session/start without credentials: the view makes a guest
    raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'")


def _other_credentials() -> bool:
    """Credentials the auth module accepts besides headers (e.g. a sign-in cookie), if it has any."""
    from webapp import auth

    probe = getattr(auth, "has_cookie_credentials", None)
    return bool(probe and probe())


def init_app(app: Flask) -> None:
    app.before_request(_bound_body)
    app.before_request(_authenticate_first)
