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


def test_after_a_server_restart_every_pooled_connection_is_replaced_at_the_first_failure(
        pg_url) -> None:  # noqa: ANN001
    """All the pool's connections die at once (a restart): the first statement finds one dead,
    which invalidates the pool's older connections too, so its one retry runs on a new one."""
    db = Database(pg_url)
    stmt = prepared.Prepared.of("SELECT pg_backend_pid() AS pid", "test_pid")
    try:
        held = [db.autocommit.connect() for _ in range(3)]  # three connections in the pool
        pids = {c.exec_driver_sql("SELECT pg_backend_pid()").scalar() for c in held}
        for c in held:
            c.close()
        with db.engine.connect() as other:
            for pid in pids:
                other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        time.sleep(0.2)
        assert prepared.run(db, stmt, {}).pid not in pids
        assert prepared.run(db, stmt, {}).pid not in pids
    finally:
        db.dispose()


def test_a_failing_statement_raises_sqlalchemys_error_and_leaves_the_connection_usable(
        pg_url) -> None:  # noqa: ANN001
    import pytest
    from sqlalchemy.exc import DataError

    db = Database(pg_url)
    stmt = prepared.Prepared.of("SELECT CAST(%(a)s AS int) AS n", "test_cast")
    try:
        with pytest.raises(DataError) as failed:
            prepared.run(db, stmt, {"a": "not a number"})
        assert not failed.value.connection_invalidated
        assert "SQL parameters hidden" in str(failed.value)
        assert prepared.run(db, stmt, {"a": "7"}).n == 7
    finally:
        db.dispose()


def test_no_server_to_connect_to_raises_sqlalchemys_operational_error() -> None:
    import pytest
    from sqlalchemy.exc import OperationalError

    from tests.support.procs import free_port

    db = Database(f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/none", connect_timeout=2)
    try:
        with pytest.raises(OperationalError):  # what the web's error handler answers 503 for
            prepared.run(db, prepared.Prepared.of("SELECT 1 AS n", "test_none"), {})
    finally:
        db.dispose()
