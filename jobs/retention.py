"""Retention and purge: forget data on schedule, and write a receipt of what was forgotten.

Per artifact kind, with ages from settings (`retention_*`): audio files (and their rows' keys),
transcripts, job events, finished jobs (and their artifact files), copilot sessions (when that table
exists in this installation), expired idempotency keys. Purge removes accounts and interviews marked
deleted (`deleted_at`), with their files. Both are idempotent: a second run finds nothing to delete.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, inspect, select, update
from sqlalchemy.orm import Session

from core.clock import iso, utcnow
from core.config import Settings
from core.models import DeletedSubject, IdempotencyKey, Interview, Job, JobEvent, RetentionReceipt, Resume, Turn, User
from core.storage import LocalStorage
from jobs.context import JobContext

log = logging.getLogger("voicemock.retention")
TERMINAL = ("succeeded", "failed", "cancelled")


def _has_table(session: Session, name: str) -> bool:
    return inspect(session.get_bind()).has_table(name)


def _delete_files(storage: LocalStorage, keys: list[str]) -> int:
    removed = 0
    for key in keys:
        try:
            removed += storage.delete(key)
        except Exception as exc:  # noqa: BLE001 - a bad key must not stop the rest of the run
            log.warning("could not delete %s: %s", key, exc)
    return removed


def cutoffs(settings: Settings, now: datetime) -> dict[str, datetime]:
    return {
        "audio": now - timedelta(days=settings.retention_audio_days),
        "transcripts": now - timedelta(days=settings.retention_transcripts_days),
        "job_events": now - timedelta(days=settings.retention_events_days),
        "finished_jobs": now - timedelta(days=settings.retention_jobs_days),
        "copilot_sessions": now - timedelta(days=settings.retention_copilot_days),
        "idempotency_keys": now,  # rows carry their own expiry
    }


def apply_retention(session: Session, settings: Settings, storage: LocalStorage, now: datetime | None = None
                    ) -> tuple[dict[str, int], dict[str, str], list[str]]:
    now = now or utcnow()
    cut = cutoffs(settings, now)
    counts: dict[str, int] = {}
    skipped: list[str] = []

    audio = session.execute(select(Turn.id, Turn.audio_key).where(
        Turn.audio_key.is_not(None), Turn.created_at < cut["audio"])).all()
    counts["audio_files"] = _delete_files(storage, [k for _, k in audio])
    counts["audio"] = len(audio)
    if audio:
        session.execute(update(Turn).where(Turn.id.in_([i for i, _ in audio])).values(audio_key=None))

    counts["transcripts"] = session.execute(update(Turn).where(
        Turn.transcript.is_not(None), Turn.created_at < cut["transcripts"]).values(transcript=None, segments=None)
    ).rowcount or 0

    counts["job_events"] = session.execute(delete(JobEvent).where(JobEvent.created_at < cut["job_events"])
                                           ).rowcount or 0

    old_jobs = session.execute(select(Job.id, Job.artifact_key).where(
        Job.status.in_(TERMINAL), Job.finished_at.is_not(None), Job.finished_at < cut["finished_jobs"])).all()
    counts["artifact_files"] = _delete_files(storage, [k for _, k in old_jobs if k])
    counts["finished_jobs"] = 0
    for chunk in range(0, len(old_jobs), 500):
        ids = [i for i, _ in old_jobs[chunk:chunk + 500]]
        counts["finished_jobs"] += session.execute(delete(Job).where(Job.id.in_(ids))).rowcount or 0

    if _has_table(session, "copilot_sessions"):
        from core.models.copilot import CopilotSession  # another feature's table: present when migrated

        old_copilot = CopilotSession.created_at < cut["copilot_sessions"]
        counts["copilot_audio_files"] = _delete_files(storage, _copilot_audio_keys(session, old_copilot))
        counts["copilot_sessions"] = session.execute(delete(CopilotSession).where(old_copilot)).rowcount or 0
    else:
        skipped.append("copilot_sessions")

    counts["idempotency_keys"] = session.execute(delete(IdempotencyKey).where(
        IdempotencyKey.expires_at <= cut["idempotency_keys"])).rowcount or 0
    return counts, {k: iso(v) or "" for k, v in cut.items()}, skipped


def _copilot_audio_keys(session: Session, which: Any) -> list[str]:
    from core.models.copilot import CopilotChunk, CopilotSession

    return [k for (k,) in session.execute(select(CopilotChunk.audio_key).join(
        CopilotSession, CopilotSession.id == CopilotChunk.session_id).where(
        which, CopilotChunk.audio_key.is_not(None))).all()]


def apply_purge(session: Session, storage: LocalStorage) -> dict[str, int]:
    """Hard-delete interviews and accounts marked deleted, files first (rows cascade).

    Files are every feature's: turn audio, export artifacts (of the account's jobs, and of a deleted
    interview's jobs), uploaded resumes and copilot audio chunks. Rows cascade from the user or the
    interview, but files do not, so each feature's file keys are collected before the rows go.
    """
    counts = {"interviews": 0, "accounts": 0, "audio_files": 0, "artifact_files": 0, "resume_files": 0,
              "copilot_audio_files": 0}
    doomed_users = [u for (u,) in session.execute(select(User.id).where(User.deleted_at.is_not(None))).all()]
    doomed_interviews = [i for (i,) in session.execute(select(Interview.id).where(
        (Interview.deleted_at.is_not(None)) | (Interview.user_id.in_(doomed_users)))).all()]
    if doomed_interviews:
        keys = [k for (k,) in session.execute(select(Turn.audio_key).where(
            Turn.interview_id.in_(doomed_interviews), Turn.audio_key.is_not(None))).all()]
        counts["audio_files"] = _delete_files(storage, keys)
        # The interview's finished jobs (exports, reports, scoring) hold its content and files; a job
        # still in flight keeps its row and fails on its own when it finds the interview gone.
        finished = session.execute(select(Job.id, Job.artifact_key).where(
            Job.subject_id.in_(doomed_interviews), Job.status.in_(TERMINAL))).all()
        counts["artifact_files"] += _delete_files(storage, [k for _, k in finished if k])
        if finished:
            session.execute(delete(Job).where(Job.id.in_([i for i, _ in finished])))
        counts["interviews"] = session.execute(delete(Interview).where(Interview.id.in_(doomed_interviews))
                                               ).rowcount or 0
    if doomed_users:
        keys = [k for (k,) in session.execute(select(Job.artifact_key).where(
            Job.user_id.in_(doomed_users), Job.artifact_key.is_not(None))).all()]
        counts["artifact_files"] += _delete_files(storage, keys)
        keys = [k for (k,) in session.execute(select(Resume.file_key).where(
            Resume.user_id.in_(doomed_users), Resume.file_key.is_not(None))).all()]
        counts["resume_files"] = _delete_files(storage, keys)
        if _has_table(session, "copilot_chunks"):
            from core.models.copilot import CopilotSession

            keys = _copilot_audio_keys(session, CopilotSession.user_id.in_(doomed_users))
            counts["copilot_audio_files"] = _delete_files(storage, keys)
        session.execute(delete(Job).where(Job.user_id.in_(doomed_users)))
        # Tombstones first: a token of a purged account must not make a fresh account (webapp/auth.py).
        for subject, deleted_at in session.execute(select(User.subject, User.deleted_at).where(
                User.id.in_(doomed_users))).all():
            session.merge(DeletedSubject(subject=subject, deleted_at=deleted_at))
        counts["accounts"] = session.execute(delete(User).where(User.id.in_(doomed_users))).rowcount or 0
    return counts


def _receipt(session: Session, kind: str, trigger: str, job_id: str | None, counts: dict[str, int],
             cut: dict[str, str], skipped: list[str], started: datetime) -> dict[str, Any]:
    total = sum(v for k, v in counts.items() if not k.endswith("_files"))
    receipt = RetentionReceipt(kind=kind, trigger=trigger, job_id=job_id, counts=counts, cutoffs=cut,
                               skipped=skipped, total=total, started_at=started, finished_at=utcnow())
    session.add(receipt)
    session.flush()
    log.info("%s run deleted %d row(s): %s", kind, total, counts)
    return receipt_dict(receipt)


def receipt_dict(r: RetentionReceipt) -> dict[str, Any]:
    return {"id": r.id, "kind": r.kind, "trigger": r.trigger, "job_id": r.job_id, "counts": r.counts,
            "cutoffs": r.cutoffs, "skipped": r.skipped, "total": r.total, "started_at": iso(r.started_at),
            "finished_at": iso(r.finished_at)}


def run_retention(session: Session, ctx: JobContext, trigger: str = "cron") -> dict[str, Any]:
    started = utcnow()
    ctx.progress("retention", 0.1)
    counts, cut, skipped = apply_retention(session, ctx.settings, ctx.storage, started)
    return _receipt(session, "retention", trigger, None if ctx.job_id == "scheduled" else ctx.job_id, counts, cut,
                    skipped, started)


def run_purge(session: Session, ctx: JobContext, trigger: str = "cron") -> dict[str, Any]:
    started = utcnow()
    ctx.progress("purge", 0.1)
    counts = apply_purge(session, ctx.storage)
    return _receipt(session, "purge", trigger, None if ctx.job_id == "scheduled" else ctx.job_id, counts, {}, [],
                    started)
