"""`/metrics` of the web process: request metrics (prometheus-flask-exporter) plus platform gauges read
at scrape time: queue depth and dead letters per queue (from the broker), jobs by kind and status
(one grouped query, cached briefly), live workers, and the job counters of `workers/metrics.py`.
"""
from __future__ import annotations

import hmac
import logging
import threading
import time
from typing import Iterator

from flask import Flask, request
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_flask_exporter import PrometheusMetrics
from sqlalchemy import func, select

from core.errors import Forbidden
from core.models import Job
from workers import liveness, runtime
from workers.broker import QUEUES

log = logging.getLogger("voicemock.metrics")
CACHE_SECONDS = 10.0

_exporter = PrometheusMetrics.for_app_factory(group_by="url_rule", path=None, defaults_prefix="voicemock_http")
_lock = threading.Lock()
_collector_registered = False


class PlatformCollector:
    def __init__(self) -> None:
        self._jobs_cache: tuple[float, list[tuple[str, str, int]]] = (0.0, [])

    def _job_counts(self) -> list[tuple[str, str, int]]:
        at, rows = self._jobs_cache
        if time.monotonic() - at < CACHE_SECONDS:
            return rows
        rt = runtime.get()
        with rt.db.reader() as s:
            rows = [(k, st, int(n)) for k, st, n in
                    s.execute(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)).all()]
        self._jobs_cache = (time.monotonic(), rows)
        return rows

    def _broker_figures(self) -> tuple[dict[str, int], dict[str, int], int | None]:
        rt = runtime.get()
        broker = rt.broker
        depth: dict[str, int] = {}
        dead: dict[str, int] = {}
        workers: int | None = None
        client = getattr(broker, "client", None)
        if client is not None and hasattr(broker, "namespace"):
            ns = broker.namespace
            pipe = client.pipeline(transaction=False)
            for q in QUEUES:
                pipe.llen(f"{ns}:{q}")
                pipe.zcard(f"{ns}:{q}.DQ")
                pipe.zcard(f"{ns}:{q}.XQ")
            values = pipe.execute()
            for i, q in enumerate(QUEUES):
                depth[q] = int(values[3 * i]) + int(values[3 * i + 1])
                dead[q] = int(values[3 * i + 2])
            workers = liveness.count(client, rt.settings.redis_prefix)
        elif hasattr(broker, "get_queue_message_counts"):  # RabbitMQ: the counts of a passive declare
            for q in QUEUES:
                ready, delayed, dead_n = broker.get_queue_message_counts(q)
                depth[q] = int(ready) + int(delayed)
                dead[q] = int(dead_n)
        elif hasattr(broker, "queues"):  # StubBroker (embedded): the in-process worker is the one worker
            for q in QUEUES:
                depth[q] = broker.queues[q].qsize() if q in broker.queues else 0
                dead[q] = 0
            dead["all"] = len(getattr(broker, "dead_letters", []))
            workers = 1
        return depth, dead, workers

    def describe(self) -> list[Metric]:
        return []  # registering must not touch the database or the broker

    def collect(self) -> Iterator[Metric]:
        if not runtime.is_configured():
            return
        try:
            depth, dead, workers = self._broker_figures()
            g = GaugeMetricFamily("voicemock_queue_depth", "Messages waiting (ready + delayed) per queue", labels=["queue"])
            for q, n in depth.items():
                g.add_metric([q], n)
            yield g
            d = GaugeMetricFamily("voicemock_dead_letters", "Dead-lettered messages per queue", labels=["queue"])
            for q, n in dead.items():
                d.add_metric([q], n)
            yield d
            if workers is not None:
                yield GaugeMetricFamily("voicemock_workers", "Worker processes seen alive recently", value=workers)
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail because the broker blinked
            log.warning("broker figures unavailable: %s", exc.__class__.__name__)
        try:
            jobs = GaugeMetricFamily("voicemock_job_rows", "Job rows by kind and status", labels=["kind", "status"])
            failed = 0
            for kind, status, n in self._job_counts():
                jobs.add_metric([kind, status], n)
                failed += n if status == "failed" else 0
            yield jobs
            yield GaugeMetricFamily("voicemock_jobs_failed", "Failed jobs (dead letters: `voicemock jobs failed`)",
                                    value=failed)
        except Exception as exc:  # noqa: BLE001
            log.warning("job figures unavailable: %s", exc.__class__.__name__)


_FORWARDED = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


def _require_scraper() -> None:
    """Prometheus only: `Authorization: Bearer <VOICEMOCK_METRICS_TOKEN>`, or a direct connection from
    VOICEMOCK_METRICS_ALLOW (loopback by default). A request relayed by a proxy (it names a client in
    a forwarding header) is never admitted by address: the proxy's own address would admit everyone."""
    from webapp.ratelimit import _in
    from webapp.state import settings

    s = settings()
    if s.metrics_token and hmac.compare_digest(request.headers.get("Authorization", "").encode(),
                                               f"Bearer {s.metrics_token}".encode()):
        return
    relayed = any(request.headers.get(h) for h in _FORWARDED)
    if not relayed and _in(request.remote_addr or "", s.metrics_allow):
        return
    raise Forbidden("metrics are for Prometheus: scrape with the metrics token (VOICEMOCK_METRICS_TOKEN) or "
                    "from an address in VOICEMOCK_METRICS_ALLOW")


def init_app(app: Flask) -> None:
    global _collector_registered
    import workers.metrics  # noqa: F401 - job duration, retries and sweeper counters live in the registry

    with _lock:
        if not _collector_registered:
            REGISTRY.register(PlatformCollector())
            _collector_registered = True
    _exporter.init_app(app)

    @app.get("/metrics")
    @_exporter.do_not_track()
    def metrics():  # noqa: ANN202 - a text exposition, not the envelope
        _require_scraper()
        body, content_type = _exporter.generate_metrics()
        return app.response_class(body, status=200, headers={"Content-Type": content_type})

    from webapp.openapi import document

    document(auth=None, summary="Prometheus metrics (metrics token or an allowed address)", content="text/plain",
             tags=["operations"])(metrics)
