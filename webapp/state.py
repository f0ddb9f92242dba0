"""Per-app state (settings, runtime, event hub) and the per-request database session."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from core.config import Settings
from core.events import EventHub
from workers.runtime import Runtime


@dataclass
class AppState:
    settings: Settings
    runtime: Runtime
    hub: EventHub


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


def _close_db(exc: BaseException | None) -> None:
    session = g.pop("db", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


def init_app(app: Flask, app_state: AppState) -> None:
    app.extensions["voicemock"] = app_state
    app.teardown_appcontext(_close_db)
