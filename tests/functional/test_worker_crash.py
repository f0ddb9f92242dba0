"""A worker that dies mid-job (kill -9: no ack, no clean-up) loses nothing: Dramatiq redelivers the
message once the dead worker's heartbeat is stale, the job's lease has run out by then, and the
next worker takes the job over and finishes it exactly once.

Private Redis, the test run's Postgres database, and the platform as real subprocesses.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

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


def test_a_job_killed_mid_run_is_redelivered_and_finishes_once(pg_url: str, private_redis: PrivateRedis,
                                                               tmp_path: Path) -> None:
    env = platform_env(pg_url, private_redis.url, tmp_path, **FAST_RECOVERY)
    web, base = start_web(env, tmp_path)
    first = start_worker(env, tmp_path, tag="1")
    second = None
    try:
        api = ApiClient(base, admin_token(env))
        r = api.post("/api/ops/canary", json={"sleep_seconds": 4, "steps": 8, "payload": {"key": "crash-1"}})
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
        assert job["result"] == {"ok": True, "attempt": 2, "payload": {"key": "crash-1"}}

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
        assert [j["id"] for j in listed if (j["result"] or {}).get("payload") == {"key": "crash-1"}] == [job_id]
    finally:
        for p in (first, second, web):
            if p is not None:
                p.stop()
