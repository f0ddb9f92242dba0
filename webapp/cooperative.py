"""Under gunicorn's gevent worker, psycopg2 must yield to the event loop while it waits on the
database; otherwise every query blocks the whole process (all SSE streams and all requests of that
worker) and the worker serves one request at a time. This is psycogreen's wait callback, applied
only when gevent has patched the socket module (never in threaded servers, workers or tests)."""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def _gevent_wait(conn, timeout=None) -> None:  # noqa: ANN001 - psycopg2's callback signature
    import psycopg2
    from gevent.socket import wait_read, wait_write
    from psycopg2 import extensions

    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        if state == extensions.POLL_READ:
            wait_read(conn.fileno(), timeout=timeout)
        elif state == extensions.POLL_WRITE:
            wait_write(conn.fileno(), timeout=timeout)
        else:
            raise psycopg2.OperationalError(f"bad result from poll: {state!r}")


def make_postgres_cooperative() -> bool:
    try:
        from gevent import monkey
    except ImportError:
        return False
    if not monkey.is_module_patched("socket"):
        return False
    try:
        from psycopg2 import extensions
    except ImportError:
        return False
    extensions.set_wait_callback(_gevent_wait)
    log.info("gevent detected: psycopg2 waits cooperatively")
    return True
