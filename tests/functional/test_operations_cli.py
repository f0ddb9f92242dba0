"""`voicemock jobs failed|retry`, `voicemock config` and `voicemock scheduler --list`, run as an operator
would: as commands, against the platform's database and broker."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.client import ApiClient, data


def _voicemock(test_env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **test_env}
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=60, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def test_failed_jobs_are_listed_and_retried(test_env, make_client) -> None:  # noqa: ANN001
    c: ApiClient = make_client(admin=True)
    job_id = data(c.post("/api/ops/canary", json={"bad_input": True}))["job_id"]
    assert c.wait_job(job_id)["status"] == "failed"
    listed = _voicemock(test_env, "jobs", "failed", "--kind", "ops.canary", "--limit", "500")
    assert listed.returncode == 0, listed.stderr
    assert job_id in listed.stdout
    retried = _voicemock(test_env, "jobs", "retry", job_id)
    assert retried.returncode == 0, retried.stderr
    assert f"re-queued {job_id}" in retried.stdout
    again = c.wait_job(job_id)
    assert again["status"] == "failed" and again["attempts"] >= 2, "the retried job ran again on the worker"
    running = data(c.post("/api/ops/canary", json={"sleep_seconds": 0}))["job_id"]
    c.wait_job(running)
    refused = _voicemock(test_env, "jobs", "retry", running)
    assert refused.returncode != 0 and "only failed or cancelled" in refused.stderr


def test_config_prints_the_effective_settings_with_secrets_masked(test_env) -> None:  # noqa: ANN001
    out = _voicemock(test_env, "config")
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown["mode"] == "production" and shown["rate_limit_default"] == "100/minute"
    assert test_env["VOICEMOCK_SECRET_KEY"] not in out.stdout
    assert test_env["VOICEMOCK_CRON_SECRET"] not in out.stdout
    assert shown["secret_key"].endswith("***")


def test_scheduler_lists_its_table(test_env) -> None:  # noqa: ANN001
    out = _voicemock(test_env, "scheduler", "--list")
    assert out.returncode == 0, out.stderr
    for name in ("sweeper", "retention", "purge"):
        assert name in out.stdout
