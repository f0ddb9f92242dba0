from __future__ import annotations

from jobs import practice
from workers.actors import job_actor
from workers.execution import run_job


@job_actor("practice.turn", queue="stt")
def practice_turn(job_id: str) -> None:
    return run_job(job_id, practice.process_turn)


@job_actor("practice.summary", queue="llm")
def practice_summary(job_id: str) -> None:
    from jobs import summary

    return run_job(job_id, summary.summarize_session)
