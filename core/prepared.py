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
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Row
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


def run(db: Database, stmt: Prepared, params: dict, *, durable: bool = False) -> Row | None:
    """Execute `stmt` on the autocommit engine (`Database.on_autocommit`: a connection found dead is
    replaced and the statement tried once more); the first row or None. `durable`: on the readers'
    pool instead (`Database.on_reader`), whose commits wait for the WAL flush."""
    if durable:
        return db.on_reader(lambda conn: _execute(conn, stmt, params))
    return db.on_autocommit(lambda conn: _execute(conn, stmt, params))


def _execute(conn: Connection, stmt: Prepared, params: dict) -> Row | None:
    prepared = conn.connection.info.setdefault(_INFO_KEY, set())
    if stmt.name not in prepared:
        conn.exec_driver_sql(stmt.prepare)
        prepared.add(stmt.name)
    try:
        return conn.exec_driver_sql(stmt.execute, params).first()
    except DBAPIError as exc:
        if getattr(exc.orig, "pgcode", None) != _UNDEFINED_PREPARED:
            raise
    # The session lost its prepared statements: none of them is there any more.
    prepared.clear()
    conn.exec_driver_sql(stmt.prepare)
    prepared.add(stmt.name)
    return conn.exec_driver_sql(stmt.execute, params).first()
