"""RabbitMQ as the broker (`BROKER_URL=amqp://…`, the `voicemock[rabbitmq]` extra): a job goes through
HTTP, the broker and a `voicemock worker`, and a worker killed mid-job loses nothing. Against the
RabbitMQ server on this machine (127.0.0.1:5672; `.ci/run` starts it when it is down), in a virtual host
of its own per run so parallel runs never share queues. Fails when CI is set and RabbitMQ is down. The
killed-worker test is slow (`make test-slow`, also in CI)."""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.client import ApiClient
from tests.support.procs import admin_token, platform_env, start_web, start_worker, wait_for

RABBIT = ("127.0.0.1", 5672)


def _rabbit_up() -> bool:
    try:
        with socket.create_connection(RABBIT, timeout=2):
            return True
    except OSError:
        return False


def _ctl(*args: str) -> str:
    out = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def amqp_url() -> Iterator[str]:
    if not _rabbit_up() or not shutil.which("rabbitmqctl"):
        if os.environ.get("CI"):
            pytest.fail("RabbitMQ at 127.0.0.1:5672 is required when CI is set, and it does not answer", pytrace=False)
        pytest.skip("RabbitMQ is not available on this machine")
    pytest.importorskip("pika", reason="install the rabbitmq extra: pip install -e '.[rabbitmq]'")
    vhost = f"vmtest_{os.getpid()}_{secrets.token_hex(3)}"
    _ctl("add_vhost", vhost)
    _ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        _ctl("delete_vhost", vhost)


def _env(pg_url: str, redis_url: str, amqp: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return platform_env(pg_url, redis_url, tmp_path, BROKER_URL=amqp, **extra)


def test_a_job_goes_through_http_rabbitmq_and_a_worker(pg_url: str, redis_url: str, amqp_url: str,
                                                      tmp_path: Path) -> None:
    env = _env(pg_url, redis_url, amqp_url, tmp_path)
    web, base = start_web(env, tmp_path)
    worker = start_worker(env, tmp_path, threads=2)
    try:
        api = ApiClient(base, admin_token(env))
        r = api.post("/api/ops/canary", json={"sleep_seconds": 0, "steps": 2, "payload": {"via": "rabbitmq"}})
        assert r.status_code == 202, r.text
        job = api.wait_job(r.json()["data"]["job_id"], timeout=30)
        assert job["status"] == "succeeded", (job, worker.log_tail())
        assert job["result"]["payload"] == {"via": "rabbitmq"}
        queues = _ctl("list_queues", "-p", amqp_url.rsplit("/", 1)[1], "name", "--quiet")
        assert {"default", "llm", "stt", "maintenance"} <= set(queues.split()), queues
        metrics = api.get("/metrics")
        assert metrics.status_code == 200 and 'voicemock_queue_depth{queue="default"} 0.0' in metrics.text, \
            "the queue depth an autoscaler reads comes from RabbitMQ too"
    finally:
        worker.stop()
        web.stop()


@pytest.mark.slow
def test_a_worker_killed_mid_job_loses_nothing(pg_url: str, redis_url: str, amqp_url: str, tmp_path: Path) -> None:
    # RabbitMQ hands an unacked message to another consumer as soon as the dead worker's connection
    # drops; the job's lease (2 s here) decides when the new worker may take it over.
    env = _env(pg_url, redis_url, amqp_url, tmp_path, VOICEMOCK_JOB_LEASE_SECONDS="2")
    web, base = start_web(env, tmp_path)
    first = start_worker(env, tmp_path, threads=2, tag="r1")
    second = None
    try:
        api = ApiClient(base, admin_token(env))
        r = api.post("/api/ops/canary", json={"sleep_seconds": 3, "steps": 6})
        assert r.status_code == 202, r.text
        links = r.json()["data"]

        def mid_run() -> bool:
            job = api.get(f"/api/jobs/{links['job_id']}").json()["data"]
            return job["status"] == "running" and job["progress"] > 0

        wait_for(mid_run, 30, "the canary to start on the first worker")
        first.kill9()
        second = start_worker(env, tmp_path, threads=2, tag="r2")
        job = api.wait_job(links["job_id"], timeout=40)
        assert job["status"] == "succeeded" and job["attempts"] == 2, (job, second.log_tail())
        types = [e.type for e in api.sse(links["stream_url"], auth=False, timeout=10)]
        assert types.count("started") == 2 and types.count("succeeded") == 1 and types[-1] == "succeeded"
    finally:
        for p in (first, second, web):
            if p is not None:
                p.stop()
