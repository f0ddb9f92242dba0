"""The forgiving practice loop through HTTP, the broker and a worker: re-record a question, tailored
sessions (job description, resume), and the caller's list of past sessions."""
from __future__ import annotations

from pathlib import Path

from tests.support.client import ApiClient, data
from tests.support.fake_openai import FakeOpenAI
from tests.support.llm_engines import fake_openai, use_engine  # noqa: F401 - fixture

JD = ("Backend Engineer, Payments. You will design and operate Python services on PostgreSQL and Kafka, "
      "own incident response and on-call, mentor engineers and work with product on roadmap trade-offs.")


def _upload(client: ApiClient, token: str, path: Path, question_id: str) -> dict:
    with open(path, "rb") as f:
        r = client.post("/turn", auth=False, headers={"X-Session-Token": token},
                        files={"audio": (path.name, f, "audio/wav")}, data={"question_id": question_id})
    assert r.status_code == 202, r.text
    job = client.wait_job(data(r)["job_id"])
    assert job["status"] == "succeeded", job
    return job["result"]


def test_a_rerecorded_question_keeps_its_next_question_and_the_earlier_attempt(client: ApiClient,
                                                                              fixtures_dir: Path) -> None:
    r = client.post("/session/start", json={"job_type": "software_engineer", "focus_area": "behavioral",
                                            "question_count": 2, "job_description": JD})
    assert r.status_code == 201, r.text
    started = data(r)
    assert started["tailored"] is True
    q1 = started["first_question"]["id"]
    first = _upload(client, started["token"], fixtures_dir / "answer_short.wav", q1)
    assert first["attempt"] == 1 and first["next_question"]
    q2 = first["next_question"]["id"]

    again = _upload(client, started["token"], fixtures_dir / "answer_star.wav", q1)
    assert again["attempt"] == 2 and again["replaces_turn_id"] == first["turn_id"]
    assert again["next_question"]["id"] == q2, "a re-record does not use up another question"

    sess = data(client.get(f"/session/{started['session_id']}"))
    assert sess["job_description"] == JD
    assert len(sess["questions"]) == 2 and sess["current_question"]["id"] == q2
    assert [(t["question_id"], t["status"]) for t in sess["turns"]] == [(q1, "superseded"), (q1, "succeeded")]

    listed = data(client.get("/api/interviews?mode=voice"))["interviews"]
    assert started["session_id"] in [i["id"] for i in listed]


def test_a_session_for_a_resume_needs_the_callers_ready_resume(client: ApiClient, make_client) -> None:  # noqa: ANN001
    resume = data(client.post("/api/resume", json={"title": "cv", "text": "Built Kafka pipelines in Python.\n"
                                                   "Led on-call for payments services on PostgreSQL."}))
    r = client.post("/session/start", json={"job_type": "software_engineer", "focus_area": "technical",
                                            "resume_id": resume["id"], "question_count": 1})
    assert r.status_code == 201, r.text
    sess = data(client.get(f"/session/{data(r)['session_id']}"))
    assert sess["resume_id"] == resume["id"] and sess["job_description"] is None
    r = make_client().post("/session/start", json={"job_type": "general", "resume_id": resume["id"]})
    assert r.status_code == 404, r.text


def test_with_a_provider_the_next_question_is_written_for_the_job_description(
        client: ApiClient, platform, fake_openai: FakeOpenAI, fixtures_dir: Path) -> None:  # noqa: ANN001, F811
    with use_engine(platform, fake_openai, "openai", client):
        r = client.post("/session/start", json={"job_type": "software_engineer", "focus_area": "technical",
                                                "question_count": 2, "job_description": JD})
        started = data(r)
        assert started["first_question"]["key_points"], "the first question is drawn from the bank at once"
        result = _upload(client, started["token"], fixtures_dir / "answer_short.wav", started["first_question"]["id"])
        asked = [q.messages[-1]["content"] for q in fake_openai.chat_requests()]
        written = [m for m in asked if "Job description:" in m]
        assert len(written) == 1 and JD in written[0] and started["first_question"]["text"] in written[0]
        # The fake server answers with a schema-shaped instance: that is the next question.
        assert result["next_question"]["text"] == "model text"
        sess = data(client.get(f"/session/{started['session_id']}"))
        assert sess["questions"][1]["text"] == "model text"
