"""Copilot actors. Suggestion jobs carry an actor-level callback (`copilot.handoff`), which Dramatiq's
Callbacks middleware sends only after JobLifecycle has written the job's terminal row: the next
suggestion job is therefore created after the previous one finished, never alongside it."""
from __future__ import annotations

from typing import Any

from core.models import Job
from jobs import copilot
from workers import dispatch, runtime
from workers.actors import job_actor
from workers.execution import run_job


@job_actor("copilot.suggest", queue="llm", on_success="copilot.handoff", on_failure="copilot.handoff")
def copilot_suggest(job_id: str) -> None:
    run_job(job_id, copilot.suggest)


@job_actor("copilot.handoff", queue="llm")
def copilot_handoff(message: dict, outcome: Any = None) -> None:
    job_id = (message.get("kwargs") or {}).get("job_id")
    rt = runtime.get()
    with rt.db.session_scope() as s:
        job = s.get(Job, job_id) if job_id else None
        nxt = copilot.handoff(s, job.subject_id, job.id) if job is not None and job.subject_id else None
        nxt_id = nxt.id if nxt else None
    if nxt_id:
        dispatch.announce_and_send(nxt_id, copilot.SUGGEST_KIND)


@job_actor("copilot.transcribe", queue="stt", on_success="copilot.transcribed")
def copilot_transcribe(job_id: str) -> None:
    run_job(job_id, copilot.transcribe_chunk)


@job_actor("copilot.transcribed", queue="llm")
def copilot_transcribed(message: dict, outcome: Any = None) -> None:
    """Send the suggestion job the transcription took the slot for (its row committed with the words)."""
    rt = runtime.get()
    with rt.db.Session() as s:
        job = s.get(Job, (message.get("kwargs") or {}).get("job_id") or "")
        nxt = (job.result or {}).get("suggest_job_id") if job is not None and job.status == "succeeded" else None
    if nxt:
        dispatch.announce_and_send(nxt, copilot.SUGGEST_KIND)


@job_actor("copilot.summarize", queue="llm")
def copilot_summarize(job_id: str) -> None:
    run_job(job_id, copilot.summarize)
