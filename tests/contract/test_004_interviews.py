"""Document 004, "## Interview Sessions API": every example, sent as printed (with the caller's token)."""
from __future__ import annotations

import json

import pytest

from tests.contract.seed import ADD_MESSAGE, ANSWER, CREATE_INTERVIEW, answered_interview, envelope
from tests.support.client import ApiClient, data

# "### Score Interview", the request body as printed.
SCORE = {"scores": {"technical": 85, "communication": 90, "problem_solving": 80},
         "feedback": "Great explanation of the system design."}


def test_create_interview_with_role_type_and_difficulty(client: ApiClient) -> None:
    """"### Create Interview": `{"role": "Software Engineer", "type": "technical", "difficulty": "medium"}`."""
    r = client.post("/api/interviews", json=CREATE_INTERVIEW)
    assert r.status_code == 201, r.text
    out = envelope(r)["data"]
    assert out["role"] == "Software Engineer" and out["type"] == "technical" and out["difficulty"] == "medium"
    assert out["title"] == "Software Engineer — Technical" and out["job_type"] == "software_engineer"


@pytest.mark.parametrize("role,bank_role", [("Staff SRE", "software_engineer"), ("Sr. PM", "product_manager"),
                                            ("Astronaut", "general")])
def test_create_interview_takes_any_free_text_role(client: ApiClient, role: str, bank_role: str) -> None:
    """"### Create Interview" with other words people type: never a 400; the words are kept."""
    out = data(client.post("/api/interviews", json={"role": role, "type": "SQL", "difficulty": "medium"}))
    assert out["role"] == role and out["job_type"] == bank_role and out["type"] == "technical"
    assert out["title"] == f"{role} — SQL"


def test_list_interviews_items_carry_the_documented_fields(client: ApiClient) -> None:
    """"### List Interviews": `{"interviews": [{id, user_id, role, type, status, created_at}]}` as `data`."""
    iid = data(client.post("/api/interviews", json=CREATE_INTERVIEW))["id"]
    me = data(client.get("/auth/me"))["id"]
    items = envelope(client.get("/api/interviews"))["data"]["interviews"]
    item = next(i for i in items if i["id"] == iid)
    assert {"id", "user_id", "role", "type", "status", "created_at"} <= set(item)
    assert item["user_id"] == me and item["role"] == "Software Engineer" and item["type"] == "technical"
    assert item["created_at"].endswith("Z")


def test_get_and_delete_interview(client: ApiClient) -> None:
    """"### Get Interview" and "### Delete Interview": `GET|DELETE /api/interviews/[id]`."""
    iid = data(client.post("/api/interviews", json=CREATE_INTERVIEW))["id"]
    got = envelope(client.get(f"/api/interviews/{iid}"))["data"]
    assert got["id"] == iid and got["role"] == "Software Engineer"
    assert data(client.delete(f"/api/interviews/{iid}")) == {"id": iid, "deleted": True}
    assert client.get(f"/api/interviews/{iid}").status_code == 404


def test_add_message_as_assistant_then_user(client: ApiClient) -> None:
    """"### Add Message": `{"role": "assistant", "content": "Tell me about a time …"}`: the interviewer's
    question, which the next `user` message answers (chat roles user/assistant/system are accepted)."""
    iid = data(client.post("/api/interviews", json=CREATE_INTERVIEW))["id"]
    r = client.post(f"/api/interviews/{iid}/messages", json=ADD_MESSAGE)
    assert r.status_code == 201, r.text
    asked = envelope(r)["data"]
    assert asked["role"] == "assistant" and asked["content"] == ADD_MESSAGE["content"]
    assert data(client.post(f"/api/interviews/{iid}/messages", json={"role": "system",
                                                                     "content": "Be concise."}))["role"] == "system"
    answered = data(client.post(f"/api/interviews/{iid}/messages", json=ANSWER))
    assert answered["message"]["question_id"] == asked["message"]["question_id"]
    detail = data(client.get(f"/api/interviews/{iid}"))
    assert [m["role"] for m in detail["messages"]] == ["interviewer", "system", "candidate"]
    assert detail["questions"][0]["text"] == ADD_MESSAGE["content"]


def test_score_interview_with_named_dimensions_then_the_report_uses_them(client: ApiClient) -> None:
    """"### Score Interview" then "### Get Report": the scores map (any dimension names) and feedback are
    stored; the report answers `overall_score, strengths, weaknesses, recommendations` over them."""
    iid = answered_interview(client)
    r = client.post(f"/api/interviews/{iid}/score", json=SCORE)
    assert r.status_code == 200, r.text
    stored = envelope(r)["data"]
    assert stored["scores"] == SCORE["scores"] and stored["feedback"] == SCORE["feedback"]
    assert stored["overall_score"] == 85
    r = client.get(f"/api/interviews/{iid}/report")
    assert r.status_code == 200, r.text
    report = envelope(r)["data"]
    assert report["overall_score"] == 85 and set(report["dimensions"]) == set(SCORE["scores"])
    for key in ("strengths", "weaknesses", "recommendations"):
        assert isinstance(report[key], list)
    assert any("Communication" in s for s in report["strengths"])


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_export_interview_as_json_or_text(client: ApiClient, fmt: str) -> None:
    """"### Export Interview": `POST /api/interviews/[id]/export?format=json|text` → a job, then the file,
    with the dimensions that were scored."""
    iid = answered_interview(client)
    client.post(f"/api/interviews/{iid}/score", json=SCORE)
    r = client.post(f"/api/interviews/{iid}/export?format={fmt}")
    assert r.status_code == 202, r.text
    out = envelope(r)["data"]
    assert client.wait_job(out["job_id"])["status"] == "succeeded"
    file = client.get(out["artifact_url"])
    assert file.status_code == 200
    if fmt == "json":
        assert file.headers["Content-Type"] == "application/json"
        assert set(json.loads(file.content)["report"]["dimensions"]) == set(SCORE["scores"])
    else:
        assert file.headers["Content-Type"] == "text/plain; charset=utf-8"  # one charset, not two
        assert "problem solving: 80" in file.text.lower()


def test_generate_questions(client: ApiClient) -> None:
    """"### Generate Questions": `{"count": 5, "type": "behavioral"}` → a job adding five questions."""
    iid = data(client.post("/api/interviews", json=CREATE_INTERVIEW))["id"]
    r = client.post(f"/api/interviews/{iid}/questions", json={"count": 5, "type": "behavioral"})
    assert r.status_code == 202, r.text
    job = client.wait_job(envelope(r)["data"]["job_id"])
    assert job["status"] == "succeeded" and len(job["result"]["questions"]) == 5



@pytest.mark.parametrize("words", ["System Design", "Kubernetes war stories"])
def test_generate_questions_takes_free_text_types(client: ApiClient, words: str) -> None:
    """"### Generate Questions" with the words people type: never a 400 (nearest bank type, else any)."""
    iid = data(client.post("/api/interviews", json=CREATE_INTERVIEW))["id"]
    r = client.post(f"/api/interviews/{iid}/questions", json={"count": 2, "type": words})
    assert r.status_code == 202, r.text
    job = client.wait_job(envelope(r)["data"]["job_id"])
    assert job["status"] == "succeeded" and len(job["result"]["questions"]) == 2


def test_adjust_difficulty(client: ApiClient) -> None:
    """"### Adjust Difficulty": `{"difficulty": "hard"}`."""
    iid = data(client.post("/api/interviews", json=CREATE_INTERVIEW))["id"]
    r = client.post(f"/api/interviews/{iid}/difficulty", json={"difficulty": "hard"})
    assert r.status_code == 200 and envelope(r)["data"]["difficulty"] == "hard"


def test_a_finished_session_is_listed_as_completed(client: ApiClient) -> None:
    """"### List Interviews" prints `"status": "completed"`: the word for a session that has ended."""
    started = data(client.post("/session/start", json={"job_type": "Backend Engineer", "focus_area": "System Design"}))
    sid = started["session_id"]
    headers = {"X-Session-Token": started["session_token"]} if "session_token" in started else {}
    ended = client.post(f"/session/{sid}/end", headers=headers)
    assert ended.status_code == 202, ended.text
    assert data(ended)["status"] == "completed"
    items = envelope(client.get("/api/interviews", params={"mode": "voice"}))["data"]["interviews"]
    assert next(i for i in items if i["id"] == sid)["status"] == "completed"
