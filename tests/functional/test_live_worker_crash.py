"""A worker killed in the middle of a live answer (kill -9) loses nothing: the chunks sent meanwhile are
stored by the web, the live-turn job is redelivered to a new worker once the dead one's lease runs
out, and it resumes from the stored chunks and the committed words saved before the crash — the
committed prefix the client saw does not change.

Private Redis, the test run's Postgres database, web and workers as real subprocesses."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests.support.client import ApiClient, data
from tests.support.procs import PrivateRedis, platform_env, start_web, start_worker, user_token
from tests.support.speech import STAR_WORDS, heard_words

pytestmark = pytest.mark.slow

FAST_RECOVERY = {
    "VOICEMOCK_JOB_LEASE_SECONDS": "2",
    "VOICEMOCK_HEARTBEAT_TIMEOUT_MS": "3000",
    "VOICEMOCK_BROKER_MAINTENANCE_CHANCE": "1000000",
    "VOICEMOCK_LIVE_IDLE_SECONDS": "60",
}


@pytest.fixture()
def private_redis() -> Iterator[PrivateRedis]:
    r = PrivateRedis.start()
    yield r
    r.stop()


def _live_partials(base: str, stream_url: str, until: callable, timeout: float) -> list[dict]:  # type: ignore[valid-type]
    """Read the turn's stream until `until(partials)` holds (or it ends)."""
    partials: list[dict] = []
    deadline = time.monotonic() + timeout
    with requests.get(base + stream_url, stream=True, timeout=(5, timeout)) as r:
        event = None
        for line in r.iter_lines(chunk_size=1, decode_unicode=True):  # no read-ahead: events as they come
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "partial":
                body = json.loads(line[5:])["data"]
                if body.get("stage") == "live":
                    partials.append(body)
                    if until(partials):
                        return partials
            assert time.monotonic() < deadline, f"stream condition not met: {partials[-1:]}"
    return partials


def test_a_live_turn_survives_its_worker_being_killed(pg_url: str, private_redis: PrivateRedis, tmp_path: Path,
                                                      fixtures_dir: Path) -> None:
    env = platform_env(pg_url, private_redis.url, tmp_path, **FAST_RECOVERY)
    web, base = start_web(env, tmp_path)
    first = start_worker(env, tmp_path, tag="live1", queues="stt,default", threads=2)
    second = None
    try:
        api = ApiClient(base, user_token(env, "live-crash@example.com"))
        started = data(api.post("/session/start", json={"job_type": "software_engineer", "focus_area": "behavioral"}))
        hdr = {"X-Session-Token": started["token"]}
        turn = data(api.post(f"/session/{started['session_id']}/turns", auth=False, json={}, headers=hdr))
        raw = (fixtures_dir / "answer_star.webm").read_bytes()
        step = -(-len(raw) // 20)
        slices = [raw[i:i + step] for i in range(0, len(raw), step)]

        def send(seq: int) -> None:
            r = api.post(f"{turn['chunk_url']}?seq={seq}", auth=False, data=slices[seq], headers=hdr)
            assert r.status_code == 202, r.text

        for seq in range(10):  # the first half, in real time (audio keeps coming, as from a microphone)
            send(seq)
            time.sleep(1.0)
        before = _live_partials(base, turn["stream_url"], lambda ps: ps[-1]["committed_words"] >= 1, 90)
        committed_before = before[-1]["committed"]

        first.kill9()
        for seq in range(10, len(slices)):  # the web takes chunks with no worker alive
            send(seq)
        second = start_worker(env, tmp_path, tag="live2", queues="stt,default", threads=2)
        r = api.post(turn["finish_url"], auth=False, json={"last_seq": len(slices) - 1}, headers=hdr)
        assert r.status_code == 202, r.text

        job = api.wait_job(turn["job_id"], timeout=120)
        assert job["status"] == "succeeded", (job, second.log_tail())
        assert job["attempts"] == 2
        text = job["result"]["transcript"]
        assert text.startswith(committed_before), (committed_before, text)
        # Words from both halves of the answer (several each, with a tolerance: never one exact word).
        assert len(heard_words(text, STAR_WORDS[:4])) >= 2 and len(heard_words(text, STAR_WORDS[4:])) >= 2, text
        everything = _live_partials(base, turn["stream_url"], lambda ps: False, 30)
        committed = [p["committed"] for p in everything]
        for a, b in zip(committed, committed[1:]):
            assert b.startswith(a), f"the committed prefix changed across the crash: {a!r} -> {b!r}"
    finally:
        for p in (first, second, web):
            if p is not None:
                p.stop()
