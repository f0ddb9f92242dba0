"""The Flask app factory. Nothing builds an app at import time."""
from __future__ import annotations

from functools import partial

from flask import Flask

from core.config import Settings
from core.events import EventHub
from core.group_commit import GroupCommit
from core.logs import ensure_logging
from core.principal_cache import PrincipalCache
from workers import runtime as worker_runtime
from workers.runtime import Runtime


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    from webapp import (access_log, blueprints, cors, enqueue, errors, idempotency, metrics, openapi, pipeline,
                        ratelimit, request_ids, state, tracking, validation)
    from webapp.cooperative import make_postgres_cooperative

    settings = settings or Settings.from_env()
    ensure_logging(settings.log_json, settings.log_level)  # gunicorn workers too: JSON with request ids
    make_postgres_cooperative()  # under gevent, before any connection exists
    if runtime is None:
        runtime = worker_runtime.get() if worker_runtime.is_configured() else worker_runtime.configure(settings)
    app = Flask(__name__)
    # Uploads are capped per route too; this bounds the whole request body so nothing larger is read.
    app.config["MAX_CONTENT_LENGTH"] = max(settings.max_audio_bytes, settings.max_resume_bytes) + 1024 * 1024
    app.json.sort_keys = False
    principals = None
    if not runtime.db.is_sqlite and settings.principal_cache_seconds > 0:
        principals = PrincipalCache(runtime.db, settings.principal_cache_seconds)
    lone_jobs = None
    if runtime.transitions.one_statement:
        lone_jobs = GroupCommit(partial(enqueue.write_lone_jobs, runtime.transitions))
    state.init_app(app, state.AppState(settings=settings, runtime=runtime, hub=EventHub(runtime.bus),
                                       principals=principals, lone_jobs=lone_jobs))
    access_log.init_app(app)  # first: times the whole request, logs its final status
    request_ids.init_app(app)
    validation.init_app(app)  # NUL in URLs (404) and, once parsed, form fields (400)
    cors.init_app(app, settings.cors_origins)
    errors.init_app(app)
    ratelimit.init_app(app, settings)  # before idempotency: a replay counts against the limit too
    pipeline.init_app(app)  # body caps and read deadline; authenticate before any body is read
    tracking.init_app(app)
    idempotency.init_app(app)
    metrics.init_app(app)
    openapi.init_app(app)
    blueprints.register(app)
    return app
