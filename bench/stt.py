"""Speech benchmark: accuracy on recorded speech and raw faster-whisper against the platform, one run.

    python bench/stt.py [--runs 5] [--accuracy-runs 10] [--baseline-runs 3] [--mode production|embedded]
                        [--model FOLDER_OR_SIZE] [--beam N] [--no-platform] [--results docs/RESULTS.md]

Accuracy (the shipped decoding, `jobs.stt`): word error rate over the recorded clips in
tests/fixtures/speech (aggregated over their reference words, and per clip), invented words
(hypothesis words after the last word aligned to the reference, summed over every run), distinct
transcripts per clip over `--accuracy-runs` runs, filler recall on the espeak filler fixtures, and
whether each answer's last words are kept. `--baseline-runs` measures the same on the decoding used
before issue 12 (faster-whisper's random temperature fallback, no VAD, no guards), same model, same run.

Speed: raw transcription time of answer_star.wav, the platform's upload→succeeded time (HTTP upload,
probe, job row, broker, worker, transcription, analytics, scoring, events), their ratio (target ≤ 1.15
on a warm worker), the real-time factor, and how many times the model was loaded in this process.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._platform import machine  # noqa: E402
from jobs import wer  # noqa: E402
from jobs.delivery import analyze_delivery  # noqa: E402
from jobs.stt import FILLER_PROMPT, get_stt, load_count, probe_audio  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
DEFAULT_AUDIO = FIXTURES / "answer_star.wav"
SPEECH = FIXTURES / "speech"
# The espeak answers and what they say (tests/fixtures/make_audio.sh, fillers.json).
SCRIPTS = {
    "answer_star.wav": "At the time, our checkout API was slow, um, around eight hundred milliseconds. My task was "
                       "to fix it. I decided to add a Redis cache, uh, and batch the queries. In the end, we reduced "
                       "latency by sixty percent.",
    "answer_tail.flac": "Well, um, I led the team that rebuilt our payment service. We had, uh, a lot of timeouts. I "
                        "measured every call and found a slow query. I added an index and a small cache. After that, "
                        "the timeouts went away and customers stopped complaining.",
    "fillers.wav": json.loads((FIXTURES / "fillers.json").read_text())["text"],
}
SECTION = "## Speech (bench/stt.py)"

Transcribe = Callable[[str], tuple[str, list[Any]]]  # path -> (text, words with text/start/end)


def _shipped(stt: Any) -> Transcribe:
    def run(path: str) -> tuple[str, list[Any]]:
        t = stt.transcribe(path)
        return t.text, t.words
    return run


def _before_issue_12(stt: Any) -> Transcribe:
    """The decoding shipped before issue 12, on the same loaded model."""
    def run(path: str) -> tuple[str, list[Any]]:
        segments, _ = stt._model.transcribe(path, language="en", beam_size=stt.beam_size, word_timestamps=True,
                                             condition_on_previous_text=False, initial_prompt=FILLER_PROMPT,
                                             vad_filter=False)
        segments = list(segments)
        words = [{"text": w.word.strip(), "start": w.start, "end": w.end} for s in segments for w in s.words or ()]
        return " ".join(s.text.strip() for s in segments).strip(), words
    return run


def _expected_fillers(name: str, script: str) -> Counter:
    if name == "fillers.wav":
        return Counter(json.loads((FIXTURES / "fillers.json").read_text())["fillers"])
    # The script's own fillers, found by the same analytics on evenly spaced words.
    words = [{"text": w, "start": i * 0.4, "end": i * 0.4 + 0.3} for i, w in enumerate(script.split())]
    return Counter(analyze_delivery(words)["fillers"]["by_word"])


def accuracy(transcribe: Transcribe, runs: int) -> dict[str, Any]:
    refs = json.loads((SPEECH / "refs.json").read_text())
    clips = [(SPEECH / name, ref["transcript"], True) for name, ref in refs.items()]
    clips += [(FIXTURES / name, script, False) for name, script in SCRIPTS.items()]
    per_clip: dict[str, dict[str, Any]] = {}
    found_fillers: dict[str, Counter] = {}
    seconds = audio = 0.0
    for _ in range(runs):
        for path, ref, _recorded in clips:
            t0 = time.perf_counter()
            text, words = transcribe(str(path))
            seconds += time.perf_counter() - t0
            audio += probe_audio(str(path)).duration
            score = wer.score(ref, text)
            row = per_clip.setdefault(path.name, {"texts": [], "invented": 0, "lost_end": 0, "score": score})
            row["texts"].append(text)
            row["invented"] += score.inserted_past_end
            row["lost_end"] += score.deleted_at_end
            if path.name in SCRIPTS and path.name not in found_fillers:
                found_fillers[path.name] = Counter(analyze_delivery(words)["fillers"]["by_word"])
    recorded = [p.name for p, _, rec in clips if rec]
    errors = sum(per_clip[n]["score"].errors for n in recorded)
    ref_words = sum(per_clip[n]["score"].reference_words for n in recorded)
    fillers = {}
    for name, script in SCRIPTS.items():
        expected = _expected_fillers(name, script)
        fillers[name] = [sum((expected & found_fillers[name]).values()), sum(expected.values())]
    return {
        "runs": runs,
        "wer_recorded": round(errors / ref_words, 4),
        "errors": errors,
        "reference_words": ref_words,
        "invented_words": sum(r["invented"] for r in per_clip.values()),
        "max_distinct_transcripts": max(len(set(r["texts"])) for r in per_clip.values()),
        "filler_recall": fillers,
        "end_words_lost": sum(r["lost_end"] for r in per_clip.values()),
        "real_time_factor_all_clips": round(seconds / audio, 4),
        "clips": {name: {"wer": round(r["score"].wer, 3), "errors": r["score"].errors,
                         "words": r["score"].reference_words, "invented": r["invented"],
                         "distinct": len(set(r["texts"])), "text": r["texts"][0]}
                  for name, r in per_clip.items()},
    }


def speed(args: argparse.Namespace, stt: Any) -> dict[str, Any]:
    import requests

    from bench._platform import running_platform, seconds_until_done
    from core.tokens import mint_access_token

    def platform_run(base: str, token: str, audio: Path) -> float:
        auth = {"Authorization": f"Bearer {token}"}
        started = requests.post(f"{base}/session/start", headers=auth, timeout=10,
                                json={"job_type": "software_engineer", "question_count": 20}).json()["data"]
        t0 = time.perf_counter()
        r = requests.post(f"{base}/turn", headers={"X-Session-Token": started["token"]}, timeout=30,
                          files={"audio": (audio.name, audio.read_bytes(), "audio/wav")})
        r.raise_for_status()
        return seconds_until_done(requests.Session(), base + r.json()["data"]["stream_url"], t0)

    duration = probe_audio(str(args.audio)).duration
    raw, plat = [], []
    if args.no_platform:
        stt.transcribe(str(args.audio))
        for _ in range(args.runs):
            t0 = time.perf_counter()
            stt.transcribe(str(args.audio))
            raw.append(time.perf_counter() - t0)
        raw_med = statistics.median(raw)
        return {"audio_seconds": round(duration, 2), "raw_median_s": round(raw_med, 3),
                "real_time_factor": round(raw_med / duration, 4)}
    with running_platform(args.mode, worker_threads=1) as (base, settings):
        token = mint_access_token(settings, "bench@example.com", email="bench@example.com")
        stt.transcribe(str(args.audio))  # warm the model
        platform_run(base, token, args.audio)  # warm the worker path
        for _ in range(args.runs):  # interleaved, so drift hits both equally
            t0 = time.perf_counter()
            stt.transcribe(str(args.audio))
            raw.append(time.perf_counter() - t0)
            plat.append(platform_run(base, token, args.audio))
    raw_med, plat_med = statistics.median(raw), statistics.median(plat)
    return {
        "audio_seconds": round(duration, 2), "raw_median_s": round(raw_med, 3),
        "platform_median_s": round(plat_med, 3), "overhead_ratio": round(plat_med / raw_med, 3),
        "overhead_ms": round((plat_med - raw_med) * 1000, 1), "real_time_factor": round(raw_med / duration, 4),
    }


def _accuracy_lines(label: str, a: dict[str, Any]) -> list[str]:
    fillers = ", ".join(f"{n} {hit}/{tot}" for n, (hit, tot) in a["filler_recall"].items())
    return [
        f"{label} ({a['runs']} runs of every clip)",
        f"  WER, recorded speech          {a['wer_recorded']:.3f}   ({a['errors']} errors / {a['reference_words']} "
        f"reference words; target ≤ 0.08)",
        f"  invented words past the end   {a['invented_words']}   (all clips, all runs; target 0)",
        f"  distinct transcripts per clip {a['max_distinct_transcripts']} at most   (target 1)",
        f"  filler recall                 {fillers}",
        f"  words lost at the end         {a['end_words_lost']}   (reference words after the last one heard, "
        "all clips, all runs; target 0)",
        f"  time/audio over these clips   {a['real_time_factor_all_clips']:.3f}   (short clips pay a full 30 s "
        "window each)",
    ]


def report(args: argparse.Namespace, result: dict[str, Any]) -> str:
    lines = [f"machine: {result['machine']}", f"model: {result['model']}, beam {result['beam_size']}", ""]
    after, before = result["accuracy"], result.get("baseline")
    lines += ["per clip: WER (errors/words), invented words, distinct transcripts"
              + (" | the same before issue 12" if before else "")]
    for name, c in after["clips"].items():
        b = f"   | {before['clips'][name]['wer']:.3f} ({before['clips'][name]['errors']}/" \
            f"{before['clips'][name]['words']}), {before['clips'][name]['invented']}, " \
            f"{before['clips'][name]['distinct']}" if before else ""
        lines.append(f"  {name:20} {c['wer']:.3f} ({c['errors']}/{c['words']}), {c['invented']}, {c['distinct']}{b}")
    lines += [""] + _accuracy_lines("shipped decoding", after)
    if before:
        lines += _accuracy_lines("before issue 12 (temperature fallback, no VAD, no guards)", before)
    s = result["speed"]
    lines += ["", f"speed: {Path(args.audio).name}, {s['audio_seconds']:.1f} s; {args.runs} runs, warm model"
              + ("" if args.no_platform else f", {args.mode} mode, interleaved with the platform"),
              f"raw faster-whisper           median {s['raw_median_s'] * 1000:8.1f} ms",
              f"real-time factor (raw)       {s['real_time_factor']:.4f}   (target ≤ 0.12)"]
    if not args.no_platform:
        lines += [f"platform upload→succeeded    median {s['platform_median_s'] * 1000:8.1f} ms",
                  f"ratio platform/raw           {s['overhead_ratio']:.3f}   (target ≤ 1.15; +{s['overhead_ms']} ms)"]
    lines.append(f"model loads in this process  {result['model_loads_in_process']}")
    return "\n".join(lines)


def write_section(path: Path, command: str, seconds: float, text: str, note: str) -> None:
    """Replace only the speech section of docs/RESULTS.md."""
    doc = path.read_text()
    body = f"{SECTION}\n\n`{command}` ({seconds:.0f} s){note}\n\n```\n{text}\n```\n"
    pattern = re.compile(re.escape(SECTION) + r"\n.*?(?=\n## |\Z)", re.S)
    doc = pattern.sub(lambda _: body, doc, count=1) if pattern.search(doc) else doc.rstrip("\n") + "\n\n" + body
    path.write_text(doc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--audio", type=Path, default=DEFAULT_AUDIO)
    ap.add_argument("--runs", type=int, default=5, help="timed runs of --audio")
    ap.add_argument("--accuracy-runs", type=int, default=10)
    ap.add_argument("--baseline-runs", type=int, default=0, help="runs of the pre-issue-12 decoding (0: skip)")
    ap.add_argument("--mode", choices=("production", "embedded"), default="production")
    ap.add_argument("--model", default=None, help="a faster-whisper model folder or size (default: the settings')")
    ap.add_argument("--beam", type=int, default=None, help="beam size (default: the settings')")
    ap.add_argument("--no-platform", action="store_true", help="model figures only, no platform run")
    ap.add_argument("--results", type=Path, help="write the report into this RESULTS.md's speech section")
    ap.add_argument("--note", default="", help="a sentence written beside the figures (e.g. machine shared)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    args = ap.parse_args()

    from core.config import Settings

    started = time.perf_counter()
    settings = Settings.from_env()
    model = args.model if args.model is not None else settings.stt_model
    beam = args.beam or settings.stt_beam_size
    stt = get_stt(model, settings.stt_compute_type, settings.stt_cpu_threads, beam)
    result: dict[str, Any] = {"machine": machine(), "model": model or "bundled tiny.en", "beam_size": beam}
    result["accuracy"] = accuracy(_shipped(stt), args.accuracy_runs)
    if args.baseline_runs:
        result["baseline"] = accuracy(_before_issue_12(stt), args.baseline_runs)
    result["speed"] = speed(args, stt)
    result["model_loads_in_process"] = load_count()
    # bench/run_all.py reads these two at the top level for its summary table.
    result["overhead_ratio"] = result["speed"].get("overhead_ratio")
    result["real_time_factor"] = result["speed"]["real_time_factor"]
    if args.json:
        print("JSON: " + json.dumps(result))
        return
    text = report(args, result)
    print(text)
    print("JSON: " + json.dumps(result))
    if args.results:
        argv, skip = [], False
        for arg in sys.argv[1:]:  # the command as one would rerun it, without where it wrote
            if skip or arg in ("--results", "--note"):
                skip = not skip
                continue
            argv.append(arg)
        command = "python " + " ".join(["bench/stt.py", *argv])
        write_section(args.results, command, time.perf_counter() - started, text,
                      f". {args.note}" if args.note else "")


if __name__ == "__main__":
    main()
