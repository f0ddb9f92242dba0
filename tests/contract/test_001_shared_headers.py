"""Document 001, "Shared API Headers & Conventions": every example and rule, sent as printed."""
from __future__ import annotations

import uuid

import pytest
import requests
from sqlalchemy import JSON, String, Text, cast, or_, select

from tests.contract.seed import ANSWER, CREATE_INTERVIEW, answered_interview, envelope, sha256_hex
from tests.functional.servers import web_process
from tests.support.client import ApiClient, data
from tests.support.fake_openai import FakeOpenAI
from tests.support.llm_engines import fake_openai, use_engine  # noqa: F401 - fixture

# "## Tracked Skill" / "Client → Server example", the headers exactly as printed.
CURL_HEADERS = {"X-Request-Id": "req_123", "X-Tracked-Skill-Id": "skill_public_speaking"}


def test_auth_bearer_jwt_is_required(anon: ApiClient, client: ApiClient) -> None:
    """"## Auth": `Authorization: Bearer <JWT>`; without it, 401."""
    assert anon.get("/api/interviews").status_code == 401
    assert client.get("/api/interviews").status_code == 200


def test_request_id_req_123_is_kept_and_propagated_to_the_body_and_the_job(client: ApiClient) -> None:
    """"## Request ID": `X-Request-Id` is stable per client request and propagated (response header,
    body, the job it starts)."""
    iid = answered_interview(client)
    r = client.post(f"/api/interviews/{iid}/questions", json={"count": 1}, headers={"X-Request-Id": "req_123"})
    assert r.status_code == 202 and r.headers["X-Request-ID"] == "req_123" == envelope(r)["request_id"]
    assert client.wait_job(data(r)["job_id"])["request_id"] == "req_123"
    for unusable in ("has space", "x" * 129):
        r = client.get("/api/interviews", headers={"X-Request-Id": unusable})
        assert r.headers["X-Request-ID"] != unusable and len(r.headers["X-Request-ID"]) == 36


def test_idempotency_key_is_echoed_on_session_summary(client: ApiClient) -> None:
    """"## Idempotency": `Idempotency-Key` on `GET /api/v1/session-summary` is echoed in the response."""
    sid = data(client.post("/session/start", json={"job_type": "Backend Engineer"}))["session_id"]
    client.wait_job(data(client.post(f"/session/{sid}/end"))["job_id"])
    key = f"summary-{uuid.uuid4().hex}"
    r = client.get(f"/api/v1/session-summary?session_id={sid}", headers={"Idempotency-Key": key})
    assert r.status_code == 200 and r.headers["Idempotency-Key"] == key and envelope(r)["data"]["session_id"] == sid
    r = client.get("/api/v1/session-summary", headers={"Idempotency-Key": key})  # no session_id: 400
    assert r.status_code == 400 and r.headers["Idempotency-Key"] == key and envelope(r)["stage"] == "validation"
    r = requests.get(client.base_url + f"/api/v1/session-summary?session_id={sid}",
                     headers={"Idempotency-Key": key}, timeout=30)  # no token: 401
    assert r.status_code == 401 and r.headers["Idempotency-Key"] == key and r.json()["stage"] == "auth"
    assert "Idempotency-Key" not in client.get("/api/interviews", headers={"Idempotency-Key": key}).headers


def test_idempotency_key_replay_answers_the_first_request_id(client: ApiClient) -> None:
    """"## Idempotency" with "## Request ID": a replayed answer's X-Request-ID is its body's request_id."""
    headers = {"Idempotency-Key": f"create-{uuid.uuid4().hex}"}
    first = client.post("/api/interviews", json=CREATE_INTERVIEW, headers={**headers, "X-Request-Id": "req_first"})
    again = client.post("/api/interviews", json=CREATE_INTERVIEW, headers={**headers, "X-Request-Id": "req_again"})
    assert first.status_code == again.status_code == 201
    assert again.headers["X-Request-ID"] == again.json()["request_id"] == "req_first"


def test_tracked_skill_curl_example_runs_on_the_callers_latest_session(client: ApiClient) -> None:
    """"## Tracked Skill" / "Client → Server example": `curl -s -H 'X-Request-Id: req_123' -H
    'X-Tracked-Skill-Id: skill_public_speaking' …/api/assessments/run` (a GET, no body) with the caller's
    token: the assessment runs on the latest session; only the SHA-256 of the id comes back."""
    r = requests.get(client.base_url + "/api/assessments/run", headers=client.headers(CURL_HEADERS), timeout=30)
    assert r.status_code == 404 and "no practice session" in r.json()["error"]  # nothing to assess yet
    iid = answered_interview(client)
    r = requests.get(client.base_url + "/api/assessments/run", headers=client.headers(CURL_HEADERS), timeout=30)
    assert r.status_code == 202, r.text
    out = envelope(r)["data"]
    digest = sha256_hex("skill_public_speaking")
    assert r.headers["X-Request-ID"] == "req_123" and r.headers["X-Tracked-Skill-Id-Hash"] == digest
    assert out["session_id"] == iid and out["skill"] == "communication" and out["tracked_skill_id_hash"] == digest
    job = client.wait_job(out["job_id"])
    assert job["status"] == "succeeded" and job["request_id"] == "req_123"
    assert job["result"]["tracked_skill_id_hash"] == digest and 0 <= job["result"]["score"] <= 100


def _provider_paths(client: ApiClient) -> list[str]:
    """Start every kind of work that calls the provider, each with the document's headers; job ids."""
    h = CURL_HEADERS
    assert client.post("/api/llm", json={"messages": [{"role": "user", "content": "Hello"}], "model": "gpt-4"},
                       headers=h).status_code == 200
    iid = answered_interview(client)
    jobs = [data(client.post(f"/api/interviews/{iid}/score", headers=h))["job_id"],
            data(client.post(f"/api/interviews/{iid}/questions", json={"count": 1, "type": "behavioral"},
                             headers=h))["job_id"],
            data(client.post("/api/assessments/run", headers=h))["job_id"],
            data(client.post(f"/session/{iid}/end", headers=h))["job_id"]]
    resume = data(client.post("/api/resume", json={"name": "CV", "content": "Jane Doe. Python engineer."}))
    jobs.append(data(client.post("/api/resume/generate", headers=h, json={
        "job_description": "Looking for a React developer...", "resume_id": resume["id"],
        "type": "bullet_rewrite"}))["job_id"])
    cop = data(client.post("/api/copilot/sessions/start", json={"mode": "interview", "role": "Software Engineer",
                                                                "company": "Google"}))["session_id"]
    chunk = data(client.post(f"/api/copilot/sessions/{cop}/events", headers=h, json={
        "type": "transcript", "content": "I would approach this by...", "timestamp": 1234567890}))
    jobs.append(chunk["suggestion_job_id"])
    for job_id in jobs:
        client.wait_job(job_id)
    jobs.append(data(client.post(f"/api/copilot/sessions/{cop}/summarize", headers=h))["job_id"])
    client.wait_job(jobs[-1])
    return jobs


def test_provider_calls_carry_the_request_id_and_both_tracked_skill_headers_on_every_path(
        platform, client: ApiClient, fake_openai: FakeOpenAI) -> None:  # noqa: ANN001
    """"### Provider Skill-Tracing (server-propagated)": upstream provider requests carry `X-Request-Id:
    req_123`, `X-Tracked-Skill-Id: skill_public_speaking` and `X-Tracked-Skill-Id-Hash` (its SHA-256), from
    the proxy and from every job that calls the provider; logs and rows hold only the hash."""
    from core.db import Base

    with use_engine(platform, fake_openai, "openai", client):
        jobs = _provider_paths(client)
        received = fake_openai.chat_requests()
    statuses = {client.wait_job(j)["kind"]: client.wait_job(j)["status"] for j in jobs}
    assert set(statuses.values()) == {"succeeded"}, statuses
    assert len(received) >= 7
    digest = sha256_hex("skill_public_speaking")
    for req in received:
        assert req.header("X-Request-Id") == "req_123", req.headers
        assert req.header("X-Tracked-Skill-Id") == "skill_public_speaking", req.headers
        assert req.header("X-Tracked-Skill-Id-Hash") == digest, req.headers
    with platform.runtime.db.Session() as s:
        for table in Base.metadata.sorted_tables:
            cols = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
            if cols:
                hits = s.execute(select(table).where(or_(*[cast(c, Text).like("%skill_public_speaking%")
                                                           for c in cols]))).all()
                assert not hits, f"the raw tracked skill id is stored in {table.name}"


def test_rate_limits_429_with_retry_after_and_the_ratelimit_headers_on_session_summary(
        platform, client: ApiClient) -> None:  # noqa: ANN001
    """"## Rate Limits": `X-RateLimit-Limit`, `-Remaining`, `-Reset` on `GET /api/v1/session-summary`;
    429 with `Retry-After` when the limit is exceeded."""
    sid = data(client.post("/session/start", json={"job_type": "Backend Engineer"}))["session_id"]
    with web_process(platform, rate_limits_enabled=True, rate_limit_default="2/minute") as url:
        answers = [requests.get(f"{url}/api/v1/session-summary?session_id={sid}", headers=client.headers(),
                                timeout=10) for _ in range(3)]
    assert answers[0].headers["X-RateLimit-Limit"] == "2" and answers[0].headers["X-RateLimit-Remaining"] == "1"
    assert int(answers[0].headers["X-RateLimit-Reset"]) >= 0
    assert answers[2].status_code == 429 and int(answers[2].headers["Retry-After"]) >= 1


@pytest.mark.parametrize("media", ["application/json", "text/event-stream"])
def test_content_types_json_for_rest_and_event_stream_for_sse(client: ApiClient, media: str) -> None:
    """"## Content Types": application/json for REST, text/event-stream for SSE streaming endpoints."""
    iid = data(client.post("/api/interviews", json=CREATE_INTERVIEW))["id"]
    assert client.post(f"/api/interviews/{iid}/messages", json=ANSWER).status_code == 201
    r = client.post(f"/api/interviews/{iid}/questions", json={"count": 1})
    if media == "application/json":
        assert r.headers["Content-Type"] == media
    else:
        events = client.sse(data(r)["stream_url"], auth=False)
        assert events[-1].type == "succeeded"
