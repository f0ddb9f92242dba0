from __future__ import annotations

from jobs import canary
from workers.actors import job_actor
from workers.execution import run_job


@job_actor("ops.canary", queue="default")
def ops_canary(job_id: str) -> None:
    return run_job(job_id, canary.run_canary)
