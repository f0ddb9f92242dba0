"""Bench helpers: an in-process platform (embedded, or production on throwaway Postgres + Redis)
served on a loopback port, plus a description of the machine."""
from __future__ import annotations

import os
import platform as _platform
import secrets
import tempfile
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import dramatiq
from werkzeug.serving import make_server

from core.config import Settings
from core.logs import configure_logging

if TYPE_CHECKING:
    import requests

PG_ADMIN = os.environ.get("VOICEMOCK_BENCH_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("VOICEMOCK_BENCH_REDIS", "redis://127.0.0.1:6379/10")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {cpu}, {mem:.0f} GiB RAM, Python {_platform.python_version()}"


@contextmanager
def throwaway_database() -> Iterator[str]:
    from sqlalchemy import create_engine, text

    import migrations

    name = f"voicemock_bench_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    migrations.upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def running_platform(mode: str = "production", worker_threads: int = 4, **env: str) -> Iterator[tuple[str, Settings]]:
    """Yield (base_url, settings) of a live platform inside this process."""
    import migrations
    from webapp import create_app
    from workers import runtime

    configure_logging(json_logs=False, level="WARNING")
    data = tempfile.mkdtemp(prefix="vm-bench-")
    base_env = {"VOICEMOCK_DATA_DIR": data, "VOICEMOCK_RATE_LIMITS": "0", "VOICEMOCK_ADMIN_EMAILS": "bench@example.com",
                **env}
    with (throwaway_database() if mode == "production" else _nothing()) as pg:
        if mode == "production":
            base_env.update(DATABASE_URL=pg, REDIS_URL=REDIS, VOICEMOCK_SECRET_KEY="bench-" + "k" * 40,
                            VOICEMOCK_REDIS_PREFIX=f"vmbench{os.getpid()}")
        settings = Settings.from_env(env=base_env)
        if mode != "production":
            migrations.upgrade(settings.database_url)
        rt = runtime.configure(settings)
        rt.broker.flush_all()
        worker = dramatiq.Worker(rt.broker, worker_threads=worker_threads, worker_timeout=settings.worker_poll_ms)
        worker.start()
        app = create_app(settings, runtime=rt)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_port}", settings
        finally:
            server.shutdown()
            worker.stop()
            rt.bus.close()
            rt.db.dispose()


def seconds_until_done(http: "requests.Session", stream_url: str, t0: float, timeout: float = 120) -> float:
    """Follow a job's SSE stream until its terminal event; seconds since `t0` (perf_counter)."""
    with http.get(stream_url, stream=True, timeout=(5, timeout)) as resp:
        for line in resp.iter_lines(decode_unicode=True):
            if line.startswith("event:") and line[6:].strip() in ("succeeded", "failed", "cancelled"):
                elapsed = time.perf_counter() - t0
                if line[6:].strip() != "succeeded":
                    raise RuntimeError(f"the platform job ended {line[6:].strip()}")
                return elapsed
    raise RuntimeError("stream ended without a terminal event")


@contextmanager
def _nothing() -> Iterator[None]:
    yield None
