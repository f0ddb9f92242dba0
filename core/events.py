"""The event log: numbered per stream, stored (replayable) and published on a bus.

Streams are named `job:<id>`, `session:<id>`, `copilot:<id>`, `batch:<id>`. `EventLog.emit` writes
the event in its own short transaction (so it is durable before anyone hears of it), then publishes
it. `EventHub` is the one subscriber per process that fans events out to local listeners (SSE
connections), whatever the number of clients.
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Protocol, Sequence

from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core import prepared
from core.bus_listener import ChannelListener
from core.clock import iso, utcnow
from core.db import Database
from core.models import EventStream, JobEvent

log = logging.getLogger(__name__)

def number_and_insert(src: str, data: str = "CAST(%(data)s AS json)", also: str = "",
                      events: Sequence[tuple[str, str]] = ()) -> str:
    """PostgreSQL: CTEs `s` and `e` that number a stream's next events (one upsert; the row lock
    orders writers) and insert them, inside one statement. `src` is a CTE or subquery whose single
    row lets the events happen (no row: no number taken, no event written); `also` adds more sources
    to the inserts' FROM. One event of type `%(type)s` with `data`, or `events`: the (type, data) SQL
    expressions of several, numbered in that order."""
    events = events or (("%(type)s", data),)
    n = len(events)
    rows = " UNION ALL ".join(
        f"SELECT %(stream)s, s.last_seq{f' - {n - 1 - i}' if i < n - 1 else ''}, {type}, {value}, %(now)s FROM s{also}"
        for i, (type, value) in enumerate(events))
    return f"""
s AS (INSERT INTO event_streams (name, last_seq) SELECT %(stream)s, {n} FROM {src}
      ON CONFLICT (name) DO UPDATE SET last_seq = event_streams.last_seq + {n} RETURNING last_seq),
e AS (INSERT INTO events (stream, seq, type, data, created_at)
      {rows} RETURNING seq)"""


EMIT_SQL = "WITH" + number_and_insert("(SELECT 1) AS one") + " SELECT e.seq FROM e"
EMIT = prepared.Prepared.of(EMIT_SQL, "emit")

TERMINAL_TYPES = frozenset({"succeeded", "failed", "cancelled"})
Listener = Callable[[str, "dict | bytes"], None]  # (stream, payload: a dict, or its JSON not yet decoded)


@dataclass(frozen=True)
class Event:
    stream: str
    seq: int
    type: str
    data: dict
    ts: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "seq": self.seq, "type": self.type, "data": self.data, "ts": self.ts}

    @classmethod
    def from_dict(cls, d: dict) -> "Event":
        return cls(stream=d["stream"], seq=int(d["seq"]), type=d["type"], data=d.get("data") or {}, ts=d.get("ts"))

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_TYPES


class Bus(Protocol):
    def publish(self, stream: str, payload: dict) -> None: ...
    def listen(self, callback: Listener) -> None: ...
    def want(self, stream: str) -> None: ...  # listeners hear `stream` from when this returns
    def unwant(self, stream: str) -> None: ...
    def close(self) -> None: ...


class LocalBus:
    """In-process bus for embedded mode: publish calls the listeners directly."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def publish(self, stream: str, payload: dict) -> None:
        for cb in list(self._listeners):
            cb(stream, payload)

    def listen(self, callback: Listener) -> None:
        self._listeners.append(callback)

    def want(self, stream: str) -> None:
        """Every stream is heard in-process."""

    def unwant(self, stream: str) -> None:
        """Nothing to release."""

    def close(self) -> None:
        self._listeners.clear()


class RedisBus:
    """Redis pub/sub: a process subscribes to the streams it has listeners for (core/bus_listener.py).

    Publishing hands the event to one background thread per process, which sends whatever has
    piled up in one write on its own connection: the job thread does not wait for Redis, and a busy
    worker pays one round trip for many events. Order is kept (one queue, one sender). An event
    whose publish is lost (Redis down, the process killed) is still stored: SSE readers re-check the
    log at every heartbeat."""

    _BATCH = 500

    def __init__(self, redis_url: str, prefix: str = "vm") -> None:
        import redis  # local imports: embedded mode never needs them

        from core.redis_wire import Wire

        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._wire = Wire(self._redis)  # the publisher's writes
        self._prefix = f"{prefix}:ev:"
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        pool = self._redis.connection_pool
        # Named in CLIENT LIST (`<prefix>-events`), for operators and for tests that cut it.
        self._receiver = ChannelListener(lambda: pool.connection_class(**{**pool.connection_kwargs,
                                                                          "client_name": f"{prefix}-events"}),
                                         self._deliver)
        self._outbox: "queue.Queue[tuple[str, str]]" = queue.Queue()
        self._sender: threading.Thread | None = None
        self._sender_pid = 0

    def publish(self, stream: str, payload: dict) -> None:
        if self._sender_pid != os.getpid():
            self._start_sender()
        self._outbox.put((self._prefix + stream, json.dumps(payload, separators=(",", ":"))))

    def _start_sender(self) -> None:
        with self._lock:
            if self._sender_pid == os.getpid():
                return
            # A forked child inherits neither the thread nor, safely, the queue: start afresh.
            self._outbox = queue.Queue()
            self._sender = threading.Thread(target=self._send_loop, args=(self._outbox,),
                                            name="voicemock-event-publisher", daemon=True)
            self._sender_pid = os.getpid()
            self._sender.start()
            atexit.register(self.flush)

    def _send_loop(self, outbox: "queue.Queue[tuple[str, str]]") -> None:
        # Written directly on a connection (core/redis_wire.py): redis-py's client and pipeline
        # layers cost twice the round trip itself, paid per event at a steady trickle.
        while True:
            batch = [outbox.get()]
            while len(batch) < self._BATCH:
                try:
                    batch.append(outbox.get_nowait())
                except queue.Empty:
                    break
            try:
                self._wire.send([("PUBLISH", channel, data) for channel, data in batch])
            except Exception as exc:  # noqa: BLE001 - the events are stored; readers catch up by replay
                log.warning("publish of %d events failed: %s", len(batch), exc)
            for _ in batch:
                outbox.task_done()

    def flush(self, timeout: float = 2.0) -> None:
        """Wait (a little) for the events handed to the publisher to go out (at exit, in tests)."""
        sender = self._sender
        if sender is None or self._sender_pid != os.getpid() or not sender.is_alive():
            return
        deadline = time.monotonic() + timeout
        while self._outbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)

    def listen(self, callback: Listener) -> None:
        with self._lock:
            self._listeners.append(callback)
        self._receiver.start()

    def want(self, stream: str) -> None:
        self._receiver.want(self._prefix + stream)

    def unwant(self, stream: str) -> None:
        self._receiver.unwant(self._prefix + stream)

    def _deliver(self, channel: str, data: bytes) -> None:
        stream = channel[len(self._prefix):]
        for cb in list(self._listeners):  # each decodes only what it has takers for
            cb(stream, data)

    def close(self) -> None:
        self.flush()
        self._receiver.close()


class EventLog:
    def __init__(self, db: Database, bus: Bus) -> None:
        self.db = db
        self.bus = bus

    def emit(self, stream: str, type: str, data: dict | None = None,
             also: Callable[[Session], object] | None = None) -> Event | None:
        """Store and publish one event. `also(session)` runs first in the same transaction, so a
        state change and the event announcing it commit together; when it returns False the state
        change did not apply (e.g. the job had already finished) and no event is written."""
        data = {} if data is None else data
        if also is None and not self.db.is_sqlite:
            # One statement on the autocommit engine: numbered and stored in one round trip.
            created = utcnow()
            row = prepared.run(self.db, EMIT, {"stream": stream, "type": type, "data": to_json(data),
                                               "now": created})
            return self.announce(stream, int(row.seq), type, data, created)
        with self.db.session_scope() as s:
            if not self.db.is_sqlite:
                # Events and the job transitions riding with them need not wait for the WAL flush:
                # a crash can lose only the last moments of them, never reorder them, and anything
                # lost is recovered (the sweeper re-sends a job whose state did not stick).
                s.execute(text("SET LOCAL synchronous_commit TO OFF"))
            if also is not None and also(s) is False:
                return None
            seq = next_seq(s, stream)
            created = utcnow()
            # A Core insert: the hottest statement of the platform skips the ORM's unit of work.
            s.execute(insert(JobEvent).values(stream=stream, seq=seq, type=type, data=data, created_at=created))
        return self.announce(stream, seq, type, data, created)

    def announce(self, stream: str, seq: int, type: str, data: dict, created: datetime) -> Event:
        """Publish an event that has just been stored (and committed) as number `seq` of its stream."""
        event = Event(stream=stream, seq=seq, type=type, data=data, ts=iso(created))
        self.publish(event)
        return event

    def stage_first(self, session: Session, stream: str, type: str, data: dict | None = None) -> Event:
        """Add the first event of a brand-new stream (e.g. a job's `queued`) to the caller's
        transaction, so the row and its event commit together; `publish` it after the commit."""
        created = utcnow()
        data = {} if data is None else data
        session.add(EventStream(name=stream, last_seq=1))
        session.add(JobEvent(stream=stream, seq=1, type=type, data=data, created_at=created))
        return Event(stream=stream, seq=1, type=type, data=data, ts=iso(created))

    def publish(self, event: Event) -> None:
        try:
            self.bus.publish(event.stream, event.to_dict())
        except Exception as exc:  # noqa: BLE001 - the event is stored; subscribers catch up by replay
            log.warning("publish of %s #%s failed: %s", event.stream, event.seq, exc)

    def replay(self, stream: str, after: int = 0, limit: int = 1000) -> list[Event]:
        with self.db.reader() as s:
            rows = s.execute(
                select(JobEvent).where(JobEvent.stream == stream, JobEvent.seq > after).order_by(JobEvent.seq).limit(limit)
            ).scalars()
            return [Event(stream=r.stream, seq=r.seq, type=r.type, data=r.data or {}, ts=iso(r.created_at)) for r in rows]


def to_json(value: Any) -> str | None:
    """JSON text for a statement parameter (the stored form of the JSON columns)."""
    return None if value is None else json.dumps(value, separators=(",", ":"))


def next_seq(session: Session, stream: str) -> int:
    """Atomically take the next number of a stream (one upsert; the row lock orders writers)."""
    dialect = session.get_bind().dialect.name
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(EventStream).values(name=stream, last_seq=1)
    stmt = ins.on_conflict_do_update(
        index_elements=[EventStream.name], set_={"last_seq": EventStream.last_seq + 1}
    ).returning(EventStream.last_seq)
    return int(session.execute(stmt).scalar_one())


class Subscription:
    def __init__(self, hub: "EventHub", stream: str) -> None:
        self.hub = hub
        self.stream = stream
        self.queue: "queue.Queue[Event]" = queue.Queue(maxsize=10_000)

    def get(self, timeout: float) -> Event | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.hub.unsubscribe(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventHub:
    """One bus listener per process, fanning out to any number of local subscriptions. The bus
    delivers a stream to this process while it has a subscription to it (`Bus.want`)."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._subs: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()
        bus.listen(self._dispatch)

    def subscribe(self, stream: str) -> Subscription:
        """A subscription that hears every event of `stream` published after this returns."""
        sub = Subscription(self, stream)
        with self._lock:
            self._subs.setdefault(stream, set()).add(sub)
        self._bus.want(stream)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.stream)
            if subs is None or sub not in subs:
                return  # closed already
            subs.discard(sub)
            if not subs:
                del self._subs[sub.stream]
        self._bus.unwant(sub.stream)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._subs.values())

    def _dispatch(self, stream: str, payload: dict | bytes) -> None:
        with self._lock:
            subs: Iterable[Subscription] = tuple(self._subs.get(stream, ()))
        if not subs:
            return
        event = Event.from_dict(json.loads(payload) if isinstance(payload, (bytes, str)) else payload)
        for sub in subs:
            try:
                sub.queue.put_nowait(event)
            except queue.Full:  # a stuck client: it will backfill from the log
                log.warning("subscriber queue full for %s", stream)


def make_bus(settings: Any) -> Bus:
    if settings.redis_url:
        return RedisBus(settings.redis_url, settings.redis_prefix)
    return LocalBus()
