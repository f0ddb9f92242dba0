"""The operator API: queue depths, every user's jobs, and retrying dead letters (shared with the CLI)."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.support.client import ApiClient, data


def _failed_canary(admin: ApiClient) -> str:
    r = admin.post("/api/ops/canary", json={"bad_input": True})
    assert r.status_code == 202, r.text
    job = admin.wait_job(data(r)["job_id"])
    assert job["status"] == "failed" and job["attempts"] == 1
    return job["id"]


def test_operator_endpoints_answer_administrators_only(client: ApiClient, anon: ApiClient) -> None:
    for method, path in (("GET", "/api/ops/queues"), ("GET", "/api/ops/jobs"), ("POST", "/api/ops/jobs/job_x/retry")):
        r = client.request(method, path)
        assert r.status_code == 403 and r.json()["stage"] == "auth", (path, r.text)
        assert anon.request(method, path).status_code == 401


def test_queue_depths_are_read_from_the_broker_and_the_job_table(admin_client: ApiClient) -> None:
    body = data(admin_client.get("/api/ops/queues"))
    assert body["broker"] == "redis"
    assert [q["name"] for q in body["queues"]] == ["stt", "llm", "default", "maintenance"]
    for q in body["queues"]:
        for key in ("ready", "delayed", "dead", "jobs_queued", "jobs_running"):
            assert isinstance(q[key], int) and q[key] >= 0, (q, key)


def test_failed_jobs_of_every_user_are_listed_and_retried(admin_client: ApiClient, make_client) -> None:  # noqa: ANN001
    job_id = _failed_canary(admin_client)
    other_admin = make_client("ops-other@example.com", admin=True)
    failed = data(other_admin.get("/api/ops/jobs?status=failed&kind=ops.canary"))["jobs"]
    row = next(j for j in failed if j["id"] == job_id)
    assert row["user_email"] == data(admin_client.get("/auth/me"))["email"]
    assert row["error"]["stage"] == "canary"

    r = other_admin.post(f"/api/ops/jobs/{job_id}/retry")
    assert r.status_code == 202, r.text
    assert data(r)["status"] == "queued" and data(r)["sent"] is True
    # The canary was told to fail as bad input, so the second run fails again, at once: attempts 2.
    job = admin_client.wait_job(job_id)
    assert job["status"] == "failed" and job["attempts"] == 2
    events = admin_client.sse(f"/api/jobs/{job_id}/events", max_events=20, timeout=5)
    assert [e.type for e in events].count("queued") >= 1


def test_retrying_a_job_that_did_not_fail_is_a_conflict_and_unknown_ids_are_404(admin_client: ApiClient) -> None:
    r = admin_client.post("/api/ops/canary", json={})
    job = admin_client.wait_job(data(r)["job_id"])
    assert job["status"] == "succeeded"
    r = admin_client.post(f"/api/ops/jobs/{job['id']}/retry")
    assert r.status_code == 409 and r.json()["stage"] == "retry"
    assert admin_client.get(f"/api/jobs/{job['id']}").json()["data"]["status"] == "succeeded"
    r = admin_client.post("/api/ops/jobs/job_doesnotexist/retry")
    assert r.status_code == 404 and r.json()["stage"] == "retry"


def test_a_burst_of_canaries_goes_in_at_once_and_every_one_runs_once(admin_client: ApiClient,
                                                                      client: ApiClient) -> None:
    r = admin_client.post("/api/ops/canaries", json={"count": 25, "payload": {"burst": True}})
    assert r.status_code == 202, r.text
    body = data(r)
    assert body["count"] == 25 and len({j["job_id"] for j in body["jobs"]}) == 25
    for links in body["jobs"]:
        job = admin_client.wait_job(links["job_id"])
        assert job["status"] == "succeeded" and job["attempts"] == 1, job
        assert job["result"]["payload"] == {"burst": True}
    events = admin_client.sse(body["jobs"][-1]["stream_url"], auth=False, max_events=10, timeout=10)
    assert [e.type for e in events] == ["queued", "started", "progress", "succeeded"]
    assert [e.id for e in events] == [1, 2, 3, 4]
    for bad in ({}, {"count": 0}, {"count": 501}, {"count": 2, "steps": 0}):
        r = admin_client.post("/api/ops/canaries", json=bad)
        assert r.status_code == 400 and r.json()["stage"] == "validation", (bad, r.text)
    assert client.post("/api/ops/canaries", json={"count": 1}).status_code == 403


def test_a_canarys_progress_reports_reach_the_stream_in_order_the_last_with_its_finish(admin_client: ApiClient) -> None:
    """The last report of a job that returns right after it is stored with the terminal event (one
    statement, workers/execution.py): live subscribers and a replay see every report, numbered in order."""
    r = admin_client.post("/api/ops/canary", json={"sleep_seconds": 1.5, "steps": 3, "payload": {"n": 3}})
    assert r.status_code == 202, r.text
    links = data(r)
    live = admin_client.sse(links["stream_url"], auth=False, max_events=10, timeout=20)  # joins while it sleeps
    replay = admin_client.sse(links["stream_url"], auth=False, max_events=10, timeout=10)
    for events in (live, replay):
        assert [e.type for e in events] == ["queued", "started", "progress", "progress", "progress", "succeeded"]
        assert [e.id for e in events] == [1, 2, 3, 4, 5, 6]
        assert [e.data["data"]["pct"] for e in events if e.type == "progress"] == [0.3333, 0.6667, 1.0]
        assert events[-1].data["data"]["result"]["payload"] == {"n": 3}
    job = admin_client.wait_job(links["job_id"])
    assert job["status"] == "succeeded" and job["progress"] == 1.0 and job["stage"] == "done", job


def test_bad_job_list_queries_are_rejected(admin_client: ApiClient) -> None:
    for q in ("status=exploded", "limit=0", "limit=1000", "colour=red"):
        r = admin_client.get(f"/api/ops/jobs?{q}")
        assert r.status_code == 400 and r.json()["stage"] == "validation", (q, r.text)


def test_the_cli_retries_through_the_same_function(admin_client: ApiClient, test_env: dict[str, str]) -> None:
    job_id = _failed_canary(admin_client)
    env = {**os.environ, **test_env}
    cli = [os.path.join(os.path.dirname(sys.executable), "voicemock")]
    out = subprocess.run([*cli, "jobs", "retry", job_id], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"re-queued {job_id}" in out.stdout
    assert admin_client.wait_job(job_id)["attempts"] == 2
    out = subprocess.run([*cli, "jobs", "retry", "job_doesnotexist"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0 and "no job job_doesnotexist" in out.stderr
