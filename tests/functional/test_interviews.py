"""Text interviews through HTTP → broker → worker, with both LLM engines (switched by configuration)."""
from __future__ import annotations

import json
from typing import Iterator

import pytest

from tests.support.client import ApiClient, data
from tests.support.fake_openai import FakeOpenAI
from tests.support.llm_engines import fake_openai, use_engine  # noqa: F401 - fixture

ANSWERS = [
    "In my last role our checkout API was slow, so I measured the p99 latency, found the database queries "
    "were the root cause, added a Redis cache and indexes, and as a result latency fell by 60 percent.",
    "I disagreed with my manager about a launch date. I shared data on the risk, we agreed on a phased "
    "rollout, and in the end we shipped on time with no incidents.",
]


@pytest.fixture(params=["local", "openai"])
def engine(request, platform, fake_openai: FakeOpenAI, client: ApiClient) -> Iterator[str]:  # noqa: ANN001
    with use_engine(platform, fake_openai, request.param, client):
        yield request.param


def _interview(client: ApiClient, **body) -> dict:  # noqa: ANN003
    r = client.post("/api/interviews", json={"job_type": "software_engineer", "focus_area": "behavioral", **body})
    assert r.status_code == 201, r.text
    return data(r)


def _job(client: ApiClient, resp) -> dict:  # noqa: ANN001
    assert resp.status_code == 202, resp.text
    job = client.wait_job(data(resp)["job_id"])
    assert job["status"] == "succeeded", job
    return job


def _answered(client: ApiClient, engine: str) -> dict:
    """An interview with generated questions and two answers, on the caller's engine."""
    created = _interview(client)
    _job(client, client.post(f"/api/interviews/{created['id']}/questions", json={"count": 2}))
    for answer in ANSWERS:
        r = client.post(f"/api/interviews/{created['id']}/messages", json={"content": answer})
        assert r.status_code == 201, r.text
    return data(client.get(f"/api/interviews/{created['id']}"))


def test_an_interview_is_created_listed_read_and_deleted(client: ApiClient, make_client) -> None:  # noqa: ANN001
    created = _interview(client, title="Backend loop")
    assert created["id"].startswith("int_") and created["mode"] == "text" and created["messages"] == []
    listing = data(client.get("/api/interviews?per_page=50"))
    assert created["id"] in [i["id"] for i in listing["interviews"]] and listing["total"] >= 1
    other = make_client()
    assert other.get(f"/api/interviews/{created['id']}").status_code == 404
    assert other.delete(f"/api/interviews/{created['id']}").status_code == 404
    assert created["id"] not in [i["id"] for i in data(other.get("/api/interviews"))["interviews"]]
    assert client.delete(f"/api/interviews/{created['id']}").status_code == 200
    assert client.get(f"/api/interviews/{created['id']}").status_code == 404


def test_listing_is_paginated(client: ApiClient) -> None:
    ids = [_interview(client)["id"] for _ in range(3)]
    first = data(client.get("/api/interviews?per_page=2&page=1"))
    second = data(client.get("/api/interviews?per_page=2&page=2"))
    assert first["total"] == 3 and first["next_page"] == 2 and second["next_page"] is None
    assert {i["id"] for i in first["interviews"] + second["interviews"]} == set(ids)


def test_bad_input_is_a_clear_400(client: ApiClient) -> None:
    r = client.post("/api/interviews", json={"focus_area": "juggling " * 20})  # free text, but not that long
    assert r.status_code == 400 and r.json()["details"][0]["path"] == "focus_area"
    r = client.post("/api/interviews", json={"difficulty": "brutal", "admin": True})
    assert r.status_code == 400 and {d["path"] for d in r.json()["details"]} == {"difficulty", "admin"}
    iid = _interview(client)["id"]
    assert client.post(f"/api/interviews/{iid}/messages", json={"content": ""}).status_code == 400
    assert client.post(f"/api/interviews/{iid}/questions", json={"count": 99}).status_code == 400
    assert client.post(f"/api/interviews/{iid}/score", json={"scores": {"content": 140}}).status_code == 400
    assert client.post(f"/api/interviews/{iid}/export?format=docx").status_code == 400
    r = client.post(f"/api/interviews/{iid}/messages", json={"content": "x", "question_id": "q_nope"})
    assert r.status_code == 404


def test_questions_are_generated_by_a_job_with_either_engine(client: ApiClient, engine: str,
                                                             fake_openai: FakeOpenAI) -> None:
    iid = _interview(client)["id"]
    if engine == "openai":  # what a model would answer to the structured prompt
        fake_openai.replies.append(json.dumps({"questions": [
            {"text": f"Model question {i}: how would you shard a hot table?", "type": "technical",
             "difficulty": "hard", "key_points": ["partition key", "rebalancing"]} for i in range(3)]}))
    resp = client.post(f"/api/interviews/{iid}/questions", json={"count": 3, "type": "technical"},
                       headers={"X-Request-Id": "req-questions-1"})
    job = _job(client, resp)
    assert job["queue"] == "llm" and job["result"]["provider"] == engine
    assert len(job["result"]["questions"]) == 3
    events = client.sse(data(resp)["stream_url"], auth=False)
    assert [e.type for e in events][-1] == "succeeded"
    detail = data(client.get(f"/api/interviews/{iid}"))
    assert len(detail["questions"]) == 3 and detail["current_question"]["id"] == detail["questions"][0]["id"]
    if engine == "openai":
        (req,) = fake_openai.chat_requests()
        assert req.header("X-Request-ID") == "req-questions-1"
        assert req.model == "gpt-fake-1" and "technical" in req.messages[-1]["content"]
        assert job["usage"]["llm_calls"] == 1 and job["usage"]["prompt_tokens"] > 0
        assert detail["questions"][2]["text"].startswith("Model question 2") and detail["questions"][0]["key_points"]
    else:
        assert fake_openai.chat_requests() == []
        assert all(q["key_points"] for q in detail["questions"])


def test_messages_build_a_transcript_that_walks_through_the_questions(client: ApiClient) -> None:
    detail = _answered(client, "local")
    roles = [m["role"] for m in detail["messages"]]
    assert roles == ["interviewer", "candidate", "interviewer", "candidate"]
    assert detail["messages"][0]["content"] == detail["questions"][0]["text"]
    assert detail["messages"][3]["content"] == ANSWERS[1]
    assert detail["current_question"] is None  # both questions answered


def test_scores_in_the_body_are_stored_and_an_empty_body_runs_ai_scoring(client: ApiClient, engine: str) -> None:
    iid = _answered(client, engine)["id"]
    r = client.post(f"/api/interviews/{iid}/score", json={"scores": {"content": 80, "structure": 60}})
    assert r.status_code == 200 and data(r)["overall_score"] == 70 and data(r)["source"] == "manual"
    assert data(r)["scores"] == {"content": 80, "structure": 60}
    job = _job(client, client.post(f"/api/interviews/{iid}/score"))
    result = job["result"]
    assert result["source"] == "ai" and result["provider"] == engine and result["answered"] == 2
    assert all(0 <= result["dimensions"][d] <= 100 for d in ("content", "structure", "delivery"))
    stored = data(client.get(f"/api/interviews/{iid}"))
    assert stored["scores"]["source"] == "ai"
    assert all(m["scores"] for m in stored["messages"] if m["role"] == "candidate")


def test_the_report_is_computed_by_a_job_cached_and_recomputed_after_a_change(client: ApiClient,
                                                                              engine: str) -> None:
    iid = _answered(client, engine)["id"]
    asynchronous = {"Prefer": "respond-async"}  # answer 202 at once instead of waiting for the job
    first = client.get(f"/api/interviews/{iid}/report", headers=asynchronous)
    assert first.status_code == 202 and first.headers["Retry-After"]
    again = client.get(f"/api/interviews/{iid}/report", headers=asynchronous)  # the same job, not a second one
    if again.status_code == 202:
        assert data(again)["job_id"] == data(first)["job_id"]
    job = client.wait_job(data(first)["job_id"])
    assert job["status"] == "succeeded", job
    report = data(client.get(f"/api/interviews/{iid}/report"))
    for key in ("overall_score", "strengths", "weaknesses", "recommendations", "dimensions"):
        assert key in report
    assert report["provider"] == engine and report["answered"] == 2
    assert client.get(f"/api/interviews/{iid}/report").status_code == 200  # cached
    client.post(f"/api/interviews/{iid}/messages", json={"content": "One more thing: I wrote the runbook."})
    stale = client.get(f"/api/interviews/{iid}/report", headers=asynchronous)
    assert stale.status_code == 202
    client.wait_job(data(stale)["job_id"])
    assert data(client.get(f"/api/interviews/{iid}/report"))["version"] > report["version"]


def test_difficulty_is_set_or_adapted_to_the_last_answer(client: ApiClient) -> None:
    iid = _interview(client, difficulty="easy")["id"]
    r = client.post(f"/api/interviews/{iid}/difficulty", json={"difficulty": "hard"})
    assert data(r) == {"id": iid, "difficulty": "hard", "previous": "easy"}
    r = client.post(f"/api/interviews/{iid}/difficulty")  # nothing scored yet: stays
    assert data(r)["difficulty"] == "hard"
    assert client.post(f"/api/interviews/{iid}/difficulty", json={"difficulty": "insane"}).status_code == 400


@pytest.mark.slow  # the SDK's own retries back off ~1.5 s per job attempt, four attempts
def test_a_provider_outage_is_retried_and_then_fails_with_a_clear_stage(client: ApiClient, fake_openai: FakeOpenAI,
                                                                        platform) -> None:  # noqa: ANN001
    with use_engine(platform, fake_openai, "openai", client):
        iid = _interview(client)["id"]
        fake_openai.fail_next(503, times=100)
        job = client.wait_job(data(client.post(f"/api/interviews/{iid}/questions", json={"count": 1}))["job_id"])
        assert job["status"] == "failed" and job["error"]["stage"] == "llm" and job["attempts"] > 1
        assert data(client.get(f"/api/interviews/{iid}"))["questions"] == []  # nothing half-written
