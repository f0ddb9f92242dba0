"""Resume actors. Generation jobs call back `batches.item_done` once their row is terminal, which
emits the batch's per-item event and, for the last item, its final `succeeded` event (status `completed`)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import update

from core.errors import TransientError
from core.models import Job, Resume
from jobs import batches, resumes
from workers import runtime
from workers.actors import job_actor
from workers.execution import run_job


def _job_id(message: dict) -> str | None:
    return (message.get("kwargs") or {}).get("job_id")


@job_actor("resume.parse", queue="default", on_failure="resume.parse_failed")
def resume_parse(job_id: str) -> None:
    run_job(job_id, resumes.parse_resume)


@job_actor("resume.parse_failed", queue="default")
def resume_parse_failed(message: dict, outcome: Any = None) -> None:
    """The parse job's writes rolled back with it: record the failure on the resume row."""
    rt = runtime.get()
    try:
        with rt.db.session_scope() as s:
            job = s.get(Job, _job_id(message) or "")
            if job is None or job.status != "failed":
                return  # an attempt that will be retried
            resume_id = (job.args or {}).get("resume_id")
            s.execute(update(Resume).where(Resume.id == resume_id, Resume.status == "parsing")
                      .values(status="failed", error=job.error).execution_options(synchronize_session=False))
    except MemoryError as exc:
        # Another job under the worker's memory cap (often the very resume that failed) held the
        # memory a moment ago: this small update is worth another try.
        raise TransientError("no memory to record the failed parse", stage="resume") from exc


@job_actor("resume.generate", queue="llm", on_success="batches.item_done", on_failure="batches.item_done")
def resume_generate(job_id: str) -> None:
    run_job(job_id, resumes.generate)


@job_actor("batches.item_done", queue="default")
def batch_item_done(message: dict, outcome: Any = None) -> None:
    announce(_job_id(message) or "")


def announce(job_id: str) -> None:
    """Store and publish the item's event (once), then the batch's final event if it was the last."""
    rt = runtime.get()
    with rt.db.Session() as s:
        found = batches.item_event(s, job_id)
    if found is None:
        return
    batch_id, stream, item = found
    rt.events.emit(stream, "item", item, also=lambda s: batches.mark_notified(s, job_id))
    complete(batch_id)


def complete(batch_id: str) -> None:
    # `succeeded` is a terminal event type: batch SSE streams close after it. The data is filled
    # inside the transaction that marks the batch completed.
    rt = runtime.get()
    summary: dict = {}
    rt.events.emit(f"batch:{batch_id}", "succeeded", summary, also=lambda s: batches.complete_into(s, batch_id, summary))
