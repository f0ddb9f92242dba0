"""Interview jobs: questions, scoring, reports, assessments (queue `llm`) and exports (queue `default`)."""
from __future__ import annotations

from jobs import assessments, exports, interviews, reports
from workers.actors import job_actor
from workers.execution import run_job


@job_actor("interviews.questions", queue="llm")
def interviews_questions(job_id: str) -> dict:
    return run_job(job_id, interviews.generate_questions)


@job_actor("interviews.score", queue="llm")
def interviews_score(job_id: str) -> dict:
    return run_job(job_id, interviews.score_interview)


@job_actor("interviews.report", queue="llm")
def interviews_report(job_id: str) -> dict:
    return run_job(job_id, reports.build_report)


@job_actor("interviews.export", queue="default")
def interviews_export(job_id: str) -> dict:
    return run_job(job_id, exports.export_interview)


@job_actor("assessments.run", queue="llm")
def assessments_run(job_id: str) -> dict:
    return run_job(job_id, assessments.run_assessment)
