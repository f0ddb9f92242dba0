"""Pooled PostgreSQL connections: one that rested in the pool is pinged on checkout and replaced when
the server has dropped it; one handed back moments ago is reused without a round trip."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, exc, text

from core import db as dbmod
from core.db import Database


def _backend_pid(conn) -> int:  # noqa: ANN001
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(pg_url: str, pid: int) -> None:
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        assert c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    admin.dispose()


def _rest(database: Database, seconds: float) -> None:
    """Make the pool's idle connection look as if it had rested `seconds` longer."""
    for record in list(database.engine.pool._pool.queue):  # noqa: SLF001 - the test ages the pool's records
        record.info["checked_in_at"] -= seconds


@pytest.fixture()
def dropped(pg_url: str):  # noqa: ANN201
    """A one-connection pool whose idle connection the server has just terminated: (database, old pid)."""
    database = Database(pg_url, pool_size=1, max_overflow=0)
    with database.engine.connect() as conn:
        first = _backend_pid(conn)
    _kill(pg_url, first)
    yield database, first
    database.engine.dispose()


def test_a_rested_connection_killed_by_the_server_is_replaced_on_checkout(dropped) -> None:  # noqa: ANN001
    database, first = dropped
    _rest(database, dbmod.PING_AFTER_IDLE + 1)
    with database.engine.connect() as conn:  # pinged, found dead, replaced: no error reaches us
        assert _backend_pid(conn) != first


def test_a_connection_handed_back_moments_ago_is_not_pinged(dropped) -> None:  # noqa: ANN001
    database, first = dropped
    # No ping: the dead connection is handed out and its first statement fails as a disconnect,
    # which invalidates it; the next checkout connects afresh.
    with pytest.raises(exc.DBAPIError) as failed, database.engine.connect() as conn:
        _backend_pid(conn)
    assert failed.value.connection_invalidated
    with database.engine.connect() as conn:
        assert _backend_pid(conn) != first
