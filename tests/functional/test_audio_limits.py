"""Audio caps and billing do not trust the file header (issue 13 item 2): the upload route checks the
duration a header declares, the worker decodes the audio itself under the cap and bills what it
decoded. HTTP → Redis broker → Dramatiq worker → PyAV/faster-whisper."""
from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np

from tests.support.client import ApiClient, data


def lying_flac(samples: np.ndarray, rate: int, claimed_seconds: float) -> bytes:
    """`samples` (int16, mono) as FLAC whose STREAMINFO claims `claimed_seconds` of audio."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate, layout="mono")
        step = rate * 10
        for i in range(0, len(samples), step):
            frame = av.AudioFrame.from_ndarray(samples[i:i + step].reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    flac = bytearray(buf.getvalue())
    assert flac[:4] == b"fLaC" and flac[4] & 0x7F == 0, "STREAMINFO is the first metadata block"
    # STREAMINFO bytes 10..17: sample rate (20 bits), channels (3), bits per sample (5), total samples (36).
    packed = int.from_bytes(flac[18:26], "big")
    packed = (packed & ~((1 << 36) - 1)) | int(claimed_seconds * rate)
    flac[18:26] = packed.to_bytes(8, "big")
    return bytes(flac)


def _speech(fixtures_dir: Path) -> tuple[np.ndarray, int]:
    with av.open(str(fixtures_dir / "answer_star.wav")) as c:
        rate = c.streams.audio[0].rate
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    return pcm.astype(np.int16), rate


def _turn(client: ApiClient, audio: bytes) -> dict:
    started = client.post("/session/start", json={"job_type": "software_engineer", "focus_area": "behavioral"})
    assert started.status_code == 201, started.text
    r = client.post("/turn", auth=False, headers={"X-Session-Token": data(started)["token"]},
                    files={"audio": ("answer.flac", audio, "audio/flac")})
    assert r.status_code == 202, r.text
    return data(r)


def test_a_flac_whose_header_understates_its_length_fails_at_decode_at_the_cap(client: ApiClient) -> None:
    rate = 8000
    noise = np.random.default_rng(1).integers(-300, 300, rate * 700).astype(np.int16)  # 700 s > the 600 s cap
    accepted = _turn(client, lying_flac(noise, rate, claimed_seconds=5))
    assert accepted["audio_seconds"] == 5.0  # the header is all the upload route reads
    job = client.wait_job(accepted["job_id"], timeout=60)
    assert job["status"] == "failed" and job["attempts"] == 1, job
    assert job["error"]["stage"] == "decode" and "longer than the limit of 600 s" in job["error"]["message"], job


def test_a_turn_is_billed_for_the_audio_decoded_not_the_header(client: ApiClient, fixtures_dir: Path) -> None:
    pcm, rate = _speech(fixtures_dir)  # 21.4 s of speech
    accepted = _turn(client, lying_flac(pcm, rate, claimed_seconds=1))
    assert accepted["audio_seconds"] == 1.0
    job = client.wait_job(accepted["job_id"], timeout=120)
    assert job["status"] == "succeeded", job
    seconds = len(pcm) / rate
    assert abs(job["result"]["duration_seconds"] - seconds) < 0.1, job["result"]
    assert abs(job["usage"]["audio_seconds"] - seconds) < 0.1, job["usage"]
    usage = data(client.get("/api/billing/usage"))
    assert abs(usage["audio_minutes"]["used"] - seconds / 60) < 0.01, usage


def test_the_quota_is_checked_against_the_audio_decoded(client: ApiClient, platform, fixtures_dir: Path) -> None:  # noqa: ANN001
    """59.8 of the free plan's 60 minutes used: a 21 s answer whose header says 1 s passes the
    upload's check (1 s fits) and is refused by the worker at `quota` once it has measured 21 s."""
    from core.models import UsageLedger

    user_id = data(client.get("/auth/me"))["id"]
    with platform.runtime.db.session_scope() as s:
        s.add(UsageLedger(user_id=user_id, kind="audio_seconds", amount=59.8 * 60))
    pcm, rate = _speech(fixtures_dir)
    accepted = _turn(client, lying_flac(pcm, rate, claimed_seconds=1))
    job = client.wait_job(accepted["job_id"], timeout=60)
    assert job["status"] == "failed" and job["attempts"] == 1, job
    assert job["error"]["stage"] == "quota", job
