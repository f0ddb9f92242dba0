"""A live production-mode platform inside the test process: a real HTTP server (werkzeug, threaded)
in front of the Flask app, the Redis broker, and a real Dramatiq worker consuming every queue."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import dramatiq
from werkzeug.serving import make_server

from core.config import Settings
from core.logs import configure_logging


@dataclass
class Platform:
    settings: Settings
    runtime: object
    app: object
    worker: dramatiq.Worker
    server: object
    thread: threading.Thread
    base_url: str

    @classmethod
    def start(cls, settings: Settings) -> "Platform":
        from webapp import create_app
        from workers import runtime

        configure_logging(json_logs=False, level="WARNING")
        rt = runtime.configure(settings)
        rt.broker.flush_all()
        worker = dramatiq.Worker(rt.broker, worker_threads=4, worker_timeout=100)
        worker.start()
        app = create_app(settings, runtime=rt)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="test-http", daemon=True)
        thread.start()
        return cls(settings=settings, runtime=rt, app=app, worker=worker, server=server, thread=thread,
                   base_url=f"http://127.0.0.1:{server.server_port}")

    def stop(self) -> None:
        self.server.shutdown()
        self.worker.stop(timeout=5000)
        self.runtime.bus.close()
        self.runtime.db.dispose()
