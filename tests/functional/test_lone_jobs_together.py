"""A web process's group commit (core/group_commit.py, webapp/enqueue.py): the jobs of requests that
arrive while another request's job is being written share one statement, one commit and one broker
round trip; each request still gets its own job, which runs. Through HTTP, PostgreSQL, Redis and the
worker: a lock held on `jobs` keeps the first job's statement waiting in the database."""
from __future__ import annotations

import threading
import uuid

from sqlalchemy import text

from core.clock import utcnow
from core.models import Job
from tests.support.client import ApiClient, data
from tests.support.procs import wait_for


def _post_canaries(platform, token: str, n: int, answers: list) -> list[threading.Thread]:  # noqa: ANN001
    def post(i: int) -> None:
        answers.append(ApiClient(platform.base_url, token).post("/api/ops/canary", json={"payload": {"i": i}}))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads


def _waiting_on_a_lock(engine) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                     "AND query ~ '^(PREPARE|EXECUTE) vm_create'")).scalar_one())


def test_jobs_posted_while_another_is_written_share_one_statement_and_each_runs(platform, admin_client) -> None:  # noqa: ANN001
    group = platform.app.extensions["voicemock"].lone_jobs
    engine = platform.runtime.db.engine
    data(admin_client.get("/auth/me"))  # the account exists before the lock is taken
    batches, items = group.batches, group.items
    first: list = []
    later: list = []
    with engine.connect() as locker:
        locker.execute(text("LOCK TABLE jobs IN SHARE MODE"))  # no INSERT into jobs until the rollback
        threads = _post_canaries(platform, admin_client.token, 1, first)
        wait_for(lambda: _waiting_on_a_lock(engine) == 1, 10, "the first job's statement waiting on the lock",
                 interval=0.01)
        threads += _post_canaries(platform, admin_client.token, 5, later)
        wait_for(lambda: group.waiting == 5, 10, "five jobs queued behind the first", interval=0.01)
        locker.rollback()
    for t in threads:
        t.join(30)
    assert [r.status_code for r in first + later] == [202] * 6, [r.text for r in first + later]
    assert (group.batches - batches, group.items - items) == (2, 6)  # the first alone, then five together
    jobs = [data(r)["job_id"] for r in first + later]
    assert len(set(jobs)) == 6
    for job_id in jobs:
        assert admin_client.wait_job(job_id)["status"] == "succeeded"
    with engine.connect() as conn:
        queued = conn.execute(text("SELECT stream, seq FROM events WHERE type = 'queued' AND stream = ANY(:s)"),
                              {"s": [f"job:{j}" for j in jobs]}).all()
    assert sorted(queued) == sorted((f"job:{j}", 1) for j in jobs)  # one `queued` event each, numbered 1


def test_a_row_that_breaks_a_constraint_fails_its_own_request_only(platform, admin_client) -> None:  # noqa: ANN001
    """A batch is one statement: a row that breaks a constraint undoes it whole, so the jobs are
    written again one at a time and only that row's request gets the error."""
    from sqlalchemy.exc import IntegrityError

    from webapp.enqueue import write_lone_jobs

    owner = data(admin_client.get("/auth/me"))["id"]

    def job(user_id: str) -> Job:
        now = utcnow()
        return Job(id=f"job_{uuid.uuid4().hex[:20]}", kind="ops.canary", queue="ops", args={}, user_id=user_id,
                   created_at=now, enqueued_at=now, status="queued", progress=0.0, attempts=0,
                   cancel_requested=False)

    good, bad, also_good = job(owner), job("usr_nobody"), job(owner)
    outcomes = write_lone_jobs(platform.runtime.transitions, [(j, {"kind": "ops.canary"}, None)
                                                              for j in (good, bad, also_good)])
    assert isinstance(outcomes[1], IntegrityError) and "fk_jobs_user_id_users" in str(outcomes[1])
    assert [o.seq for i, o in enumerate(outcomes) if i != 1] == [1, 1]
    for j in (good, also_good):  # written and sent: the worker runs them
        assert admin_client.wait_job(j.id)["status"] == "succeeded"
    assert admin_client.get(f"/api/jobs/{bad.id}").status_code == 404

