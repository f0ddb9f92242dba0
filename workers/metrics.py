"""Prometheus metrics of job processing (exported by the worker and the web `/metrics`)."""
from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

JOBS = Counter("voicemock_jobs_total", "Jobs finished, by kind and status", ["kind", "status"])
JOB_DURATION = Histogram("voicemock_job_duration_seconds", "Time from start to finish of a job",
                         ["kind", "status"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
JOB_RETRIES = Counter("voicemock_job_retries_total", "Job attempts that will be retried", ["kind"])
SWEEPER_RESENT = Counter("voicemock_sweeper_resent_total", "Jobs re-sent by the sweeper")


def observe_job(kind: str, status: str, seconds: float) -> None:
    JOBS.labels(kind=kind, status=status).inc()
    JOB_DURATION.labels(kind=kind, status=status).observe(max(0.0, seconds))


def serve(port: int, host: str) -> Any:
    """The worker's own metrics endpoint on host:port (VOICEMOCK_WORKER_METRICS_HOST, 127.0.0.1 by
    default: job figures are not for the internet). The server, or None when another process of
    this worker already holds the port."""
    from prometheus_client import start_http_server

    try:
        server, _thread = start_http_server(port, addr=host)
    except OSError:
        return None
    return server
