"""Speech benchmark: raw faster-whisper against the platform's upload-to-`succeeded`, same audio, one run.

    python bench/stt.py [--audio FILE] [--runs 5] [--mode production|embedded]

Prints the raw transcription time, the platform's upload→succeeded time (HTTP upload, probe, job row,
broker, worker, transcription, analytics, scoring, events), their ratio (target ≤ 1.15 on a warm
worker), the real-time factor, and how many times the model was loaded in this process (once).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._platform import machine, running_platform, seconds_until_done  # noqa: E402
from core.tokens import mint_access_token  # noqa: E402
from jobs.stt import get_stt, load_count, probe_audio  # noqa: E402

DEFAULT_AUDIO = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "answer_star.wav"


def _platform_run(base: str, token: str, audio: Path) -> float:
    auth = {"Authorization": f"Bearer {token}"}
    started = requests.post(f"{base}/session/start", headers=auth, timeout=10,
                            json={"job_type": "software_engineer", "question_count": 20}).json()["data"]
    t0 = time.perf_counter()
    r = requests.post(f"{base}/turn", headers={"X-Session-Token": started["token"]}, timeout=30,
                      files={"audio": (audio.name, audio.read_bytes(), "audio/wav")})
    r.raise_for_status()
    return seconds_until_done(requests.Session(), base + r.json()["data"]["stream_url"], t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--audio", type=Path, default=DEFAULT_AUDIO)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mode", choices=("production", "embedded"), default="production")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args()

    duration = probe_audio(str(args.audio)).duration
    with running_platform(args.mode, worker_threads=1) as (base, settings):
        token = mint_access_token(settings, "bench@example.com", email="bench@example.com")
        stt = get_stt(settings.stt_model, settings.stt_compute_type, settings.stt_cpu_threads)
        stt.transcribe(str(args.audio))  # warm the model
        _platform_run(base, token, args.audio)  # warm the worker path
        raw, plat = [], []
        for _ in range(args.runs):  # interleaved, so drift hits both equally
            t0 = time.perf_counter()
            stt.transcribe(str(args.audio))
            raw.append(time.perf_counter() - t0)
            plat.append(_platform_run(base, token, args.audio))
    raw_med, plat_med = statistics.median(raw), statistics.median(plat)
    result = {
        "machine": machine(), "mode": args.mode, "audio_seconds": round(duration, 2), "runs": args.runs,
        "raw_median_s": round(raw_med, 3), "platform_median_s": round(plat_med, 3),
        "overhead_ratio": round(plat_med / raw_med, 3), "overhead_ms": round((plat_med - raw_med) * 1000, 1),
        "real_time_factor": round(raw_med / duration, 4), "model_loads_in_process": load_count(),
    }
    if args.json:
        print("JSON: " + json.dumps(result))
        return
    print(f"machine: {result['machine']}")
    print(f"audio: {args.audio.name}, {duration:.1f} s; {args.runs} interleaved runs, {args.mode} mode, warm model")
    print(f"raw faster-whisper           median {raw_med * 1000:8.1f} ms")
    print(f"platform upload→succeeded    median {plat_med * 1000:8.1f} ms")
    print(f"ratio platform/raw           {result['overhead_ratio']:.3f}   (target ≤ 1.15; +{result['overhead_ms']} ms)")
    print(f"real-time factor (raw)       {result['real_time_factor']:.4f}   ({1 / result['real_time_factor']:.1f}× faster than real time)")
    print(f"model loads in this process  {result['model_loads_in_process']}   (raw and platform share one model)")
    print("JSON: " + json.dumps(result))


if __name__ == "__main__":
    main()
