"""Retention and purge actors. The scheduler sends them with no arguments (no job row: a receipt is the
record); `POST /api/cron/retention` sends them with a job id, like any other job."""
from __future__ import annotations

from jobs import retention
from jobs.context import JobContext
from workers import runtime
from workers.actors import job_actor
from workers.execution import run_job


def _scheduled(fn) -> dict:  # noqa: ANN001
    rt = runtime.get()
    ctx = JobContext(job_id="scheduled", kind="scheduled", settings=rt.settings, storage=rt.storage)
    with rt.db.session_scope() as s:
        return fn(s, ctx, trigger="schedule")


# Actors return nothing (a value without a results backend makes Dramatiq warn on every run).
@job_actor("retention.run", queue="maintenance", max_retries=3)
def retention_run(job_id: str | None = None) -> None:
    run_job(job_id, retention.run_retention) if job_id else _scheduled(retention.run_retention)


@job_actor("retention.purge", queue="maintenance", max_retries=3)
def retention_purge(job_id: str | None = None) -> None:
    run_job(job_id, retention.run_purge) if job_id else _scheduled(retention.run_purge)
