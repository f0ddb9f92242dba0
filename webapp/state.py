"""Per-app state (settings, runtime, event hub) and the per-request database session."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from core.config import Settings
from core.events import EventHub
from core.group_commit import GroupCommit
from core.principal_cache import PrincipalCache
from workers.runtime import Runtime


@dataclass
class AppState:
    settings: Settings
    runtime: Runtime
    hub: EventHub
    principals: PrincipalCache | None = None  # PostgreSQL: accounts kept until they change
    lone_jobs: GroupCommit | None = None  # PostgreSQL: jobs of requests that write nothing else (webapp.enqueue)


def state() -> AppState:
    return current_app.extensions["voicemock"]


def settings() -> Settings:
    return state().settings


READ_METHODS = frozenset({"GET", "HEAD"})


def db() -> Session:
    """The request's session, opened on first use; the view commits, teardown closes. A GET or HEAD
    reads through a reader session (core.db: no BEGIN or ROLLBACK round trips on PostgreSQL); the
    writes a GET may make (a user's first row, a report's job) are each one statement."""
    if "db" not in g:
        database = state().runtime.db
        reading = has_request_context() and request.method in READ_METHODS
        g.db = (database.reader if reading else database.Session)()
    return g.db


def read_db() -> Session:
    """For a write request's reads that nothing it writes must commit with (an ownership check
    before a job is created): on PostgreSQL a reader session of its own, so the request's session
    stays untouched and a lone job is written by one statement (`webapp.enqueue`); a GET's and
    SQLite's is `db()` itself."""
    if not has_request_context() or request.method in READ_METHODS or state().runtime.db.is_sqlite:
        return db()
    if "read_db" not in g:
        g.read_db = state().runtime.db.reader()
    return g.read_db


def _close_db(exc: BaseException | None) -> None:
    reader = g.pop("read_db", None)
    if reader is not None:
        reader.close()
    session = g.pop("db", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


def init_app(app: Flask, app_state: AppState) -> None:
    app.extensions["voicemock"] = app_state
    app.teardown_appcontext(_close_db)
