"""A voice practice session is an interview too: summary, report with delivery figures, assessment, progress."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.client import ApiClient, data
from tests.support.speech import heard_most


@pytest.fixture(scope="module")
def voice(platform, fixtures_dir: Path) -> dict:  # noqa: ANN001
    """One session with one spoken answer (the real STT pipeline), shared by this module's tests."""
    import uuid

    from core.tokens import mint_access_token

    email = f"voice-{uuid.uuid4().hex[:8]}@example.com"
    client = ApiClient(platform.base_url, mint_access_token(platform.settings, email, email=email))
    started = data(client.post("/session/start", json={"job_type": "software_engineer", "focus_area": "behavioral"}))
    with open(fixtures_dir / "answer_star.wav", "rb") as f:
        r = client.post("/turn", auth=False, headers={"X-Session-Token": started["token"]},
                        files={"audio": ("answer.wav", f, "audio/wav")})
    assert client.wait_job(data(r)["job_id"], timeout=120)["status"] == "succeeded"
    return {"client": client, "session_id": started["session_id"], "token": started["token"]}


def test_the_summary_is_404_before_the_end_then_202_then_stored(voice: dict) -> None:
    client, sid = voice["client"], voice["session_id"]
    r = client.get(f"/api/v1/session-summary?session_id={sid}", headers={"Idempotency-Key": "k-1"})
    assert r.status_code == 404 and r.headers["Idempotency-Key"] == "k-1"
    ended = data(client.post(f"/session/{sid}/end"))
    r = client.get(f"/api/v1/session-summary?session_id={sid}", headers={"Idempotency-Key": "k-2"})
    assert r.status_code in (200, 202) and r.headers["Idempotency-Key"] == "k-2"
    assert client.wait_job(ended["job_id"])["status"] == "succeeded"
    summary = data(client.get(f"/api/v1/session-summary?session_id={sid}"))
    assert summary["answered"] == 1 and summary["delivery"]["words_per_minute"] > 0
    for key in ("strengths", "weaknesses", "recommendations", "dimensions", "overall_score"):
        assert key in summary
    # The session token works too; other users and bad input do not.
    r = client.get(f"/api/v1/session-summary?session_id={sid}", auth=False, headers={"X-Session-Token": voice["token"]})
    assert r.status_code == 200


def test_the_summary_of_another_users_session_is_a_404(voice: dict, client: ApiClient) -> None:
    assert client.get(f"/api/v1/session-summary?session_id={voice['session_id']}").status_code == 404
    assert client.get("/api/v1/session-summary").status_code == 400


def test_a_voice_session_lists_as_an_interview_and_its_report_has_delivery_figures(voice: dict) -> None:
    client, sid = voice["client"], voice["session_id"]
    listing = data(client.get("/api/interviews"))["interviews"]
    assert sid in [i["id"] for i in listing]
    detail = data(client.get(f"/api/interviews/{sid}"))
    assert [m["role"] for m in detail["messages"]] == ["interviewer", "candidate"]
    assert heard_most(detail["messages"][1]["content"]), detail["messages"][1]
    r = client.get(f"/api/interviews/{sid}/report")
    if r.status_code == 202:
        assert client.wait_job(data(r)["job_id"])["status"] == "succeeded"
        r = client.get(f"/api/interviews/{sid}/report")
    report = data(r)
    assert report["mode"] == "voice" and report["delivery"]["words_per_minute"] > 0
    assert report["dimensions"]["delivery"] is not None and report["overall_score"] is not None
    r = client.post(f"/api/interviews/{sid}/messages", json={"content": "typed"})
    assert r.status_code == 409


def test_an_assessment_scores_the_session_against_a_skill_rubric(voice: dict, client: ApiClient) -> None:
    owner, sid = voice["client"], voice["session_id"]
    r = owner.post("/api/assessments/run", json={"session_id": sid, "skill": "problem solving"})
    assert r.status_code == 202, r.text
    result = owner.wait_job(data(r)["job_id"])["result"]
    assert result["skill"] == "problem_solving" and 0 <= result["score"] <= 100
    assert {c["name"] for c in result["criteria"]} == {"diagnosis", "options considered", "outcome"}
    assert owner.post("/api/assessments/run", json={"session_id": sid, "skill": "juggling"}).status_code == 400
    assert client.post("/api/assessments/run", json={"session_id": sid}).status_code == 404


def test_progress_shows_each_scored_session_oldest_first_with_a_trend(voice: dict) -> None:
    client = voice["client"]
    iid = data(client.post("/api/interviews", json={}))["id"]
    client.post(f"/api/interviews/{iid}/score", json={"scores": {"content": 90, "structure": 90, "delivery": 90}})
    prog = data(client.get("/api/progress"))
    ids = [s["interview_id"] for s in prog["sessions"]]
    assert ids == [voice["session_id"], iid]
    assert prog["sessions"][0]["words_per_minute"] > 0
    first = prog["sessions"][0]["overall"]
    assert prog["trend"]["overall"]["delta"] == round(90 - first, 1)
    assert (prog["trend"]["overall"]["slope"] > 0) == (90 > first)


def test_with_the_openai_engine_the_assessment_comes_from_the_model(voice: dict, platform) -> None:  # noqa: ANN001
    from tests.support.fake_openai import FakeOpenAI
    from tests.support.llm_engines import use_engine

    fake = FakeOpenAI.start()
    try:
        with use_engine(platform, fake, "openai", voice["client"]):
            r = voice["client"].post("/api/assessments/run", json={"session_id": voice["session_id"]},
                                     headers={"X-Request-Id": "req-assess-1"})
            job = voice["client"].wait_job(data(r)["job_id"])
            assert job["status"] == "succeeded" and job["result"]["provider"] == "openai"
            (req,) = fake.chat_requests()
            assert req.header("X-Request-ID") == "req-assess-1" and heard_most(req.messages[-1]["content"])
            assert job["usage"]["llm_calls"] == 1
    finally:
        fake.stop()
