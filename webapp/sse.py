"""Server-Sent Events over the stored, numbered event log.

A stream response first replays what the client missed (after `Last-Event-ID`), then follows live
events from the process-wide hub, backfilling from the log on any gap, so there is no gap and no
duplicate. A `:` comment goes out every heartbeat; job streams close after the terminal event (other
streams after the event types they name, e.g. a copilot session's `stopped`).

`retry:` travels in the first real event's block, never alone (a block with no data is handed to some
clients, httpx-sse among them, as an empty message). A client that reconnects with the id of a stream's
final event gets 204, which tells an `EventSource` to stop reconnecting (WHATWG).
"""
from __future__ import annotations

import json
from typing import Collection, Iterator

from flask import Response, request

from core.errors import ValidationFailed
from core.events import TERMINAL_TYPES, Event
from webapp.state import settings, state

RETRY_MS = 3000


def _last_event_id() -> int:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or "0"
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValidationFailed([{"path": "Last-Event-ID", "message": "must be an integer event id"}]) from exc
    return max(0, value)


_RETRY_LINE = f"retry: {RETRY_MS}\n".encode()


def format_event(e: Event, *, retry: bool = False) -> bytes:
    """The event's SSE block, encoded once per event: the hub hands one Event object to every
    subscriber of its stream, so a fan-out to a thousand clients serialises it once, not a thousand
    times (the JSON was most of a client's share of the fan-out's CPU)."""
    frame = e.__dict__.get("_sse_frame")
    if frame is None:
        payload = json.dumps(e.to_dict(), separators=(",", ":"), default=str)
        frame = f"id: {e.seq}\nevent: {e.type}\ndata: {payload}\n\n".encode()
        object.__setattr__(e, "_sse_frame", frame)  # a frozen dataclass: a cache beside its fields
    return _RETRY_LINE + frame if retry else frame


def _past_end(events, stream: str, after: int, ends: Collection[str]) -> tuple[bool, bool]:  # noqa: ANN001
    """(the client's Last-Event-ID is an end event, and nothing came after it)."""
    if not after or not ends:
        return False, False
    around = events.replay(stream, after=after - 1, limit=2)
    past = bool(around) and around[0].seq == after and around[0].type in ends
    return past, past and len(around) == 1


def stream_response(stream: str, *, close_on_terminal: bool = True, close_on: Collection[str] = ()) -> Response:
    """`close_on_terminal`: end after succeeded/failed/cancelled; `close_on`: further event types that end it."""
    after = _last_event_id()
    st = state()
    events = st.runtime.events
    heartbeat = settings().sse_heartbeat_seconds
    ends = frozenset(close_on) | (TERMINAL_TYPES if close_on_terminal else frozenset())
    past_end, nothing_after = _past_end(events, stream, after, ends)
    if nothing_after:
        return Response(status=204, headers={"Cache-Control": "no-cache"})

    def generate() -> Iterator[bytes]:
        sub = st.hub.subscribe(stream)  # subscribe before replay: nothing falls between the two
        last = after
        first = True
        try:
            while True:
                for e in events.replay(stream, after=last):
                    yield format_event(e, retry=first)
                    first = False
                    last = e.seq
                    if e.type in ends:
                        return
                if past_end:
                    return  # what came after the end (a late debrief) is replayed; nothing more will come
                while True:
                    e = sub.get(timeout=heartbeat)
                    if e is None:
                        yield b": keep-alive\n\n"
                        break  # re-check the log: a bus hiccup may have dropped something
                    if e.seq <= last:
                        continue
                    if e.seq > last + 1:
                        break  # gap: backfill from the log
                    yield format_event(e, retry=first)
                    first = False
                    last = e.seq
                    if e.type in ends:
                        return
        finally:
            sub.close()

    resp = Response(generate(), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp
