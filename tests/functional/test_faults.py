"""Faults of the backing services and of workers, on private service instances and real processes:

- the broker (Redis) hangs for 10 s during submissions: 202 or 503, never 500; the sweeper re-sends
  what was accepted once Redis is back; nothing lost, nothing doubled;
- the database (a private PostgreSQL cluster) is stopped for 10 s: 503 with the envelope, `/readyz`
  says why, and the same processes recover when it returns;
- a worker gets SIGTERM during work: in-flight jobs finish, prefetched ones go back to the queue.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from tests.support.client import ApiClient
from tests.support.procs import (VENV_BIN, PrivatePostgres, PrivateRedis, Proc, admin_token, migrate, platform_env,
                                 start_web, start_worker, sweep, wait_for)


@pytest.fixture()
def private_redis() -> Iterator[PrivateRedis]:
    r = PrivateRedis.start()
    yield r
    r.stop()


def _event_counts(database_url: str, job_ids: list[str], type_: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as c:
            rows = c.execute(text("SELECT stream, count(*) FROM events WHERE type = :t AND stream = ANY(:s) "
                                  "GROUP BY stream"), {"t": type_, "s": [f"job:{j}" for j in job_ids]}).all()
    finally:
        engine.dispose()
    counts = {j: 0 for j in job_ids}
    counts.update({stream.split(":", 1)[1]: n for stream, n in rows})
    return counts


def _jobs(database_url: str, job_ids: list[str]) -> dict[str, tuple[str, int]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as c:
            rows = c.execute(text("SELECT id, status, attempts FROM jobs WHERE id = ANY(:ids)"),
                             {"ids": job_ids}).all()
    finally:
        engine.dispose()
    return {r[0]: (r[1], r[2]) for r in rows}


def _canary_keys(database_url: str, marker: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as c:
            rows = c.execute(text("SELECT args FROM jobs WHERE kind = 'ops.canary'")).scalars().all()
    finally:
        engine.dispose()
    return [a["payload"]["key"] for a in rows
            if isinstance(a.get("payload"), dict) and str(a["payload"].get("key", "")).startswith(marker)]


@pytest.mark.slow
def test_a_broker_outage_during_submissions_loses_and_doubles_nothing(pg_url: str, private_redis: PrivateRedis,
                                                                     tmp_path: Path) -> None:
    # Short socket timeouts: a hung Redis costs a request about a second per call, not forever.
    redis_url = private_redis.url + "?socket_timeout=1&socket_connect_timeout=1"
    env = platform_env(pg_url, redis_url, tmp_path, VOICEMOCK_SWEEPER_STALE_SECONDS="1")
    web, base = start_web(env, tmp_path)
    worker = start_worker(env, tmp_path, tag="b")
    marker = f"outage-{time.time_ns()}-"
    outcomes: list[tuple[str, int, str | None]] = []
    stop = threading.Event()

    def submit(n: int) -> None:
        api = ApiClient(base, admin_token(env))
        i = 0
        while not stop.is_set():
            key = f"{marker}{n}-{i}"
            r = api.post("/api/ops/canary", json={"payload": {"key": key}}, timeout=60)
            job_id = r.json()["data"]["job_id"] if r.status_code == 202 else None
            outcomes.append((key, r.status_code, job_id))
            assert r.status_code in (202, 503), r.text
            if r.status_code == 503:
                assert r.json()["error"] and r.json()["stage"]
            i += 1
            time.sleep(0.05)

    try:
        threads = [threading.Thread(target=submit, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        time.sleep(2)
        private_redis.pause()
        paused_at = len(outcomes)
        time.sleep(10)
        private_redis.resume()
        during = len(outcomes) - paused_at
        time.sleep(2)
        stop.set()
        for t in threads:
            t.join(60)
        assert during > 0, "the API kept answering while Redis was paused"
        assert {s for _, s, _ in outcomes} <= {202, 503}

        accepted = [j for _, s, j in outcomes if s == 202]
        api = ApiClient(base, admin_token(env))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            sweep(env)  # what the scheduler's maintenance tick does
            states = _jobs(pg_url, accepted)
            if all(st == "succeeded" for st, _ in states.values()):
                break
            time.sleep(1)
        states = _jobs(pg_url, accepted)
        assert len(states) == len(accepted), "every accepted job has its row"
        assert {st for st, _ in states.values()} == {"succeeded"}, worker.log_tail()
        assert {a for _, a in states.values()} == {1}, "each job ran once"
        assert set(_event_counts(pg_url, accepted, "succeeded").values()) == {1}
        # A refused submission (503) left nothing behind; an accepted one exactly one job.
        keys = _canary_keys(pg_url, marker)
        assert sorted(keys) == sorted(k for k, s, _ in outcomes if s == 202)
        assert api.get("/readyz").status_code == 200
    finally:
        stop.set()
        worker.stop()
        web.stop()


@pytest.mark.slow
def test_a_database_outage_answers_503_and_recovers_without_a_restart(private_redis: PrivateRedis,
                                                                       tmp_path: Path) -> None:
    pg = PrivatePostgres.start()
    try:
        db_url = pg.create_database()
        env = platform_env(db_url, private_redis.url, tmp_path)
        migrate(env)
        web, base = start_web(env, tmp_path)
        worker = start_worker(env, tmp_path, tag="d")
        try:
            api = ApiClient(base, admin_token(env))
            r = api.post("/api/ops/canary", json={"payload": {"key": "before"}})
            assert r.status_code == 202, r.text
            before = r.json()["data"]["job_id"]
            assert api.wait_job(before, timeout=30)["status"] == "succeeded"

            pg.pause()
            down_at = time.monotonic()
            for method, path, body in (("GET", f"/api/jobs/{before}", None), ("GET", "/api/jobs", None),
                                       ("POST", "/api/ops/canary", {})):
                r = api.request(method, path, json=body, timeout=30)
                assert r.status_code == 503, (path, r.status_code, r.text)
                envelope = r.json()
                assert envelope["data"] is None and envelope["error"] and envelope["stage"] == "database"
                assert envelope["request_id"] == r.headers["X-Request-ID"]
                assert r.headers.get("Retry-After")
            r = api.get("/readyz", auth=False)
            assert r.status_code == 503
            assert r.json()["details"]["database"].startswith("unavailable")
            assert r.json()["details"]["redis"] == "ok"
            time.sleep(max(0.0, 10 - (time.monotonic() - down_at)))
            pg.resume()

            wait_for(lambda: api.get("/readyz", auth=False).status_code == 200, 20, "readiness after the outage")
            assert api.get(f"/api/jobs/{before}").status_code == 200
            r = api.post("/api/ops/canary", json={"payload": {"key": "after"}})
            assert r.status_code == 202, r.text
            assert api.wait_job(r.json()["data"]["job_id"], timeout=30)["status"] == "succeeded"
            assert web.alive() and worker.alive(), "recovered by the same processes"
        finally:
            worker.stop()
            web.stop()
    finally:
        pg.stop()


def test_sigterm_lets_in_flight_jobs_finish_and_returns_the_rest_to_the_queue(pg_url: str,
                                                                              private_redis: PrivateRedis,
                                                                              tmp_path: Path) -> None:
    env = platform_env(pg_url, private_redis.url, tmp_path)
    web, base = start_web(env, tmp_path)
    first = start_worker(env, tmp_path, threads=2, tag="t1")
    second = None
    try:
        api = ApiClient(base, admin_token(env))
        ids = []
        for i in range(6):
            r = api.post("/api/ops/canary", json={"sleep_seconds": 2, "steps": 4, "payload": {"key": f"term-{i}"}})
            assert r.status_code == 202, r.text
            ids.append(r.json()["data"]["job_id"])

        def two_running() -> bool:
            return sum(st == "running" for st, _ in _jobs(pg_url, ids).values()) >= 2

        wait_for(two_running, 20, "two jobs running")
        running = [j for j, (st, _) in _jobs(pg_url, ids).items() if st == "running"]
        assert first.terminate(timeout=30) is not None, "the worker exits on SIGTERM"

        after = _jobs(pg_url, ids)
        assert all(after[j][0] == "succeeded" for j in running), "in-flight jobs finished before exit"
        assert all(st in ("succeeded", "queued") for st, _ in after.values()), after

        second = start_worker(env, tmp_path, threads=2, tag="t2")
        for j in ids:
            assert api.wait_job(j, timeout=30)["status"] == "succeeded"
        assert {a for _, a in _jobs(pg_url, ids).values()} == {1}, "no job was interrupted and re-run"
        assert set(_event_counts(pg_url, ids, "succeeded").values()) == {1}
    finally:
        for p in (first, second, web):
            if p is not None:
                p.stop()


def _suggestions(api: ApiClient, copilot_id: str) -> int:
    return int(api.get(f"/api/copilot/sessions/{copilot_id}").json()["data"]["suggestion_count"])


@pytest.mark.slow
def test_the_scheduler_lives_through_redis_outages_and_catches_up_at_once(pg_url: str, private_redis: PrivateRedis,
                                                                          tmp_path: Path) -> None:
    """Issue 13 item 6: Redis paused (SIGSTOP) for 8 s, then killed -9 and restarted empty. The
    `voicemock scheduler` process stays up, syncs its table again into the empty Redis, and once
    Redis answers sends what fell due, so the jobs accepted while their messages could not be
    sent run within seconds (not after the sweeper's 120 s staleness interval), and a copilot
    suggestion stuck in `queued` no longer holds up the session's later suggestions."""
    import redis

    redis_url = private_redis.url + "?socket_timeout=1&socket_connect_timeout=1"
    env = platform_env(pg_url, redis_url, tmp_path, VOICEMOCK_SCHEDULER_INTERVAL="0.5")
    prefix = env["VOICEMOCK_REDIS_PREFIX"]
    scheduled = f"{prefix}:rq:scheduler:scheduled_jobs"
    web, base = start_web(env, tmp_path)
    worker = start_worker(env, tmp_path, tag="s")
    scheduler = Proc("scheduler", [str(VENV_BIN / "voicemock"), "scheduler"], env, tmp_path / "scheduler.log").start()
    try:
        connection = redis.Redis.from_url(private_redis.url, socket_timeout=2)
        wait_for(lambda: connection.zcard(scheduled) == 3, 30, "the schedule table synced")
        api = ApiClient(base, admin_token(env))
        r = api.post("/api/copilot/sessions/start", json={"mode": "interview", "role": "software engineer"})
        assert r.status_code in (200, 201), r.text
        copilot_id = r.json()["data"]["session_id"]

        for round_, outage in enumerate(("pause", "crash"), start=1):
            accepted = []
            if outage == "pause":
                private_redis.pause()
            else:
                # Messages waiting in Redis when it dies: a canary and a suggestion, sent while no
                # worker runs. Lost with it, they are sent again at once, not after the sweeper's 120 s.
                worker.stop()
                r = api.post("/api/ops/canary", json={"payload": {"key": "waiting"}}, timeout=30)
                assert r.status_code == 202, r.text
                accepted.append(r.json()["data"]["job_id"])
                r = api.post(f"/api/copilot/sessions/{copilot_id}/events", timeout=30,
                             json={"type": "transcript", "content": "Walk me through it.", "timestamp": time.time()})
                assert r.status_code == 202, r.text
                private_redis.crash_and_restart()
                private_redis.pause()  # down for a while, empty when it comes back
                worker = start_worker(env, tmp_path, tag="s2")
            for i in range(3):
                r = api.post("/api/ops/canary", json={"payload": {"key": f"{outage}-{i}"}}, timeout=30)
                assert r.status_code in (202, 503), r.text
                if r.status_code == 202:
                    accepted.append(r.json()["data"]["job_id"])
            for text in ("Tell me about a hard bug you fixed?", "I traced a race in our billing queue."):
                r = api.post(f"/api/copilot/sessions/{copilot_id}/events",
                             json={"type": "transcript", "content": text, "timestamp": time.time()}, timeout=30)
                assert r.status_code in (202, 503), r.text
            assert accepted, "the API accepted jobs while the broker was down"
            time.sleep(6)  # the scheduler meets the outage (1 s socket timeouts, a round every 0.5 s)
            private_redis.resume()

            wait_for(lambda: {st for st, _ in _jobs(pg_url, accepted).values()} == {"succeeded"}, 30,
                     f"the jobs accepted during the {outage} to run")
            wait_for(lambda: _suggestions(api, copilot_id) >= round_, 30, f"a suggestion after the {outage}")
            assert {a for _, a in _jobs(pg_url, accepted).values()} == {1}, "each ran once"
            assert scheduler.alive(), scheduler.log_tail()
        wait_for(lambda: connection.zcard(scheduled) == 3, 10, "the table synced again into the empty Redis")
        assert scheduler.terminate() == 0, "it still stops cleanly on SIGTERM"
    finally:
        scheduler.stop()
        worker.stop()
        web.stop()


@pytest.mark.slow
def test_a_stalled_database_answers_503_and_readyz_answers_at_once(private_redis: PrivateRedis,
                                                                   tmp_path: Path) -> None:
    """Issue 13 item 5: every process of the PostgreSQL cluster frozen (SIGSTOP; the kernel still
    acknowledges TCP, so nothing looks closed) under gunicorn's gevent workers, as in production:
    pooled connections, pre-pings and new connections all give up within their deadlines, requests
    answer 503 with the envelope instead of hanging, `/readyz` answers within 2 s, and the same
    processes serve again once the database is back."""
    pg = PrivatePostgres.start()
    try:
        db_url = pg.create_database()
        env = platform_env(db_url, private_redis.url, tmp_path, VOICEMOCK_DB_STATEMENT_TIMEOUT="5")
        migrate(env)
        web, base = start_web(env, tmp_path, gunicorn=True)
        worker = start_worker(env, tmp_path, tag="st")
        try:
            api = ApiClient(base, admin_token(env))
            r = api.post("/api/ops/canary", json={"payload": {"key": "before"}})
            assert r.status_code == 202, r.text
            before = r.json()["data"]["job_id"]
            assert api.wait_job(before, timeout=30)["status"] == "succeeded"

            pg.stall()
            for _ in range(2):  # the pooled connections, then fresh ones
                r = api.get("/readyz", auth=False, timeout=2)  # a ReadTimeout here is the failure
                assert r.status_code == 503, r.text
                assert r.json()["details"]["database"].startswith("unavailable")
                assert r.json()["details"]["redis"] == "ok"
            for method, path, body in (("GET", f"/api/jobs/{before}", None), ("GET", "/api/jobs", None),
                                       ("POST", "/api/ops/canary", {})):
                r = api.request(method, path, json=body, timeout=20)
                assert r.status_code == 503, (path, r.status_code, r.text)
                envelope = r.json()
                assert envelope["data"] is None and envelope["stage"] == "database", envelope
            assert api.get("/healthz", auth=False, timeout=2).status_code == 200, "the event loop is free"
            pg.unstall()

            wait_for(lambda: api.get("/readyz", auth=False).status_code == 200, 20, "readiness after the stall")
            r = api.post("/api/ops/canary", json={"payload": {"key": "after"}})
            assert r.status_code == 202, r.text
            assert api.wait_job(r.json()["data"]["job_id"], timeout=60)["status"] == "succeeded"
            assert web.alive() and worker.alive(), "recovered by the same processes"
        finally:
            pg.unstall()
            worker.stop()
            web.stop()
    finally:
        pg.stop()
