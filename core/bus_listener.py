"""The receiving side of the Redis event bus: one connection per process, subscribed to exactly the
channels this process has listeners for.

A process used to hold one pattern subscription to every stream, so each web process received and
parsed every event of the platform (three or more per job) to deliver the few its SSE clients wanted:
work that grew with the number of web processes times the jobs of everybody. Now `want(channel)`
subscribes when the first local listener arrives and returns once Redis has confirmed it (a stream
replays its log only after that, so no event falls between the replay and the live feed);
`unwant(channel)` unsubscribes when the last one leaves.

One thread reads the connection; subscribing threads write to it under a lock (a socket may be
written and read by different threads; nothing else of the connection is shared). The thread pings
Redis when the connection is idle and reconnects when it breaks, subscribing again to every wanted
channel; events published meanwhile are lost to the feed but not to readers, who re-check the log at
every heartbeat.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

log = logging.getLogger(__name__)

PING_AFTER_IDLE = 10.0  # seconds without traffic before the listener pings Redis
DEAD_AFTER_SILENCE = 30.0  # seconds without any answer (not even to a ping): reconnect
CONFIRM_TIMEOUT = 2.0  # how long `want` waits for Redis to confirm a subscription


class ChannelListener:
    def __init__(self, make_connection: Callable[[], Any], deliver: Callable[[str, bytes], None]) -> None:
        self._make_connection = make_connection
        self._deliver = deliver  # (channel, data), called on the listener thread
        self._lock = threading.Lock()
        self._conn: Any = None
        self._wanted: dict[str, int] = {}  # channel -> local listeners
        self._unconfirmed: dict[str, int] = {}  # channel -> SUBSCRIBEs sent on this connection, not yet confirmed
        self._ready: dict[str, threading.Event] = {}  # channel -> set once its latest SUBSCRIBE is confirmed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="voicemock-event-bus", daemon=True)
                self._thread.start()

    def want(self, channel: str, timeout: float = CONFIRM_TIMEOUT) -> bool:
        """One more local listener of `channel`; True once Redis delivers it to this process (False
        after `timeout`: Redis is away; the caller's log re-checks cover the gap)."""
        self.start()
        with self._lock:
            self._wanted[channel] = self._wanted.get(channel, 0) + 1
            ready = self._ready.get(channel)
            if ready is None:
                ready = self._ready[channel] = threading.Event()
                self._send_locked("SUBSCRIBE", channel)
        return ready.wait(timeout)

    def unwant(self, channel: str) -> None:
        with self._lock:
            left = self._wanted.get(channel, 0) - 1
            if left > 0:
                self._wanted[channel] = left
                return
            self._wanted.pop(channel, None)
            self._ready.pop(channel, None)
            self._send_locked("UNSUBSCRIBE", channel)

    def close(self) -> None:
        self._stop.set()

    def _send_locked(self, command: str, channel: str) -> None:
        conn = self._conn
        if conn is None:
            return  # (re)connecting: the listener subscribes to every wanted channel once connected
        try:
            conn.send_command(command, channel)
        except Exception as exc:  # noqa: BLE001 - the listener sees the broken connection and reconnects
            log.debug("event bus %s %s not sent: %s", command, channel, exc)
            return
        if command == "SUBSCRIBE":
            self._unconfirmed[channel] = self._unconfirmed.get(channel, 0) + 1

    def _connect(self) -> Any:
        conn = self._make_connection()
        conn.connect()
        parser = getattr(conn, "_parser", None)
        if hasattr(parser, "set_pubsub_push_handler"):  # RESP3: pushes come back as they are, as in
            parser.set_pubsub_push_handler(lambda reply: reply)  # redis-py's own PubSub
        with self._lock:
            self._conn = conn
            self._unconfirmed.clear()
            for channel in self._wanted:
                if self._ready[channel].is_set():  # confirmed on the last connection: wait for this one's
                    self._ready[channel] = threading.Event()
                self._send_locked("SUBSCRIBE", channel)
        return conn

    def _drop(self, conn: Any) -> None:
        with self._lock:
            if self._conn is conn:
                self._conn = None
            self._unconfirmed.clear()
        try:
            conn.disconnect()
        except Exception:  # noqa: BLE001 - closing a dead connection may raise anything
            log.debug("event bus disconnect failed", exc_info=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            conn = None
            try:
                conn = self._connect()
                self._listen(conn)
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect; listeners catch up from the log
                log.warning("event bus disconnected (%s); reconnecting", exc)
                time.sleep(1.0)
            finally:
                if conn is not None:
                    self._drop(conn)

    def _listen(self, conn: Any) -> None:
        heard = pinged = time.monotonic()
        while not self._stop.is_set():
            if not conn.can_read(timeout=1.0):
                now = time.monotonic()
                if now - heard > DEAD_AFTER_SILENCE:
                    raise ConnectionError(f"no answer from Redis for {DEAD_AFTER_SILENCE:.0f} s")
                if now - max(heard, pinged) > PING_AFTER_IDLE:
                    with self._lock:
                        conn.send_command("PING")
                    pinged = now
                continue
            reply = conn.read_response(push_request=True)
            heard = time.monotonic()
            kind = reply[0] if isinstance(reply, list) else None  # a bare PONG outside subscribe mode
            if kind == b"message":
                self._deliver(reply[1].decode(), reply[2])
            elif kind == b"subscribe":
                self._confirmed(reply[1].decode())

    def _confirmed(self, channel: str) -> None:
        with self._lock:
            left = self._unconfirmed.get(channel, 0) - 1
            if left > 0:
                self._unconfirmed[channel] = left
                return  # a later SUBSCRIBE of the same channel is still on its way
            self._unconfirmed.pop(channel, None)
            ready = self._ready.get(channel)
            if ready is not None and channel in self._wanted:
                ready.set()
