"""Embedded mode: `voicemock dev` alone (SQLite, in-process broker, worker, bus, scheduler) serves the
whole platform, and `voicemock demo` walks a practice turn against it like a client."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests.support.speech import heard_most

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def embedded_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "REDIS_URL", "BROKER_URL", "VOICEMOCK_", "OPENAI_"))}
    env["VOICEMOCK_DATA_DIR"] = str(data_dir)
    return env


@pytest.fixture(scope="module")
def embedded_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedded")


@pytest.fixture(scope="module")
def embedded_server(embedded_data_dir: Path) -> Iterator[str]:
    data_dir = embedded_data_dir
    port = _free_port()
    log = open(data_dir / "server.log", "w")
    proc = subprocess.Popen([str(BIN / "voicemock"), "dev", "--port", str(port)], env=embedded_env(data_dir),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                break
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("voicemock dev did not start:\n" + (data_dir / "server.log").read_text())
        time.sleep(0.2)
    yield base
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_voicemock_demo_runs_a_turn_against_the_embedded_server(embedded_server: str, tmp_path: Path) -> None:
    out = subprocess.run([str(BIN / "voicemock"), "demo", "--url", embedded_server], capture_output=True,
                         text=True, timeout=120, env=embedded_env(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "succeeded" in out.stdout and "partial" in out.stdout
    transcript = next(line for line in out.stdout.splitlines() if line.startswith("transcript:"))
    assert heard_most(transcript), transcript  # most of the answer's distinctive words, not one
    assert "session has 1 answered turn(s)" in out.stdout


def test_embedded_server_is_ready_with_sqlite_and_runs_jobs(embedded_server: str) -> None:
    r = requests.get(embedded_server + "/readyz", timeout=5)
    assert r.status_code == 200 and r.json()["data"]["mode"] == "embedded"
    token = requests.post(embedded_server + "/auth/guest", timeout=5).json()["data"]["token"]
    r = requests.post(embedded_server + "/session/start", json={"job_type": "data_scientist"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert r.status_code == 201, r.text
    assert r.json()["data"]["first_question"]["text"]


def test_embedded_jobs_that_write_then_report_progress_do_not_lock_sqlite(embedded_server: str,
                                                                           fixtures_dir: Path) -> None:
    """An export builds the report (a write) and then reports progress: on SQLite's single writer the
    progress events wait for the job's commit instead of deadlocking it."""
    token = requests.post(embedded_server + "/auth/guest", timeout=5).json()["data"]["token"]
    auth = {"Authorization": f"Bearer {token}"}
    started = requests.post(embedded_server + "/session/start", json={"job_type": "general"}, headers=auth,
                            timeout=5).json()["data"]
    with open(fixtures_dir / "answer_short.wav", "rb") as f:
        turn = requests.post(embedded_server + "/turn", headers={"X-Session-Token": started["token"]},
                             files={"audio": ("a.wav", f, "audio/wav")}, timeout=30).json()["data"]
    ended = requests.post(f"{embedded_server}/session/{started['session_id']}/end", headers=auth, timeout=10)
    assert ended.status_code == 202
    export = requests.post(f"{embedded_server}/api/interviews/{started['session_id']}/export?format=pdf",
                           headers=auth, timeout=10)
    assert export.status_code == 202, export.text
    job_ids = [turn["job_id"], ended.json()["data"]["job_id"], export.json()["data"]["job_id"]]
    deadline = time.monotonic() + 60
    for job_id in job_ids:
        while True:
            job = requests.get(f"{embedded_server}/api/jobs/{job_id}", headers=auth, timeout=10).json()["data"]
            if job["status"] in ("succeeded", "failed", "cancelled"):
                break
            assert time.monotonic() < deadline, f"{job['kind']} stuck in {job['status']} at {job['stage']}"
            time.sleep(0.2)
        assert job["status"] == "succeeded", job
    pdf = requests.get(f"{embedded_server}/api/jobs/{job_ids[-1]}/artifact", headers=auth, timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")


def test_a_burst_of_canaries_runs_on_sqlite(embedded_server: str, embedded_data_dir: Path) -> None:
    """The burst route's multi-row inserts and its plain (non-Redis) sends work in embedded mode too."""
    env = embedded_env(embedded_data_dir)  # the same installation: the same signing secret
    token = subprocess.run([str(BIN / "voicemock"), "token", "create", "--user", "ops@example.com", "--admin"],
                           capture_output=True, text=True, timeout=60, env=env, check=True).stdout.strip()
    auth = {"Authorization": f"Bearer {token}"}
    r = requests.post(embedded_server + "/api/ops/canaries", json={"count": 5}, headers=auth, timeout=10)
    assert r.status_code == 202, r.text
    ids = [j["job_id"] for j in r.json()["data"]["jobs"]]
    deadline = time.monotonic() + 30
    for job_id in ids:
        while (job := requests.get(f"{embedded_server}/api/jobs/{job_id}", headers=auth,
                                   timeout=10).json()["data"])["status"] != "succeeded":
            assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
            time.sleep(0.1)


def _start_dev(data_dir: Path, **extra: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**embedded_env(data_dir), **extra}
    log = open(data_dir / "server.log", "w")  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen([str(BIN / "voicemock"), "dev", "--port", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                return proc, base
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("voicemock dev did not start:\n" + (data_dir / "server.log").read_text())
        time.sleep(0.2)


def test_a_long_job_runs_once_on_sqlite_while_the_sweeper_runs_every_second(tmp_path: Path) -> None:
    """Issue 13 item 1: a 2 s lease, a 6 s canary that reports nothing until it ends, and the
    sweeper (which re-sends running jobs whose lease ran out) due every second. The lease is kept
    alive in embedded mode too, so the job is claimed once and runs once. Item 7: the process runs
    under the default memory cap."""
    proc, base = _start_dev(tmp_path, VOICEMOCK_JOB_LEASE_SECONDS="2", VOICEMOCK_SWEEPER_STALE_SECONDS="1",
                            VOICEMOCK_SCHEDULE_CRONS="sweeper=* * * * * * *")
    try:
        token = subprocess.run([str(BIN / "voicemock"), "token", "create", "--user", "ops@example.com", "--admin"],
                               capture_output=True, text=True, timeout=60, env=embedded_env(tmp_path),
                               check=True).stdout.strip()
        auth = {"Authorization": f"Bearer {token}"}
        r = requests.post(base + "/api/ops/canary", json={"sleep_seconds": 6, "steps": 1}, headers=auth, timeout=10)
        assert r.status_code == 202, r.text
        job_id = r.json()["data"]["job_id"]
        deadline = time.monotonic() + 40
        while (job := requests.get(f"{base}/api/jobs/{job_id}", headers=auth, timeout=10).json()["data"])[
                "status"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["status"] == "succeeded" and job["attempts"] == 1, job
        assert job["result"]["attempt"] == 1
        stream = requests.get(f"{base}/api/jobs/{job_id}/events", headers=auth, timeout=15, stream=True)
        types = [line.split(":", 1)[1].strip() for line in stream.iter_lines(decode_unicode=True)
                 if line.startswith("event:")]
        assert types == ["queued", "started", "progress", "succeeded"], types
        server_log = (tmp_path / "server.log").read_text()
        assert "sweeper re-sent" not in server_log, server_log[-2000:]
        # Jobs run inside this process: it carries the workers' default memory cap (4096 MB).
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
        assert f"Max address space         {4096 * 1024 * 1024}" in limits, limits
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
