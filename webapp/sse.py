"""Server-Sent Events over the stored, numbered event log.

A stream response first replays what the client missed (after `Last-Event-ID`), then follows live
events from the process-wide hub, backfilling from the log on any gap, so there is no gap and no
duplicate. A `:` comment goes out every heartbeat; job streams close after the terminal event.
"""
from __future__ import annotations

import json
from typing import Iterator

from flask import Response, request

from core.errors import ValidationFailed
from core.events import Event
from webapp.state import settings, state

RETRY_MS = 3000


def _last_event_id() -> int:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or "0"
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValidationFailed([{"path": "Last-Event-ID", "message": "must be an integer event id"}]) from exc
    return max(0, value)


def format_event(e: Event) -> str:
    payload = json.dumps(e.to_dict(), separators=(",", ":"), default=str)
    return f"id: {e.seq}\nevent: {e.type}\ndata: {payload}\n\n"


def stream_response(stream: str, *, close_on_terminal: bool = True) -> Response:
    after = _last_event_id()
    st = state()
    events = st.runtime.events
    heartbeat = settings().sse_heartbeat_seconds

    def generate() -> Iterator[str]:
        sub = st.hub.subscribe(stream)  # subscribe before replay: nothing falls between the two
        last = after
        try:
            yield f"retry: {RETRY_MS}\n\n"
            while True:
                for e in events.replay(stream, after=last):
                    yield format_event(e)
                    last = e.seq
                    if close_on_terminal and e.terminal:
                        return
                while True:
                    e = sub.get(timeout=heartbeat)
                    if e is None:
                        yield ": keep-alive\n\n"
                        break  # re-check the log: a bus hiccup may have dropped something
                    if e.seq <= last:
                        continue
                    if e.seq > last + 1:
                        break  # gap: backfill from the log
                    yield format_event(e)
                    last = e.seq
                    if close_on_terminal and e.terminal:
                        return
        finally:
            sub.close()

    resp = Response(generate(), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp
