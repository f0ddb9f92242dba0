"""Live answers end to end: chunks over HTTP while "recording" → a live-turn job on a real worker
(faster-whisper, local agreement) → `partial` events with a committed prefix that only grows →
finish → scores. Chunk order, duplicates, the idle timeout, 409 after finish and the caps."""
from __future__ import annotations

import time
from pathlib import Path

from tests.support.client import ApiClient, SSEEvent, data
from tests.support.speech import STAR_WORDS, heard_most, heard_words


def _open(client: ApiClient, **body) -> tuple[dict, dict]:  # noqa: ANN003
    started = data(client.post("/session/start", json={"job_type": "software_engineer", "focus_area": "behavioral",
                                                        "question_count": 3}))
    r = client.post(f"/session/{started['session_id']}/turns", auth=False, json=body,
                    headers={"X-Session-Token": started["token"]})
    assert r.status_code == 201, r.text
    return started, data(r)


def _slices(path: Path, n: int) -> list[bytes]:
    """The recording cut into `n` byte slices, as MediaRecorder would hand them over."""
    raw = path.read_bytes()
    step = -(-len(raw) // n)
    return [raw[i:i + step] for i in range(0, len(raw), step)]


def _chunk(client: ApiClient, token: str, turn: dict, seq: int, body: bytes):  # noqa: ANN202
    return client.post(f"{turn['chunk_url']}?seq={seq}", auth=False, data=body,
                       headers={"X-Session-Token": token, "Content-Type": "application/octet-stream"})


def _finish(client: ApiClient, token: str, turn: dict, **body):  # noqa: ANN003, ANN202
    return client.post(turn["finish_url"], auth=False, json=body, headers={"X-Session-Token": token})


def _live_partials(events: list[SSEEvent]) -> list[dict]:
    return [e.data["data"] for e in events if e.type == "partial" and e.data["data"].get("stage") == "live"]


def test_a_live_answer_streams_stable_words_while_sent_and_is_scored_on_finish(client: ApiClient,
                                                                               fixtures_dir: Path) -> None:
    started, turn = _open(client)
    token = started["token"]
    assert turn["turn_id"].startswith("turn_") and "st=" in turn["stream_url"]
    slices = _slices(fixtures_dir / "answer_star.webm", 24)
    # Out of order (pairs swapped) and with repeats, paced like a recording (~4x real time).
    order = []
    for i in range(0, len(slices), 2):
        order += [i + 1, i] if i + 1 < len(slices) else [i]
    for n, seq in enumerate(order):
        r = _chunk(client, token, turn, seq, slices[seq])
        assert r.status_code == 202, r.text
        assert data(r) == {"turn_id": turn["turn_id"], "seq": seq, "bytes": len(slices[seq]), "duplicate": False}
        if n % 5 == 0:  # a client retry after a lost response: harmless
            again = _chunk(client, token, turn, seq, slices[seq])
            assert again.status_code == 200 and data(again)["duplicate"] is True
        time.sleep(0.2)
    # The same number with other bytes is a different chunk: refused.
    r = _chunk(client, token, turn, 3, b"other bytes")
    assert r.status_code == 409 and r.json()["stage"] == "upload"

    r = _finish(client, token, turn, last_seq=len(slices) - 1)
    assert r.status_code == 202, r.text
    assert data(r)["job_id"] == turn["job_id"]
    events = client.sse(turn["stream_url"], auth=False, timeout=120)
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert events[-1].type == "succeeded", events[-1]

    partials = _live_partials(events)
    assert len(partials) >= 2, "words stream while the chunks arrive"
    committed = [p["committed"] for p in partials]
    for before, after in zip(committed, committed[1:]):
        assert after.startswith(before), f"the committed prefix changed: {before!r} -> {after!r}"
    assert any(p["committed"] or p["tentative"] for p in partials[:-1]), "words before the finish"
    assert all("words_per_minute" in p["delivery"] and "fillers" in p["delivery"] for p in partials)
    final = partials[-1]
    assert final["final"] is True and final["reason"] == "finish" and final["tentative"] == ""

    result = events[-1].data["data"]["result"]
    assert heard_most(result["transcript"]), result["transcript"]  # most of the answer's words, not one
    assert result["transcript"] == final["committed"]
    assert result["scores"]["overall"] is not None and result["delivery"]["words_per_minute"] > 0
    assert result["duration_seconds"] > 20
    session = data(client.get(f"/session/{started['session_id']}"))
    assert [t["status"] for t in session["turns"]] == ["succeeded"]

    # After the finish: no more chunks; finishing again answers the same links.
    r = _chunk(client, token, turn, len(slices), b"late")
    assert r.status_code == 409 and r.json()["stage"] == "upload", r.text
    again = _finish(client, token, turn)
    assert again.status_code == 202 and data(again)["job_id"] == turn["job_id"]


def test_finish_names_missing_chunks_and_waits_for_them(client: ApiClient, fixtures_dir: Path) -> None:
    started, turn = _open(client)
    token = started["token"]
    slices = _slices(fixtures_dir / "answer_short.wav", 4)
    for seq in (0, 2, 3):
        assert _chunk(client, token, turn, seq, slices[seq]).status_code == 202
    r = _finish(client, token, turn, last_seq=3)
    assert r.status_code == 409 and r.json()["details"] == {"missing": [1]}, r.text
    assert _chunk(client, token, turn, 1, slices[1]).status_code == 202
    assert _finish(client, token, turn, last_seq=3).status_code == 202
    job = client.wait_job(turn["job_id"], timeout=90)
    assert job["status"] == "succeeded", job
    assert job["result"]["transcript"]


def test_a_turn_that_stops_receiving_chunks_times_out_and_is_scored_with_what_it_has(client: ApiClient,
                                                                                    fixtures_dir: Path) -> None:
    started, turn = _open(client, idle_seconds=1.5)
    token = started["token"]
    assert turn["idle_seconds"] == 1.5
    slices = _slices(fixtures_dir / "answer_star.webm", 8)
    for seq in range(4):  # about half the answer, then the connection "drops"
        assert _chunk(client, token, turn, seq, slices[seq]).status_code == 202
    job = client.wait_job(turn["job_id"], timeout=90)
    assert job["status"] == "succeeded", job
    # What was heard of the first half (several words with a tolerance, never one exact word).
    assert len(heard_words(job["result"]["transcript"], STAR_WORDS[:4])) >= 2, job["result"]["transcript"]
    events = client.sse(turn["stream_url"], auth=False)
    final = _live_partials(events)[-1]
    assert final["reason"] == "timeout" and 5 < final["audio_seconds"] < 16, final
    r = _chunk(client, token, turn, 4, slices[4])
    assert r.status_code == 409 and "finished" in r.json()["error"]


def test_chunks_are_checked_numbered_capped_and_owned(client: ApiClient, make_client, fixtures_dir: Path) -> None:  # noqa: ANN001
    started, turn = _open(client, idle_seconds=1)
    token = started["token"]
    for bad in ("", "-1", "x", "100001"):
        r = client.post(f"{turn['chunk_url']}?seq={bad}", auth=False, data=b"abc", headers={"X-Session-Token": token})
        assert r.status_code == 400 and r.json()["stage"] == "upload", (bad, r.text)
    assert _chunk(client, token, turn, 0, b"").status_code == 400
    too_big = b"\0" * (1024 * 1024 + 1)
    r = _chunk(client, token, turn, 0, too_big)
    assert r.status_code == 413 and r.json()["stage"] == "upload"
    # Another user's session token, no token at all, a turn that does not exist.
    other, _ = _open(make_client(), idle_seconds=1)
    assert _chunk(client, other["token"], turn, 0, b"abc").status_code == 404
    assert client.post(f"{turn['chunk_url']}?seq=0", auth=False, data=b"abc").status_code == 401
    assert _chunk(client, token, {"chunk_url": "/turns/turn_nope/chunks"}, 0, b"abc").status_code == 404
    # A one-shot answer is not a live turn.
    with open(fixtures_dir / "answer_short.wav", "rb") as f:
        one_shot = data(client.post("/turn", auth=False, headers={"X-Session-Token": token},
                                    files={"audio": ("a.wav", f, "audio/wav")}))
    assert _chunk(client, token, {"chunk_url": f"/turns/{one_shot['turn_id']}/chunks"}, 0, b"abc").status_code == 404
    # Nothing was sent: finishing is refused; the idle timeout then ends the turn, which fails (no audio).
    assert _finish(client, token, turn).status_code == 409
    job = client.wait_job(turn["job_id"], timeout=60)
    assert job["status"] == "failed" and job["error"]["stage"] in ("decode", "transcription"), job
    deadline = time.monotonic() + 10
    while data(client.get(f"/session/{started['session_id']}"))["turns"][0]["status"] != "failed":
        assert time.monotonic() < deadline, "the turn of a failed live job is marked failed"
        time.sleep(0.1)
