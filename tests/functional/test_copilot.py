"""Live copilot end to end: chunks → coalesced suggestion jobs → SSE; audio chunks; debrief; history; purge."""
from __future__ import annotations

import base64
import threading
import time
from datetime import datetime
from pathlib import Path

from tests.support.client import ApiClient, data

QUESTIONS = ["Tell me about a time you resolved a conflict in your team?",
             "How would you design a cache for a slow service?",
             "Why do you want to work here?"]


def _start(client: ApiClient, **body) -> dict:  # noqa: ANN003
    r = client.post("/api/copilot/sessions/start", json={"mode": "interview", "role": "software_engineer",
                                                          "company": "Acme", **body})
    assert r.status_code == 201, r.text
    return data(r)


def _settled(client: ApiClient, sid: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = data(client.get(f"/api/copilot/sessions/{sid}"))
        if not s["suggesting"]:
            return s
        time.sleep(0.1)
    raise AssertionError("suggestions did not settle")


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.rstrip("Z"))


def test_a_burst_of_fifty_chunks_streams_suggestions_with_one_job_in_flight(client: ApiClient) -> None:
    started = _start(client)
    sid = started["session_id"]
    assert sid.startswith("cop_") and "st=" in started["stream_url"]
    live: list = []
    reader = threading.Thread(target=lambda: live.extend(client.sse(started["stream_url"], auth=False,
                                                                   max_events=1, timeout=60)), daemon=True)
    reader.start()
    time.sleep(0.2)
    chunk_ids = []
    for i in range(50):  # 50 chunks in about 2 seconds
        text = QUESTIONS[i % 3] if i % 5 == 0 else f"So in that project I led the migration, step {i}, and we cut latency."
        r = client.post(f"/api/copilot/sessions/{sid}/events",
                        json={"type": "transcript", "content": text, "timestamp": i * 0.04,
                              "speaker": "interviewer" if i % 5 == 0 else "candidate"})
        assert r.status_code == 202, r.text
        chunk_ids.append(data(r)["chunk_id"])
        time.sleep(0.04)
    reader.join(timeout=60)
    assert live and live[0].type == "suggestion", "a suggestion arrives on the live stream"

    session = _settled(client, sid)
    assert session["chunk_count"] == 50
    last = session["last_suggestion"]
    assert last["upto_chunk"] == chunk_ids[-1], "the final suggestion covers the latest context"
    assert last["points"] and last["tip"]

    jobs = data(client.get("/api/jobs?kind=copilot.suggest&limit=100"))["jobs"]
    jobs = [j for j in jobs if j["subject_id"] == sid]
    assert 1 <= len(jobs) <= 50 and all(j["status"] == "succeeded" for j in jobs)
    spans = sorted((_ts(j["started_at"]), _ts(j["finished_at"])) for j in jobs)
    for (_, prev_end), (next_start, _) in zip(spans, spans[1:]):
        assert next_start >= prev_end, "two suggestion jobs of one session overlapped"

    replay = client.sse(started["stream_url"], auth=False, max_events=session["suggestion_count"])
    assert [e.type for e in replay] == ["suggestion"] * session["suggestion_count"]
    rest = client.sse(started["stream_url"], auth=False, last_event_id=replay[0].id,
                      max_events=session["suggestion_count"] - 1) if session["suggestion_count"] > 1 else []
    assert [e.id for e in rest] == [e.id for e in replay[1:]]


def test_an_audio_chunk_is_transcribed_and_suggested_on(client: ApiClient, fixtures_dir: Path) -> None:
    sid = _start(client)["session_id"]
    audio = base64.b64encode((fixtures_dir / "answer_short.wav").read_bytes()).decode()
    r = client.post(f"/api/copilot/sessions/{sid}/events", json={"type": "audio", "content": audio, "format": "wav"})
    assert r.status_code == 202, r.text
    job = client.wait_job(data(r)["transcription"]["job_id"])
    assert job["status"] == "succeeded" and job["result"]["text"]
    transcript = data(client.get(f"/api/copilot/sessions/{sid}/transcript"))
    assert transcript["chunks"][0]["content"] == job["result"]["text"]
    assert _settled(client, sid)["suggestion_count"] >= 1
    bad = client.post(f"/api/copilot/sessions/{sid}/events",
                      json={"type": "audio", "content": base64.b64encode(b"not audio at all").decode(), "format": "wav"})
    assert bad.status_code == 422 and bad.json()["stage"] == "decode"
    bad = client.post(f"/api/copilot/sessions/{sid}/events", json={"type": "audio", "content": "%%%"})
    assert bad.status_code == 400 and bad.json()["stage"] == "decode"


def test_the_debrief_scores_the_session_and_gives_three_practice_questions(client: ApiClient) -> None:
    sid = _start(client)["session_id"]
    lines = [("interviewer", QUESTIONS[0]),
             ("candidate", "Um, well, I guess we talked."),
             ("interviewer", QUESTIONS[1]),
             ("candidate", "I would put a Redis cache in front of the service with a 5 minute TTL, because reads "
                           "dominate; as a result p99 latency dropped from 900 to 120 milliseconds.")]
    r = client.post(f"/api/copilot/sessions/{sid}/transcript", json={"content": lines[0][1], "speaker": lines[0][0]})
    assert r.status_code == 200 and len(data(r)["chunks"]) == 1
    for speaker, text in lines[1:]:
        client.post(f"/api/copilot/sessions/{sid}/transcript", json={"content": text, "speaker": speaker})
    assert len(data(client.post(f"/api/copilot/sessions/{sid}/transcript"))["chunks"]) == 4
    stopped = data(client.post("/api/copilot/sessions/stop", json={"session_id": sid}))
    assert stopped["status"] == "stopped"
    r = client.post(f"/api/copilot/sessions/{sid}/events", json={"type": "transcript", "content": "late"})
    assert r.status_code == 409
    r = client.post(f"/api/copilot/sessions/{sid}/summarize")
    assert r.status_code == 202, r.text
    job = client.wait_job(data(r)["job_id"])
    assert job["status"] == "succeeded", job
    debrief = job["result"]
    assert 0 <= debrief["overall_score"] <= 100 and set(debrief["dimensions"]) == {"content", "structure", "delivery"}
    qs = debrief["practice_questions"]
    assert len(qs) == 3 and all(q["question"] and q["reason"] for q in qs)
    assert qs[0]["question"] == QUESTIONS[0], "the weakest answer comes back as the first practice question"
    assert data(client.get(f"/api/copilot/sessions/{sid}"))["debrief"]["overall_score"] == debrief["overall_score"]


def test_history_pages_purge_forgets_and_other_users_get_404(client: ApiClient, make_client) -> None:  # noqa: ANN001
    ids = [_start(client)["session_id"] for _ in range(3)]
    page = data(client.get("/api/copilot/sessions/history?limit=2"))
    assert page["total"] == 3 and len(page["sessions"]) == 2 and page["next_offset"] == 2
    assert [s["session_id"] for s in page["sessions"]] == ids[::-1][:2]
    other = make_client()
    assert other.get(f"/api/copilot/sessions/{ids[0]}").status_code == 404
    assert other.post(f"/api/copilot/sessions/{ids[0]}/events", json={"content": "hi"}).status_code == 404
    assert other.post("/api/copilot/sessions/stop", json={"session_id": ids[0]}).status_code == 404
    assert client.delete("/api/copilot/sessions/purge?older_than_days=-1").status_code == 400
    assert data(client.delete("/api/copilot/sessions/purge?older_than_days=30"))["deleted"] == 0
    purged = data(client.delete("/api/copilot/sessions/purge?older_than_days=0"))
    assert purged["deleted"] == 3
    assert client.get(f"/api/copilot/sessions/{ids[0]}").status_code == 404
    r = client.post("/api/copilot/sessions/start", json={"mode": "party", "admin": True})
    assert r.status_code == 400 and {d["path"] for d in r.json()["details"]} == {"mode", "admin"}
