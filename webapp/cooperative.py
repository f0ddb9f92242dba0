"""Under gunicorn's gevent worker, psycopg2 must yield to the event loop while it waits on the
database; otherwise every query blocks the whole process (all SSE streams and all requests of that
worker) and the worker serves one request at a time. psycogreen's gevent wait callback does that; it is
applied only when gevent has patched the socket module (never in threaded servers, workers or tests)."""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def make_postgres_cooperative() -> bool:
    try:
        from gevent import monkey
    except ImportError:
        return False
    if not monkey.is_module_patched("socket"):
        return False
    try:
        from psycogreen.gevent import patch_psycopg
    except ImportError:  # psycopg2 missing (SQLite only): nothing to patch
        return False
    patch_psycopg()
    log.info("gevent detected: psycopg2 waits cooperatively (psycogreen)")
    return True
