"""Principals remembered between requests, forgotten as soon as an account changes (PostgreSQL).

Every authenticated request needs its caller's account (core/principals.py): reading it was one of
the two statements of a job submission, ~0.25 ms of the web process's CPU and a statement on the
server per request. Here a web process keeps what it read, keyed by token subject or account id,
and forgets all of it whenever any account's authorisation changes:

- a trigger on `users` (migration 0008) sends `NOTIFY voicemock_principals` when a row is deleted or
  its subject, email, admin role, guest flag, plan or deletion mark is updated, from whatever wrote
  it (the web, a worker, the scheduler's purge, `voicemock admin`, psql);
- the process holds one connection that LISTENs, and drains it before each lookup without waiting
  (a non-blocking read of its socket: PostgreSQL sends the notification when the change commits), so
  a request that starts after the change has reached it reads afresh. Between processes this is the
  time the server takes to pass the notification on, well under a millisecond on one host;
- a value is served for at most `ttl` seconds (5 by default) whatever happens, so a notification lost
  in a way nobody noticed costs at most that long;
- while the listening connection is not up (starting, reconnecting, database down) nothing is
  served from memory and nothing is kept: every request reads, as without a cache; once it is up
  again everything kept before is dropped (notifications may have been missed meanwhile);
- a value read while a change was being announced is not kept (a generation count), and a missing
  account (None) is never kept.

`VOICEMOCK_PRINCIPAL_CACHE_SECONDS=0` turns it off. SQLite (embedded mode) has no cache: one process,
and no NOTIFY.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable, TypeVar

from core.db import Database, pg_connect_args

CHANNEL = "voicemock_principals"
MAX_ENTRIES = 10_000
IDLE_CLOSE_SECONDS = 60.0  # a listener nobody asked for this long is closed (its queue must not grow)
RETRY_SECONDS = 5.0  # after a failed (re)connect, requests read without the cache for this long
log = logging.getLogger("voicemock.principals")
T = TypeVar("T")


class PrincipalCache:
    def __init__(self, database: Database, ttl: float) -> None:
        assert not database.is_sqlite, "the principal cache needs PostgreSQL's LISTEN/NOTIFY"
        self._database = database
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[object, float]] = {}
        self._generation = 0
        self._conn = None  # the LISTEN connection (psycopg2), opened on first use
        self._pid = 0
        self._retry_at = 0.0
        self._used_at = 0.0
        self._connecting = False

    def get(self, kind: str, key: str, load: Callable[[], T | None]) -> T | None:
        """The value kept for (kind, key) if it is fresh and nothing changed since; else `load()`,
        kept if it is not None and no change was announced while it was read."""
        now = time.monotonic()
        with self._lock:
            listening = self._drain(now)
            generation = self._generation
            if listening:
                kept = self._entries.get((kind, key))
                if kept is not None and now - kept[1] < self.ttl:
                    return kept[0]  # type: ignore[return-value]
            connect = self._conn is None and not self._connecting and now >= self._retry_at
            if connect:
                self._connecting = True
        if connect:  # outside the lock: meanwhile other requests read as if there were no cache
            self._listen(now)
        value = load()
        if value is not None and listening:
            with self._lock:
                if self._generation == generation and self._conn is not None:
                    if len(self._entries) >= MAX_ENTRIES:
                        self._entries.clear()
                    self._entries[(kind, key)] = (value, now)
        return value

    def forget(self) -> None:
        """Drop everything kept (and count it as a change)."""
        with self._lock:
            self._forget()

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    # -- _forget, _drain and _disconnect run under the lock; _listen takes it itself ---------------

    def _forget(self) -> None:
        self._entries.clear()
        self._generation += 1

    def _drain(self, now: float) -> bool:
        """Read whatever notifications have arrived (without waiting); True when the listening
        connection is up, so what is kept can be trusted."""
        if self._pid != os.getpid():  # a forked child: the parent's connection is not ours to use
            self._conn, self._pid = None, os.getpid()
            self._forget()
        if self._conn is not None and now - self._used_at > IDLE_CLOSE_SECONDS:
            self._disconnect()
        self._used_at = now
        if self._conn is None:
            return False
        try:
            self._conn.poll()
            if self._conn.notices:  # a server ending the session says FATAL before it closes the socket
                said, self._conn.notices[:] = list(self._conn.notices), []
                if any(n.startswith(("FATAL", "PANIC")) for n in said):
                    raise ConnectionError(said[-1].strip())
        except Exception as exc:  # noqa: BLE001 - a lost listener: forget, and listen again next time
            log.warning("principal cache: the listening connection was lost: %s", exc)
            self._disconnect()
            return False
        if self._conn.notifies:
            self._conn.notifies.clear()
            self._forget()
        return True

    def _listen(self, now: float) -> None:
        try:
            conn = self._connect()
        except Exception as exc:  # noqa: BLE001 - no cache until it is back; requests read as usual
            with self._lock:
                self._connecting, self._retry_at = False, now + RETRY_SECONDS
            log.warning("principal cache off for %.0f s: cannot listen for account changes: %s", RETRY_SECONDS, exc)
            return
        with self._lock:
            self._connecting = False
            if self._pid != os.getpid() or self._conn is not None:  # forked meanwhile: not ours
                conn.close()
                return
            self._conn = conn
            self._used_at = time.monotonic()
            self._forget()  # changes made while nobody listened were not heard

    def _connect(self) -> Any:
        engine = self._database.reader_engine
        dialect = engine.dialect
        cargs, cparams = dialect.create_connect_args(engine.url)
        cparams.update(pg_connect_args(self._database.connect_timeout, self._database.statement_timeout))
        conn = dialect.loaded_dbapi.connect(*cargs, **cparams)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"LISTEN {CHANNEL}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        self._forget()
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken connection
                pass
