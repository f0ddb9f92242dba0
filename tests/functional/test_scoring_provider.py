"""With an LLM provider configured, voice turns, reports and summaries are judged by it (structured
output through the openai SDK against the local fake server, over HTTP, the broker and a worker), and
the local engine answers when the provider fails (issue 14)."""
from __future__ import annotations

from pathlib import Path

from tests.support.client import ApiClient, data
from tests.support.fake_openai import FakeOpenAI
from tests.support.llm_engines import fake_openai, new_client, use_engine  # noqa: F401 (fixture)
from tests.support.speech import heard_most


def _turn(client: ApiClient, token: str, fixtures_dir: Path) -> dict:
    with open(fixtures_dir / "answer_star.wav", "rb") as f:
        r = client.post("/turn", auth=False, headers={"X-Session-Token": token},
                        files={"audio": ("answer.wav", f, "audio/wav")})
    assert r.status_code == 202, r.text
    job = client.wait_job(data(r)["job_id"], timeout=120)
    assert job["status"] == "succeeded", job
    return job["result"]


def _score_requests(fake: FakeOpenAI) -> list:
    return [r for r in fake.chat_requests() if "Score this answer" in r.messages[-1]["content"]]


def test_voice_turns_reports_and_summaries_go_through_the_provider_with_local_fallback(
        platform, fake_openai: FakeOpenAI, fixtures_dir: Path) -> None:  # noqa: ANN001, F811
    client = new_client(platform)
    with use_engine(platform, fake_openai, "openai", client):
        started = data(client.post("/session/start", json={"job_type": "software_engineer",
                                                           "focus_area": "behavioral", "question_count": 3}))
        first = _turn(client, started["token"], fixtures_dir)
        assert first["scores"]["engine"] == "openai"
        (req,) = _score_requests(fake_openai)
        prompt = req.messages[-1]["content"]
        assert started["first_question"]["text"] in prompt and heard_most(prompt)
        assert first["scores"]["content"]["feedback"] == "model feedback"  # the model's words, not the rubric's
        assert first["scores"]["fix"] and first["scores"]["outline"] and first["scores"]["content"]["on_topic"] is True
        assert isinstance(first["scores"]["delivery"]["issues"], list)  # the audio's figures stay with delivery

        fake_openai.fail_next(500, times=3)  # the call and the SDK's two retries: the provider is down
        second = _turn(client, started["token"], fixtures_dir)
        assert second["scores"]["engine"] == "local" and "openai failed" in second["scores"]["fallback"]
        assert second["scores"]["content"]["feedback"] != "model feedback"

        sid = started["session_id"]
        r = client.get(f"/api/interviews/{sid}/report")
        if r.status_code == 202:
            assert client.wait_job(data(r)["job_id"])["status"] == "succeeded"
            r = client.get(f"/api/interviews/{sid}/report")
        report = data(r)
        assert report["provider"] == "openai"
        assert [a["engine"] for a in report["answers"]] == ["openai", "local"]
        assert any("From this transcript" in q.messages[-1]["content"] for q in fake_openai.chat_requests())

        ended = data(client.post(f"/session/{sid}/end"))
        assert client.wait_job(ended["job_id"])["status"] == "succeeded"
        summary = data(client.get(f"/api/v1/session-summary?session_id={sid}"))
        assert summary["provider"] == "openai" and summary["strengths"]
        assert sum("strongest" in s for s in summary["strengths"]) <= 1


def test_a_report_falls_back_to_the_local_narrative_when_the_provider_fails(
        platform, fake_openai: FakeOpenAI) -> None:  # noqa: ANN001, F811
    client = new_client(platform)
    with use_engine(platform, fake_openai, "openai", client):
        iid = data(client.post("/api/interviews", json={"job_type": "software_engineer"}))["id"]
        client.post(f"/api/interviews/{iid}/messages", json={"content": "I cut our API latency by half with a cache."})
        fake_openai.fail_next(503, times=100)
        r = client.get(f"/api/interviews/{iid}/report")
        if r.status_code == 202:
            assert client.wait_job(data(r)["job_id"])["status"] == "succeeded"
            r = client.get(f"/api/interviews/{iid}/report")
        report = data(r)
        assert report["provider"] == "local" and report["answers"][0]["engine"] == "local"
        assert report["recommendations"] and report["answers"][0]["fix"]
