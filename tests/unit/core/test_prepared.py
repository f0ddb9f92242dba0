"""Prepared statements (core/prepared.py) survive a session that lost them and a dead connection."""
from __future__ import annotations

import time

from core import prepared
from core.db import Database
from core.events import EMIT, EventLog, LocalBus


def test_a_prepared_statement_is_prepared_once_per_connection_and_again_when_the_session_lost_it(pg_url) -> None:  # noqa: ANN001
    db = Database(pg_url)
    stmt = prepared.Prepared.of("SELECT CAST(%(a)s AS int) + CAST(%(b)s AS int) + CAST(%(a)s AS int) AS n", "test")
    try:
        assert prepared.run(db, stmt, {"a": 1, "b": 2}).n == 4
        with db.autocommit.connect() as conn:
            names = {r[0] for r in conn.exec_driver_sql("SELECT name FROM pg_prepared_statements")}
            assert stmt.name in names
            conn.exec_driver_sql("DEALLOCATE ALL")  # as a pooler's DISCARD ALL would
        assert prepared.run(db, stmt, {"a": 10, "b": 5}).n == 25
    finally:
        db.dispose()


def test_a_prepared_statement_goes_through_when_its_connection_died(pg_url) -> None:  # noqa: ANN001
    db = Database(pg_url)
    log = EventLog(db, LocalBus())
    stream = f"test:{time.monotonic_ns()}"
    try:
        assert log.emit(stream, "progress", {}).seq == 1
        with db.autocommit.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with db.engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        time.sleep(0.2)
        assert log.emit(stream, "progress", {}).seq == 2  # a new connection, prepared afresh
        with db.autocommit.connect() as conn:
            names = {r[0] for r in conn.exec_driver_sql("SELECT name FROM pg_prepared_statements")}
        assert EMIT.name in names
    finally:
        db.dispose()
