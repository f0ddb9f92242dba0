"""Database engine, sessions and the declarative Base.

`Database(url)` owns an engine and a sessionmaker. Callers own transactions: web requests commit
explicitly; actors use `session_scope()`. Job functions never commit.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from functools import cached_property, partial
from pathlib import Path
from typing import Iterator

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from core.errors import ServiceUnavailable

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


SQLITE_BUSY_MS = 30_000  # how long a SQLite writer waits for the write lock
SQLITE_IMPATIENT_BUSY_MS = 250  # background housekeeping that must never queue behind a job


def _sqlite_pragmas(dbapi_conn, _record, busy_ms: int = SQLITE_BUSY_MS) -> None:  # noqa: ANN001
    # WAL lets the web thread read while the in-process worker writes; busy_timeout waits instead
    # of failing with "database is locked".
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str, *, sqlite_busy_ms: int = SQLITE_BUSY_MS, **kw: object) -> Engine:
    # Errors never carry a statement's parameters (resume text, Stripe payloads, tokens) into logs.
    kw.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": sqlite_busy_ms / 1000},
                               **kw)
        event.listen(engine, "connect", partial(_sqlite_pragmas, busy_ms=sqlite_busy_ms))
        return engine
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    kw.setdefault("pool_timeout", PG_POOL_TIMEOUT)  # a pool held by stalled requests: 503, not a long queue
    kw.setdefault("connect_args", pg_connect_args())
    engine = create_engine(url, **kw)
    if not kw.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE = 2.0  # seconds a pooled connection may rest before its next checkout pings it


def _ping_when_idle(engine: Engine, idle_seconds: float = PING_AFTER_IDLE) -> None:
    """Pessimistic disconnect handling for connections that rested: one that sat in the pool for
    more than `idle_seconds` (a server restart, a failover or an idle timeout may have killed it) is
    pinged on checkout and replaced if dead, as `pool_pre_ping` does for every checkout. A busy pool
    hands its connections on within milliseconds, and a ping each time would cost a round trip per
    request; a server lost while connections are busy fails the statements in flight, and the first
    such error invalidates the whole pool (SQLAlchemy's disconnect handling), so it happens once."""
    from sqlalchemy import exc

    @event.listens_for(engine, "checkin")
    def _rested_from(_dbapi_conn: object, record: object) -> None:
        record.info["checked_in_at"] = time.monotonic()  # type: ignore[attr-defined]

    @event.listens_for(engine, "checkout")
    def _ping_if_rested(dbapi_conn: object, record: object, _proxy: object) -> None:
        since = record.info.get("checked_in_at")  # type: ignore[attr-defined]
        if since is None or time.monotonic() - since <= idle_seconds:
            return  # new, or handed back moments ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as e:  # noqa: BLE001 - any failure to answer means "replace it"
            raise exc.DisconnectionError(f"pooled connection did not answer a ping: {e}") from e
        if not alive:
            raise exc.DisconnectionError("pooled connection did not answer a ping")


PG_CONNECT_TIMEOUT = 3.0  # seconds to get a connection (core/config.py: VOICEMOCK_DB_CONNECT_TIMEOUT)
PG_STATEMENT_TIMEOUT = 30.0  # seconds a statement may run (VOICEMOCK_DB_STATEMENT_TIMEOUT)
PG_POOL_TIMEOUT = 10.0  # seconds to wait for a pooled connection when all are busy


def pg_connect_args(connect_timeout: float = PG_CONNECT_TIMEOUT, statement_timeout: float = PG_STATEMENT_TIMEOUT,
                    options: str = "") -> dict[str, object]:
    """libpq settings of every PostgreSQL pool: the server cancels a statement past its timeout;
    TCP keepalives and a TCP user timeout drop a connection whose peer is gone (a partition, a
    dead host). A server that is there but does not answer (stopped, hung) is bounded on this
    side by core.pgwait's deadlines, which `Database` installs."""
    return {"connect_timeout": max(2, round(connect_timeout)),
            "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 3, "keepalives_count": 3,
            "tcp_user_timeout": int((statement_timeout + 5) * 1000),
            "options": f"-c statement_timeout={int(statement_timeout * 1000)} {options}".strip()}


def _bounded_pre_ping(engine: Engine, seconds: float) -> None:
    """The pool's pre-ping of a checked-out connection gives up after `seconds` (not the statement
    deadline): a connection to a stalled server is dropped quickly and the request answers 503."""
    from core import pgwait

    ping = engine.dialect.do_ping

    def do_ping(dbapi_connection: object) -> bool:
        with pgwait.deadline(seconds):
            return ping(dbapi_connection)

    engine.dialect.do_ping = do_ping  # type: ignore[method-assign]


class Database:
    def __init__(self, url: str, *, connect_timeout: float = PG_CONNECT_TIMEOUT,
                 statement_timeout: float = PG_STATEMENT_TIMEOUT, **engine_kw: object) -> None:
        self.url = url
        self.connect_timeout, self.statement_timeout = connect_timeout, statement_timeout
        if not url.startswith("sqlite"):
            from core import pgwait

            # A live server cancels a slow statement itself (statement_timeout); this side gives up
            # only when the server does not answer at all.
            pgwait.install(connect_seconds=connect_timeout, statement_seconds=statement_timeout + 2)
            self.engine = self._pg_engine(**engine_kw)
        else:
            self.engine = make_engine(url, **engine_kw)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)

    def _pg_engine(self, **kw: object) -> Engine:
        """A PostgreSQL engine with this database's libpq settings, its pre-ping bounded by the
        connect timeout (the main pool and the readers' pool)."""
        kw.setdefault("connect_args", pg_connect_args(self.connect_timeout, self.statement_timeout))
        engine = make_engine(self.url, **kw)
        _bounded_pre_ping(engine, self.connect_timeout)
        return engine

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @cached_property
    def autocommit(self) -> Engine:
        """PostgreSQL only: an engine whose every statement is its own transaction, committed
        without waiting for the WAL flush. It carries the single-statement writes of the event log
        (core/transitions.py): a crash can lose only their last moments, never reorder them, and a
        job whose state change was lost is re-sent by the sweeper. No pre-ping: `core.prepared.run`
        retries once on a connection found dead instead of paying a round trip on every checkout."""
        assert not self.is_sqlite, "SQLite has no autocommit engine (embedded mode uses sessions)"
        return create_engine(self.url, isolation_level="AUTOCOMMIT", pool_size=10, max_overflow=20,
                             hide_parameters=True, pool_timeout=PG_POOL_TIMEOUT,
                             connect_args=pg_connect_args(self.connect_timeout, self.statement_timeout,
                                                          "-c synchronous_commit=off"))

    @cached_property
    def reader(self) -> sessionmaker:
        """Sessions for reading (a web GET, a stream's replay). On PostgreSQL their connections come
        from a pool of autocommit connections, so a read costs its statement alone, with no BEGIN
        before it and no ROLLBACK after it (two round trips of every read-only request). Each
        statement is its own transaction: a write made through one commits by itself, so anything
        that must commit with something else belongs in `Session`. Pinged like the main pool, with
        synchronous commits. SQLite: the ordinary sessions."""
        if self.is_sqlite:
            return self.Session
        return sessionmaker(self._pg_engine(isolation_level="AUTOCOMMIT", pool_size=5, max_overflow=25),
                            expire_on_commit=False)

    @property
    def reader_engine(self) -> Engine:
        """PostgreSQL: the readers' pool's engine (autocommit, synchronous commits, pinged after
        rest): reads outside any transaction, or a write of one statement that must be on disk once
        the caller answers (a new job: `Transitions.create_alone`)."""
        assert not self.is_sqlite, "SQLite has no readers' pool of its own"
        return self.reader.kw["bind"]

    @cached_property
    def _impatient(self) -> sessionmaker:
        """SQLite: sessions on a second engine whose writers give up after a quarter second instead
        of queueing for the write lock (a job's open transaction can hold it for long)."""
        engine = make_engine(self.url, sqlite_busy_ms=SQLITE_IMPATIENT_BUSY_MS, pool_size=1, max_overflow=1)
        return sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session_scope(self, *, impatient: bool = False) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on error, always closed. `impatient`:
        on SQLite, fail at once (database is locked) rather than wait for another writer."""
        session = self._impatient() if impatient and self.is_sqlite else self.Session()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self, timeout: float | None = None) -> None:
        """ServiceUnavailable unless the database answers `SELECT 1`. With `timeout` (PostgreSQL):
        on a connection of its own, outside the pool (which stalled requests may hold), and within
        `timeout` seconds whatever the server does."""
        if timeout is not None and not self.is_sqlite:
            self._ping_alone(timeout)
            return
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (OperationalError, DBAPIError) as exc:
            raise ServiceUnavailable("database is unreachable", stage="database") from exc

    def _ping_alone(self, timeout: float) -> None:
        from core import pgwait

        dialect = self.engine.dialect
        cargs, cparams = dialect.create_connect_args(self.engine.url)
        cparams.update(pg_connect_args(timeout, timeout))
        try:
            with pgwait.deadline(timeout):
                conn = dialect.dbapi.connect(*cargs, **cparams)
                try:
                    conn.cursor().execute("SELECT 1")
                finally:
                    conn.close()
        except dialect.dbapi.Error as exc:
            raise ServiceUnavailable("database is unreachable", stage="database") from exc

    def dispose(self) -> None:
        self.engine.dispose()
        if "_impatient" in self.__dict__:
            self._impatient.kw["bind"].dispose()
        if "autocommit" in self.__dict__:
            self.autocommit.dispose()
        if "reader" in self.__dict__ and not self.is_sqlite:
            self.reader.kw["bind"].dispose()
