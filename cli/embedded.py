"""Embedded mode: web, worker, event bus and scheduler in one process over SQLite."""
from __future__ import annotations

import logging

import dramatiq
from werkzeug.serving import run_simple

from core.config import Settings
from core.logs import configure_logging

log = logging.getLogger("voicemock.dev")


def start_platform(settings: Settings):  # noqa: ANN201 - returns (app, worker, stop_scheduler)
    import migrations
    from scheduler import loop
    from scheduler.schedule import effective
    from webapp import create_app
    from workers import actors, runtime

    migrations.upgrade(settings.database_url)
    rt = runtime.configure(settings)
    worker = dramatiq.Worker(rt.broker, worker_threads=settings.worker_threads, worker_timeout=settings.worker_poll_ms)
    worker.start()

    def send(entry) -> None:  # noqa: ANN001
        actors.ACTORS[entry.actor].send()

    stop = loop.start_thread(send, effective(settings.schedule_crons))
    app = create_app(settings, runtime=rt)
    return app, worker, stop


def serve(settings: Settings, host: str, port: int) -> None:
    configure_logging(settings.log_json, settings.log_level)
    if not settings.embedded:
        log.warning("DATABASE_URL/REDIS_URL are set: `voicemock dev` still runs an in-process worker")
    from workers.limits import cap_memory

    cap_memory(settings.worker_memory_mb)  # jobs run in this process: the workers' cap applies to it
    app, worker, stop = start_platform(settings)
    print(f"VoiceMock ({settings.mode} mode) on http://{host}:{port}  —  data in {settings.data_dir}/ "
          f"(chosen by {settings.data_dir_source}; `voicemock config` shows it)", flush=True)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        stop.set()
        worker.stop()
