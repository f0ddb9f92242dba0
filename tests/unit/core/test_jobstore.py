"""Job transitions are conditional updates: only one claimant wins, finished jobs stay finished."""
from __future__ import annotations

from datetime import timedelta

from core import jobstore
from core.clock import utcnow
from core.models import Job


def _job(session) -> Job:  # noqa: ANN001
    job = Job(kind="ops.canary", queue="default", args={})
    session.add(job)
    session.flush()
    return job


def test_a_queued_job_is_claimed_once(db_session) -> None:  # noqa: ANN001
    job = _job(db_session)
    first = jobstore.claim(db_session, job.id, lease_seconds=60)
    assert first is not None and first.status == "running" and first.attempts == 1
    assert jobstore.claim(db_session, job.id, lease_seconds=60) is None


def test_a_running_job_whose_lease_ran_out_is_taken_over(db_session) -> None:  # noqa: ANN001
    job = _job(db_session)
    jobstore.claim(db_session, job.id, lease_seconds=60)
    job.lease_until = utcnow() - timedelta(seconds=1)
    db_session.flush()
    again = jobstore.claim(db_session, job.id, lease_seconds=60)
    assert again is not None and again.attempts == 2


def test_finishing_twice_changes_nothing_the_second_time(db_session) -> None:  # noqa: ANN001
    job = _job(db_session)
    jobstore.claim(db_session, job.id, lease_seconds=60)
    assert jobstore.finish(db_session, job.id, "succeeded", result={"n": 1}) is True
    assert jobstore.finish(db_session, job.id, "failed", error={"stage": "x"}) is False
    db_session.refresh(job)
    assert job.status == "succeeded" and job.result == {"n": 1} and job.lease_until is None
    assert jobstore.claim(db_session, job.id, lease_seconds=60) is None


def test_the_sweeper_sees_unsent_and_orphaned_jobs_only(db_session) -> None:  # noqa: ANN001
    unsent = _job(db_session)
    fresh = _job(db_session)
    fresh.enqueued_at = utcnow()
    orphan = _job(db_session)
    jobstore.claim(db_session, orphan.id, lease_seconds=60)
    orphan.lease_until = utcnow() - timedelta(seconds=5)
    alive = _job(db_session)
    jobstore.claim(db_session, alive.id, lease_seconds=60)
    db_session.flush()
    ids = {j.id for j in jobstore.stale(db_session, older_than_seconds=60)}
    assert {unsent.id, orphan.id} <= ids
    assert fresh.id not in ids and alive.id not in ids
