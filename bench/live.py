"""Live answers benchmark (issue 16): answers played in real time into live turns, as a browser would.

    python bench/live.py [--long-runs 2] [--concurrency 1,2,3,4] [--mode production|embedded]

Each answer (the recorded clips of /work/shared/speech, and espeak-ng answers of ~30 s and ~60 s) is
encoded to webm/opus like a MediaRecorder recording and sent as 250 ms slices, each when its audio
would have been recorded, to a live turn of an in-process platform (HTTP → Redis broker → Dramatiq
worker → faster-whisper tiny.en). The turn's SSE stream is read meanwhile. Printed:

- first words: seconds from the end of the answer's first word (in the audio) to the first `partial`
  that shows it (committed or tentative), median over answers; also the median over all words, and
  until a word is committed;
- scores after finish: seconds from `POST finish` to `succeeded` (delivery and scores in it), for the
  ~60 s answer (median of --long-runs);
- WER of the final live transcript and of the one-shot transcript of the same audio (the same webm,
  transcribed whole by `jobs.stt` as `POST /turn` does), against the reference texts;
- concurrency: N answers (~30 s) at once, with the same latencies, for each N of --concurrency.

The machine's load average is printed: on a shared machine the figures are worse than on an idle one.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._platform import machine, running_platform  # noqa: E402
from core.tokens import mint_access_token  # noqa: E402

SPEECH = Path(os.environ.get("VOICEMOCK_SPEECH_DIR", "/work/shared/speech"))
SLICE = 0.25  # seconds per MediaRecorder slice (what the page uses)
ESPEAK = {
    "espeak_30s": (
        "At my last job our checkout service was slow, and customers were leaving before they paid. "
        "My task was to find the cause and fix it within one quarter. First I measured every step of a "
        "request, and I found that most of the time went into the product database. So I added a cache "
        "in front of it, and I moved the reports to a replica. As a result the pages loaded in half the time."
    ),
    "espeak_60s": (
        "Let me tell you about a time when a project of mine was in trouble. We were building a new "
        "mobile app for a retail customer, and two months before the launch the team was far behind. "
        "The situation was difficult, because the customer had already announced the date in public. "
        "My role was to lead the five engineers on the team and to bring the project back on track. "
        "First I talked to each engineer, and I learned that the biggest problem was unclear priorities. "
        "Then I sat down with the customer and we cut the features into three groups: the ones we needed "
        "for the launch, the ones that could wait a month, and the ones we could drop. I set up a short "
        "meeting every morning, so that blocked work was found early, and I took over the release process "
        "myself. In the end we launched on the planned day with every feature of the first group, and the "
        "customer signed a second contract with us. I learned that a clear plan matters more than long hours."
    ),
}


@dataclass
class Clip:
    name: str
    reference: str
    webm: bytes
    seconds: float
    path: str  # the same webm as a file, for the one-shot transcript of the same audio


@dataclass
class Run:
    clip: Clip
    partials: list[tuple[float, dict]] = field(default_factory=list)  # (seconds since start, data)
    started: float = 0.0
    finish_sent: float = 0.0
    done: float = 0.0
    result: dict | None = None
    error: str | None = None


def _words(text: str) -> list[str]:
    return [w for w in re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split() if w]


def wer(ref: str, hyp: str) -> tuple[int, int]:
    """(edit distance in words, reference words)."""
    r, h = _words(ref), _words(hyp)
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    return prev[-1], len(r)


def _to_webm(wav_path: str) -> tuple[bytes, float]:
    """Encode like a browser's MediaRecorder: webm/opus, 48 kHz mono."""
    import av

    out = io.BytesIO()
    src = av.open(wav_path)
    dst = av.open(out, mode="w", format="webm")
    stream = dst.add_stream("libopus", rate=48000)
    stream.layout = "mono"
    resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
    samples = 0
    for frame in src.decode(audio=0):
        for f in resampler.resample(frame):
            samples += f.samples
            for packet in stream.encode(f):
                dst.mux(packet)
    for packet in stream.encode(None):
        dst.mux(packet)
    dst.close()
    src.close()
    return out.getvalue(), samples / 48000


def _clip(tmp: str, name: str, reference: str, wav: str) -> Clip:
    webm, seconds = _to_webm(wav)
    path = os.path.join(tmp, f"{name}.webm")
    Path(path).write_bytes(webm)
    return Clip(name, reference, webm, seconds, path)


def load_clips(tmp: str) -> list[Clip]:
    clips = []
    refs = json.loads((SPEECH / "refs.json").read_text()) if (SPEECH / "refs.json").exists() else {}
    for name, meta in sorted(refs.items()):
        if name.startswith("cards_"):
            continue  # one to four words: too short to say anything about streaming
        clips.append(_clip(tmp, name, meta["transcript"], str(SPEECH / name)))
    espeak = shutil.which("espeak-ng") or shutil.which("espeak")
    if espeak:
        for name, text in ESPEAK.items():
            path = os.path.join(tmp, f"{name}.wav")
            subprocess.run([espeak, "-s", "150", "-w", path, text], check=True, capture_output=True)
            clips.append(_clip(tmp, name, text, path))
    return clips


def _follow(base: str, run: Run, stream_url: str, stop: threading.Event) -> None:
    with requests.get(base + stream_url, stream=True, timeout=(5, 300)) as r:
        event = None
        for line in r.iter_lines(chunk_size=1, decode_unicode=True):
            now = time.perf_counter() - run.started
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event:
                body = json.loads(line[5:])["data"]
                if event == "partial" and body.get("stage") == "live":
                    run.partials.append((now, body))
                elif event == "succeeded":
                    run.done, run.result = now, body["result"]
                    return
                elif event in ("failed", "cancelled"):
                    run.error = json.dumps(body)[:300]
                    return
            if stop.is_set():
                return


def play(base: str, token: str, clip: Clip) -> Run:
    """Open a live turn, send the clip's slices in real time, finish, and read the stream to the end."""
    auth = {"Authorization": f"Bearer {token}"}
    started = requests.post(f"{base}/session/start", headers=auth, timeout=10,
                            json={"job_type": "software_engineer", "question_count": 20}).json()["data"]
    hdr = {"X-Session-Token": started["token"]}
    turn = requests.post(f"{base}/session/{started['session_id']}/turns", headers=hdr, json={}, timeout=10).json()["data"]
    run = Run(clip)
    n = max(1, round(clip.seconds / SLICE))
    step = -(-len(clip.webm) // n)
    slices = [clip.webm[i:i + step] for i in range(0, len(clip.webm), step)]
    http = requests.Session()
    stop = threading.Event()
    run.started = time.perf_counter()
    reader = threading.Thread(target=_follow, args=(base, run, turn["stream_url"], stop), daemon=True)
    reader.start()
    for seq, body in enumerate(slices):
        due = run.started + (seq + 1) * clip.seconds / len(slices)  # when its audio has been recorded
        time.sleep(max(0.0, due - time.perf_counter()))
        http.post(f"{base}{turn['chunk_url']}?seq={seq}", data=body, headers=hdr, timeout=30).raise_for_status()
    run.finish_sent = time.perf_counter() - run.started
    http.post(f"{base}{turn['finish_url']}", json={"last_seq": len(slices) - 1}, headers=hdr, timeout=30).raise_for_status()
    reader.join(300)
    stop.set()
    return run


def latencies(run: Run) -> dict:
    """First appearance and commit of each final word, relative to when it was spoken."""
    if not run.result:
        return {}
    words = [w for s in run.result["segments"] for w in s["words"]]
    shown, committed = [], []
    for i, w in enumerate(words):
        t_show = next((t for t, p in run.partials
                       if p["committed_words"] + len(p["tentative"].split()) > i and not p.get("final")), None)
        t_commit = next((t for t, p in run.partials if p["committed_words"] > i and not p.get("final")), None)
        if t_show is not None:
            shown.append(t_show - w["end"])
        if t_commit is not None:
            committed.append(t_commit - w["end"])
    return {"first_word": shown[0] if shown else None, "shown": shown, "committed": committed,
            "after_finish": run.done - run.finish_sent if run.done else None}


def _median(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 2) if xs else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--long-runs", type=int, default=2, help="runs of the ~60 s answer")
    ap.add_argument("--concurrency", default="1,2,3,4")
    ap.add_argument("--mode", choices=("production", "embedded"), default="production")
    args = ap.parse_args()
    levels = [int(x) for x in args.concurrency.split(",") if x]
    load_before = os.getloadavg()
    tmp = tempfile.mkdtemp(prefix="vm-live-bench-")
    clips = load_clips(tmp)
    with running_platform(args.mode, worker_threads=max(levels + [1]) + 1) as (base, settings):
        from jobs.stt import stt_for

        token = mint_access_token(settings, "bench@example.com", email="bench@example.com")
        stt = stt_for(settings)
        one_shot = {c.name: stt.transcribe(c.path).text for c in clips}  # what POST /turn makes; warms the model
        play(base, token, clips[0])  # warm the worker path

        runs = [play(base, token, c) for c in clips]
        long_clip = next((c for c in clips if c.name == "espeak_60s"), max(clips, key=lambda c: c.seconds))
        runs += [play(base, token, long_clip) for _ in range(max(0, args.long_runs - 1))]
        conc = {}
        mid = next((c for c in clips if c.name == "espeak_30s"), long_clip)
        for k in levels:
            out: list[Run] = []
            threads = [threading.Thread(target=lambda: out.append(play(base, token, mid))) for _ in range(k)]
            for t in threads:
                t.start()
                time.sleep(0.1)
            for t in threads:
                t.join(600)
            lat = [latencies(r) for r in out]
            conc[k] = {"first_word_median_s": _median([x.get("first_word") for x in lat]),
                       "word_shown_median_s": _median([v for x in lat for v in x.get("shown", [])]),
                       "after_finish_median_s": _median([x.get("after_finish") for x in lat]),
                       "failed": sum(1 for r in out if not r.result)}
    load_after = os.getloadavg()

    lat = {id(r): latencies(r) for r in runs}
    errors, ref_words, errors_one = 0, 0, 0
    rows = []
    for c in clips:
        r = next(r for r in runs if r.clip is c)
        live_text = (r.result or {}).get("transcript", "")
        e, n = wer(c.reference, live_text)
        e1, _ = wer(c.reference, one_shot[c.name])
        errors, ref_words, errors_one = errors + e, ref_words + n, errors_one + e1
        x = lat[id(r)]
        rows.append((c.name, c.seconds, x.get("first_word"), _median(x.get("shown", [])), _median(x.get("committed", [])),
                     x.get("after_finish"), e / max(n, 1), e1 / max(n, 1), r.error))
    long_after = [lat[id(r)].get("after_finish") for r in runs if r.clip is long_clip]
    holds = [k for k, v in conc.items() if v["failed"] == 0 and (v["first_word_median_s"] or 99) < 1.5
             and (v["after_finish_median_s"] or 99) < 2.0]
    result = {
        "machine": machine(), "mode": args.mode, "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "first_word_median_s": _median([lat[id(r)].get("first_word") for r in runs]),
        "word_shown_median_s": _median([v for r in runs for v in lat[id(r)].get("shown", [])]),
        "word_committed_median_s": _median([v for r in runs for v in lat[id(r)].get("committed", [])]),
        "long_answer_seconds": round(long_clip.seconds, 1),
        "scores_after_finish_median_s": _median(long_after),
        "wer_live": round(errors / max(ref_words, 1), 4), "wer_one_shot": round(errors_one / max(ref_words, 1), 4),
        "concurrency": conc, "holds_at_targets": max(holds) if holds else 0,
    }
    print(f"machine: {result['machine']}; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
          + (" (shared with other work while measuring)" if max(load_before[0], load_after[0]) > 1.5 else ""))
    print(f"{'answer':18} {'secs':>5} {'first word':>10} {'words shown':>11} {'committed':>9} "
          f"{'finish→scores':>13} {'WER live':>8} {'one-shot':>8}")
    for name, secs, first, shown, com, after, w_live, w_one, err in rows:
        f = lambda v: f"{v:.2f}" if v is not None else "—"  # noqa: E731
        print(f"{name:18} {secs:5.1f} {f(first):>10} {f(shown):>11} {f(com):>9} {f(after):>13} {w_live:8.3f} {w_one:8.3f}"
              + (f"  FAILED {err}" if err else ""))
    print(f"first words on the stream after spoken: median {result['first_word_median_s']} s over answers "
          f"(target < 1.5); every word: shown {result['word_shown_median_s']} s, committed "
          f"{result['word_committed_median_s']} s")
    print(f"scores after finish, {result['long_answer_seconds']} s answer: median {result['scores_after_finish_median_s']} s "
          f"of {len(long_after)} runs (target < 2)")
    print(f"WER live {result['wer_live']:.3f} vs one-shot {result['wer_one_shot']:.3f} over {ref_words} reference words "
          f"(target: live ≤ one-shot + 0.02)")
    for k, v in conc.items():
        print(f"{k} live answers at once ({mid.seconds:.0f} s each): first word median {v['first_word_median_s']} s, "
              f"words shown median {v['word_shown_median_s']} s, finish→scores median {v['after_finish_median_s']} s, "
              f"failed {v['failed']}")
    print(f"live answers at once within both latency targets: {result['holds_at_targets']} (target ≥ 3)")
    print("JSON: " + json.dumps(result))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
