"""A worker that dies mid-job (kill -9: no ack, no clean-up) loses nothing: Dramatiq redelivers the
message once the dead worker's heartbeat is stale, the job's lease has run out by then, and the
next worker takes the job over and finishes it exactly once.

Private Redis, the test run's Postgres database, and the platform as real subprocesses.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from tests.support.client import ApiClient
from tests.support.procs import PrivateRedis, admin_token, platform_env, start_web, start_worker, wait_for

# Lease 2 s (renewed on every progress step), heartbeat timeout 3 s: by the time the broker hands a
# dead worker's message to another one, the job's lease has expired, so the takeover claim wins.
FAST_RECOVERY = {
    "VOICEMOCK_JOB_LEASE_SECONDS": "2",
    "VOICEMOCK_HEARTBEAT_TIMEOUT_MS": "3000",
    "VOICEMOCK_BROKER_MAINTENANCE_CHANCE": "1000000",
}


@pytest.fixture()
def private_redis() -> Iterator[PrivateRedis]:
    r = PrivateRedis.start()
    yield r
    r.stop()


# The broker redelivers (heartbeat 2 s) while the dead worker's lease (6 s) is still live: the new
# worker must not drop the message; it looks again when the lease has run out. No sweeper runs.
EARLY_REDELIVERY = {
    "VOICEMOCK_JOB_LEASE_SECONDS": "6",
    "VOICEMOCK_HEARTBEAT_TIMEOUT_MS": "2000",
    "VOICEMOCK_BROKER_MAINTENANCE_CHANCE": "1000000",
}


@pytest.mark.parametrize("timing", [FAST_RECOVERY, EARLY_REDELIVERY], ids=["lease-expired", "lease-still-live"])
def test_a_job_killed_mid_run_is_redelivered_and_finishes_once(pg_url: str, private_redis: PrivateRedis,
                                                               tmp_path: Path, timing: dict) -> None:
    env = platform_env(pg_url, private_redis.url, tmp_path, **timing)
    web, base = start_web(env, tmp_path)
    first = start_worker(env, tmp_path, tag="1")
    second = None
    try:
        api = ApiClient(base, admin_token(env))
        key = f"crash-{time.monotonic_ns()}"
        r = api.post("/api/ops/canary", json={"sleep_seconds": 4, "steps": 8, "payload": {"key": key}})
        assert r.status_code == 202, r.text
        links = r.json()["data"]
        job_id = links["job_id"]

        def mid_run() -> bool:
            job = api.get(f"/api/jobs/{job_id}").json()["data"]
            return job["status"] == "running" and job["progress"] > 0

        wait_for(mid_run, 20, "the canary to start on the first worker", interval=0.05)
        first.kill9()

        second = start_worker(env, tmp_path, tag="2")
        job = api.wait_job(job_id, timeout=25)
        assert job["status"] == "succeeded", (job, second.log_tail())
        assert job["attempts"] == 2
        assert job["result"] == {"ok": True, "attempt": 2, "payload": {"key": key}}

        events = api.sse(links["stream_url"], auth=False, timeout=10)
        types = [e.type for e in events]
        assert [e.id for e in events] == list(range(1, len(events) + 1)), "numbered with no gap or repeat"
        assert types.count("queued") == 1
        assert types.count("started") == 2, "one start per attempt"
        assert types.count("succeeded") == 1, types
        assert types[-1] == "succeeded"
        assert not {"failed", "cancelled"} & set(types)
        # The second attempt ran all 8 steps once.
        second_start = len(types) - 1 - types[::-1].index("started")
        assert types[second_start + 1:].count("progress") == 8

        # Nothing else doubled: the job is the only one its submission created.
        listed = api.get("/api/jobs", params={"kind": "ops.canary", "limit": 100}).json()["data"]["jobs"]
        assert [j["id"] for j in listed if (j["result"] or {}).get("payload") == {"key": key}] == [job_id]
    finally:
        for p in (first, second, web):
            if p is not None:
                p.stop()


def _states(database_url: str, job_ids: list[str]) -> tuple[dict[str, tuple[str, int]], dict[str, dict[str, int]]]:
    """(status, attempts) per job, and event counts per job and type."""
    engine = create_engine(database_url)
    streams = [f"job:{j}" for j in job_ids]
    try:
        with engine.connect() as c:
            jobs = {r[0]: (r[1], r[2]) for r in c.execute(
                text("SELECT id, status, attempts FROM jobs WHERE id = ANY(:ids)"), {"ids": job_ids})}
            counts: dict[str, dict[str, int]] = {j: {} for j in job_ids}
            for stream, type_, n in c.execute(text("SELECT stream, type, count(*) FROM events "
                                                   "WHERE stream = ANY(:s) GROUP BY stream, type"), {"s": streams}):
                counts[stream.split(":", 1)[1]][type_] = n
    finally:
        engine.dispose()
    return jobs, counts


JOBS = 500
BOUND_SECONDS = 120  # from the last submission to the last job finished, two crashes included


@pytest.mark.slow
def test_500_jobs_survive_two_worker_crashes_and_each_finishes_exactly_once(pg_url: str,
                                                                            private_redis: PrivateRedis,
                                                                            tmp_path: Path) -> None:
    env = platform_env(pg_url, private_redis.url, tmp_path, **FAST_RECOVERY)
    web, base = start_web(env, tmp_path)
    workers = [start_worker(env, tmp_path, tag="a0"), start_worker(env, tmp_path, tag="b0")]
    ids: list[str] = []
    lock = threading.Lock()
    try:
        def submit(part: int) -> None:
            api = ApiClient(base, admin_token(env))
            for i in range(part, JOBS, 4):
                r = api.post("/api/ops/canary",
                             json={"sleep_seconds": 0.2, "steps": 2, "payload": {"key": f"many-{i}"}})
                assert r.status_code == 202, r.text
                with lock:
                    ids.append(r.json()["data"]["job_id"])

        submitters = [threading.Thread(target=submit, args=(n,)) for n in range(4)]
        for t in submitters:
            t.start()

        def finished() -> int:
            with lock:
                snapshot = list(ids)
            jobs, _ = _states(pg_url, snapshot) if snapshot else ({}, {})
            return sum(st == "succeeded" for st, _ in jobs.values())

        # Crash each original worker once, while work is in flight, and replace it.
        for n, threshold in enumerate((100, 250)):
            wait_for(lambda: finished() >= threshold, 90, f"{threshold} jobs done", interval=0.2)
            workers[n].kill9()
            workers.append(start_worker(env, tmp_path, tag=f"r{n}"))
        for t in submitters:
            t.join(120)
        submitted_at = time.monotonic()
        assert len(ids) == JOBS

        wait_for(lambda: finished() == JOBS, BOUND_SECONDS, f"all {JOBS} jobs done", interval=0.5)
        elapsed = time.monotonic() - submitted_at
        jobs, counts = _states(pg_url, ids)
        assert len(jobs) == JOBS and {st for st, _ in jobs.values()} == {"succeeded"}
        for job_id in ids:
            c = counts[job_id]
            assert c.get("succeeded") == 1, (job_id, c)
            assert c.get("queued") == 1 and "failed" not in c, (job_id, c)
            assert c.get("started") == jobs[job_id][1], "one start per attempt"
        retried = sum(a > 1 for _, a in jobs.values())
        assert retried >= 1, "the crashes hit jobs in flight"
        print(f"{JOBS} jobs, 2 crashes: {retried} taken over after a crash, last done {elapsed:.1f} s "
              f"after the last submission (bound {BOUND_SECONDS} s)")
    finally:
        for p in (*workers, web):
            p.stop()
