"""Server-side prepared statements for the hottest single statements (PostgreSQL only).

A job's claim, progress and finish (core/transitions.py) and the event log's emit are each one
data-modifying CTE, sent a few times per job. Sent as text, PostgreSQL parses, analyses and plans
each of them every time, which costs more server CPU than running it; prepared once per connection
(`PREPARE`) and then run by name (`EXECUTE`), a statement is planned once and its text crosses the
wire once. Measured on a job's three transitions: the server's CPU halves, and the client's drops too.

Each statement is prepared lazily on the first connection of the autocommit engine that runs it,
and remembered in that connection's pool `info` (which SQLAlchemy clears when it replaces the
connection). A server that lost the statement (`DISCARD ALL`, a pooler handing over another
session) answers `prepared statement does not exist`: it is prepared again and run once more.
"""
from __future__ import annotations

import itertools
import re
from collections import namedtuple
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from core.db import Database

_PARAM = re.compile(r"%\((\w+)\)s")
_names = itertools.count(1)
_INFO_KEY = "voicemock_prepared"
_UNDEFINED_PREPARED = "26000"  # invalid_sql_statement_name: no such prepared statement here


@dataclass(frozen=True)
class Prepared:
    """One statement written with `%(name)s` placeholders, as its PREPARE and EXECUTE texts."""

    name: str
    prepare: str
    execute: str

    @classmethod
    def of(cls, sql: str, label: str = "stmt") -> "Prepared":
        order = list(dict.fromkeys(_PARAM.findall(sql)))
        body = _PARAM.sub(lambda m: f"${order.index(m.group(1)) + 1}", sql)
        assert "%" not in body, "a prepared statement's text may hold no other % than its placeholders"
        name = f"vm_{label}_{next(_names)}"
        args = ", ".join(f"%({k})s" for k in order)
        return cls(name=name, prepare=f"PREPARE {name} AS {body}", execute=f"EXECUTE {name} ({args})" if order
                   else f"EXECUTE {name}")


def run(db: Database, stmt: Prepared, params: dict, *, durable: bool = False) -> tuple | None:
    """Execute `stmt` on a pooled connection of the autocommit engine (no pre-ping: a connection
    found dead is replaced and the statement tried once more); the first row (a named tuple of the
    statement's columns) or None. `durable`: on the readers' pool instead (`Database.reader_engine`:
    pinged after rest), whose commits wait for the WAL flush.

    The statement goes to the driver's cursor directly: SQLAlchemy's Connection, execution context
    and result around one `EXECUTE` cost ~60 µs of CPU per statement (measured: 109 against 48 µs),
    and a job runs five of them. Errors still come out as SQLAlchemy's (`DBAPIError.instance`), a
    lost connection marked `connection_invalidated` and the pool invalidated as SQLAlchemy does it."""
    engine = db.reader_engine if durable else db.autocommit
    for attempt in (1, 2):
        try:
            return _on_cursor(engine, stmt, params)
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    return None  # pragma: no cover - the loop returns or raises


def _on_cursor(engine: Engine, stmt: Prepared, params: dict) -> tuple | None:
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        conn = engine.raw_connection()  # the pool's checkout, with its events (a rested connection is pinged)
    except dbapi_error as exc:  # no server to connect to: SQLAlchemy's error, as `engine.connect()` raises it
        raise DBAPIError.instance(None, None, exc, dbapi_error, hide_parameters=True,
                                  connection_invalidated=engine.dialect.is_disconnect(exc, None, None),
                                  dialect=engine.dialect) from exc
    try:
        cursor = conn.cursor()
        try:
            return _execute(conn, cursor, stmt, params)
        except dbapi_error as exc:
            lost = engine.dialect.is_disconnect(exc, conn.dbapi_connection, cursor)
            if lost:  # as SQLAlchemy's own handling: this connection and the pool's older ones go
                engine.pool._invalidate(conn, exc)  # noqa: SLF001
            raise DBAPIError.instance(stmt.execute, params, exc, dbapi_error,
                                      hide_parameters=True, connection_invalidated=lost,
                                      dialect=engine.dialect) from exc
        finally:
            if not cursor.closed:
                cursor.close()
    finally:
        conn.close()  # back to the pool (or dropped, if invalidated)


def _execute(conn: Any, cursor: Any, stmt: Prepared, params: dict) -> tuple | None:
    prepared = conn.info.setdefault(_INFO_KEY, set())
    if stmt.name not in prepared:
        cursor.execute(stmt.prepare)
        prepared.add(stmt.name)
    try:
        cursor.execute(stmt.execute, params)
    except Exception as exc:  # noqa: BLE001 - only a lost statement is handled here
        if getattr(exc, "pgcode", None) != _UNDEFINED_PREPARED:
            raise
        # The session lost its prepared statements (autocommit: nothing else was undone with them).
        prepared.clear()
        cursor.execute(stmt.prepare)
        prepared.add(stmt.name)
        cursor.execute(stmt.execute, params)
    return _first(cursor, stmt)


_row_types: dict[tuple[str, ...], type] = {}


def _first(cursor: Any, stmt: Prepared) -> tuple | None:
    """The first row as a named tuple of the statement's columns (one class per column list)."""
    if cursor.description is None:
        return None
    row = cursor.fetchone()
    if row is None:
        return None
    names = tuple(d.name for d in cursor.description)
    cls = _row_types.get(names)
    if cls is None:
        cls = _row_types.setdefault(names, namedtuple(f"{stmt.name}_row", names))  # type: ignore[misc]
    return cls._make(row)
