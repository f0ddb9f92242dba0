"""The module `dramatiq` imports in every worker process: settings, logging, runtime, actors."""
from __future__ import annotations

import logging
import os
import threading

from core.config import Settings
from core.logs import configure_logging
from workers import runtime
from workers.limits import cap_memory

settings = Settings.from_env()
configure_logging(settings.log_json, settings.log_level)
log = logging.getLogger("voicemock.worker")


cap_memory(settings.worker_memory_mb)  # before any worker thread starts
rt = runtime.configure(settings)
broker = rt.broker

if os.environ.get("VOICEMOCK_PRELOAD_STT", "1") == "1":
    def _preload() -> None:
        from jobs.stt import get_stt

        get_stt(settings.stt_model, settings.stt_compute_type, settings.stt_cpu_threads)

    threading.Thread(target=_preload, name="stt-preload", daemon=True).start()

if settings.openai_api_key:  # the SDK takes ~0.9 s to import: not on the first LLM job's clock
    threading.Thread(target=lambda: __import__("jobs.llm.openai_engine"), name="openai-preload", daemon=True).start()

# Operations (issue 5): workers stamp a liveness set for `/metrics`, and expose their own job metrics
# (durations, retries, outcomes) on VOICEMOCK_WORKER_METRICS_PORT when it is set. Dramatiq forks one
# process per --processes; the first to bind the port serves, the others skip.
if settings.redis_url:
    from workers import liveness

    liveness.start(settings.redis_url, settings.redis_prefix)
if settings.worker_metrics_port:
    import workers.metrics

    workers.metrics.serve(settings.worker_metrics_port, settings.worker_metrics_host)
