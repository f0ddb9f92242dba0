"""The jobs API and the retry policy, through HTTP, the Redis broker and a worker (canary jobs)."""
from __future__ import annotations

import time

from tests.support.client import ApiClient, data


def test_a_transient_failure_is_retried_with_backoff_and_then_succeeds(admin_client: ApiClient) -> None:
    job = data(admin_client.post("/api/ops/canary", json={"fail_attempts": 2}))
    done = admin_client.wait_job(job["job_id"])
    assert done["status"] == "succeeded" and done["attempts"] == 3
    events = admin_client.sse(f"/api/jobs/{job['job_id']}/events")
    retrying = [e for e in events if e.type == "progress" and e.data["data"]["stage"] == "retrying"]
    assert len(retrying) == 2 and [e.type for e in events].count("started") == 3
    assert [e.type for e in events].count("succeeded") == 1


def test_bad_input_fails_at_once_with_its_stage(admin_client: ApiClient) -> None:
    job = data(admin_client.post("/api/ops/canary", json={"bad_input": True}))
    done = admin_client.wait_job(job["job_id"])
    assert done["status"] == "failed" and done["attempts"] == 1
    assert done["error"]["stage"] == "canary" and "bad input" in done["error"]["message"]
    events = admin_client.sse(f"/api/jobs/{job['job_id']}/events")
    assert events[-1].type == "failed" and events[-1].data["data"]["stage"] == "canary"


def test_a_running_job_can_be_cancelled(admin_client: ApiClient) -> None:
    job = data(admin_client.post("/api/ops/canary", json={"sleep_seconds": 3, "steps": 30}))
    deadline = time.monotonic() + 10
    while data(admin_client.get(f"/api/jobs/{job['job_id']}"))["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    r = admin_client.delete(f"/api/jobs/{job['job_id']}")
    assert r.status_code == 202
    done = admin_client.wait_job(job["job_id"])
    assert done["status"] == "cancelled"
    assert admin_client.delete(f"/api/jobs/{job['job_id']}").status_code == 409
    assert admin_client.sse(f"/api/jobs/{job['job_id']}/events")[-1].type == "cancelled"


def test_polling_says_retry_after_until_the_job_finishes(admin_client: ApiClient) -> None:
    job = data(admin_client.post("/api/ops/canary", json={"sleep_seconds": 0.5, "steps": 2}))
    r = admin_client.get(f"/api/jobs/{job['job_id']}")
    assert r.status_code == 200 and r.headers.get("Retry-After") == "1"
    admin_client.wait_job(job["job_id"])
    assert "Retry-After" not in admin_client.get(f"/api/jobs/{job['job_id']}").headers


def test_jobs_are_listed_newest_first_with_filters_and_cursor_pagination(admin_client: ApiClient) -> None:
    ids = [data(admin_client.post("/api/ops/canary", json={"payload": i}))["job_id"] for i in range(5)]
    for i in ids:
        admin_client.wait_job(i)
    page1 = data(admin_client.get("/api/jobs?limit=2&kind=ops.canary"))
    page2 = data(admin_client.get(f"/api/jobs?limit=2&kind=ops.canary&cursor={page1['next_cursor']}"))
    page3 = data(admin_client.get(f"/api/jobs?limit=2&kind=ops.canary&cursor={page2['next_cursor']}"))
    listed = [j["id"] for j in page1["jobs"] + page2["jobs"] + page3["jobs"]]
    assert listed == list(reversed(ids)) and page3["next_cursor"] is None
    assert data(admin_client.get("/api/jobs?status=failed"))["jobs"] == []
    assert admin_client.get("/api/jobs?status=bogus").status_code == 400
    assert admin_client.get("/api/jobs?limit=1000").status_code == 400
    assert admin_client.get("/api/jobs?cursor=%%%").status_code == 400


def test_non_admins_cannot_send_canaries(client: ApiClient) -> None:
    r = client.post("/api/ops/canary", json={})
    assert r.status_code == 403 and r.json()["stage"] == "auth"


def test_envelope_request_id_cors_and_method_errors(client: ApiClient, anon: ApiClient) -> None:
    r = client.get("/api/jobs", headers={"X-Request-Id": "client-chosen-id-123"})
    assert r.headers["X-Request-ID"] == "client-chosen-id-123" and r.json()["request_id"] == "client-chosen-id-123"
    r = client.get("/api/jobs", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["X-Request-ID"] != "bad id with spaces" and len(r.headers["X-Request-ID"]) == 36
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    pre = anon.request("OPTIONS", "/session/start", headers={"Origin": "http://x.example",
                                                              "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204
    assert "X-Session-Token" in pre.headers["Access-Control-Allow-Headers"]
    assert "PUT" in pre.headers["Access-Control-Allow-Methods"]
    r = client.request("PATCH", "/session/start")
    assert r.status_code == 405 and "POST" in r.headers["Allow"] and r.json()["stage"] == "routing"
    r = client.get("/no/such/route")
    assert r.status_code == 404 and r.json()["error"]
