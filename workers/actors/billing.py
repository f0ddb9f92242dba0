from __future__ import annotations

from jobs import billing
from workers.actors import job_actor
from workers.execution import run_job


@job_actor("billing.process_event", queue="default")
def billing_process_event(job_id: str) -> dict:
    return run_job(job_id, billing.process_event)
