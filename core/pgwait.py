"""A deadline on every wait of psycopg2 for the database (issue 13 item 5).

libpq has no client-side limit on a statement: a server that stops answering (SIGSTOP, a hung
host behind a live kernel, which keeps acknowledging TCP and keepalive probes) leaves a query, a
pool's pre-ping, and the request around it waiting forever; the server's own statement_timeout
cannot fire either. So psycopg2 runs "green" under a wait callback: it polls the connection and
waits on its socket with a deadline, and past it closes the connection (SQLAlchemy then sees a
disconnect and drops it from the pool) and raises OperationalError, which the web answers as 503.

The deadline is the connect timeout while connecting, else the statement timeout plus a margin (a
live server cancels a slow statement itself first). `deadline(seconds)` bounds every wait of the
calling thread within a block (readiness probes, pre-pings). The waits use `select.poll`, looked
up at call time, so under gevent's monkey-patching they yield to the event loop like psycogreen's
callback (which this one replaces once an engine with timeouts is made). `select.select` refuses a
descriptor numbered 1024 or more, which a web process holding a thousand SSE connections gives to
the next database connection it opens: such a descriptor is waited on with `select.poll` (gevent's
poll always goes through its event loop, 13 µs against select's 3 µs on a socket already ready, so
the common case keeps select).
"""
from __future__ import annotations

import math
import select
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

_local = threading.local()  # .until: a monotonic time no wait of this thread may pass
_limits = {"connect": 5.0, "statement": 60.0}


def install(*, connect_seconds: float, statement_seconds: float) -> None:
    """Wait at most `connect_seconds` for a new connection and `statement_seconds` for any other
    answer; applies to every psycopg2 connection of the process."""
    from psycopg2 import extensions

    _limits.update(connect=float(connect_seconds), statement=float(statement_seconds))
    if extensions.get_wait_callback() is not wait:
        extensions.set_wait_callback(wait)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """No database wait of this thread goes past `seconds` from now, inside the block."""
    previous = getattr(_local, "until", None)
    until = time.monotonic() + seconds
    _local.until = until if previous is None else min(previous, until)
    try:
        yield
    finally:
        _local.until = previous


def wait(conn: Any) -> None:
    from psycopg2 import OperationalError, extensions

    limit = _limits["connect"] if conn.status == extensions.STATUS_SETUP else _limits["statement"]
    end = time.monotonic() + limit
    until = getattr(_local, "until", None)
    if until is not None and until < end:
        end, limit = until, max(0.0, until - time.monotonic())
    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        left = end - time.monotonic()
        if left <= 0:
            raise OperationalError(f"could not receive data from server: no answer within {limit:.1f} s")
        if state == extensions.POLL_READ:
            _wait_for(conn.fileno(), select.POLLIN, left)
        elif state == extensions.POLL_WRITE:
            _wait_for(conn.fileno(), select.POLLOUT, left)
        else:  # pragma: no cover - psycopg2 documents no other state
            raise OperationalError(f"unexpected poll state {state}")


_SELECT_LIMIT = 1024  # FD_SETSIZE: select.select takes descriptors below it only


def _wait_for(fd: int, events: int, seconds: float) -> None:
    """Until `fd` is ready for `events` (or has an error), at most `seconds`."""
    if fd < _SELECT_LIMIT:
        reading = events == select.POLLIN
        select.select([fd] if reading else [], [] if reading else [fd], [], seconds)
        return
    poller = select.poll()
    poller.register(fd, events)
    poller.poll(max(1, math.ceil(seconds * 1000)))
