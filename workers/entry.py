"""The module `dramatiq` imports in every worker process: settings, logging, runtime, actors."""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import resource
import threading

from core.config import Settings
from core.logs import configure_logging
from workers import runtime

settings = Settings.from_env()
configure_logging(settings.log_json, settings.log_level)
log = logging.getLogger("voicemock.worker")


def _cap_memory(megabytes: int) -> None:
    """Cap this worker process's address space (issue 4: no worker exceeds a memory cap).

    A job that needs more (a hostile document) gets a MemoryError, which fails that job alone; the
    process and its other threads carry on. glibc would otherwise reserve a 64 MB malloc arena per
    thread (address space, not memory): with a dozen threads that reservation alone eats most of a
    modest cap, so arenas are held to two before any worker thread starts.
    """
    if megabytes <= 0:
        return
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        pass
    limit = megabytes * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    log.info("worker address space capped at %d MB", limit // (1024 * 1024))


_cap_memory(settings.worker_memory_mb)
rt = runtime.configure(settings)
broker = rt.broker

if os.environ.get("VOICEMOCK_PRELOAD_STT", "1") == "1":
    def _preload() -> None:
        from jobs.stt import get_stt

        get_stt(settings.stt_model, settings.stt_compute_type, settings.stt_cpu_threads)

    threading.Thread(target=_preload, name="stt-preload", daemon=True).start()

# Operations (issue 5): workers stamp a liveness set for `/metrics`, and expose their own job metrics
# (durations, retries, outcomes) on VOICEMOCK_WORKER_METRICS_PORT when it is set. Dramatiq forks one
# process per --processes; the first to bind the port serves, the others skip.
if settings.redis_url:
    from workers import liveness

    liveness.start(settings.redis_url, settings.redis_prefix)
if settings.worker_metrics_port:
    from prometheus_client import start_http_server

    import workers.metrics  # noqa: F401 - registers the job counters and histograms

    try:
        start_http_server(settings.worker_metrics_port)
    except OSError:
        pass
