"""LLM job benchmark: the platform's added latency per LLM job against calling the same
OpenAI-compatible server directly with the openai client, in one run.

    python bench/llm.py [--runs 50] [--mode cluster|production|embedded] [--json]

Both sides talk to one local fake OpenAI-compatible server (tests/support/fake_openai.py), so the
model's own time is the same and tiny. Platform: HTTP POST /api/interviews/{id}/questions (count 1)
→ job row → broker → worker → jobs.llm (openai engine, structured output) → rows → `succeeded` event,
timed until the job's SSE stream (opened after the POST answers, as a client would) delivers
`succeeded`. Direct: one `chat.completions.create` with the same kind of prompt. Prints median/p95
of both and the added ms at the median (target < 20 ms), and how busy the machine was (a run on a
busy machine is repeated once; bench/_machine.py).
`cluster` (default) runs gunicorn and a worker as their own processes on a private Postgres (fsync
on) and Redis, as deployed; `production`/`embedded` run everything inside this process (one GIL).
"""
from __future__ import annotations

import argparse
import json
from contextlib import contextmanager
from typing import Iterator
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._machine import measure  # noqa: E402
from bench._platform import machine, running_platform, seconds_until_done  # noqa: E402
from core.config import Settings  # noqa: E402
from core.tokens import mint_access_token  # noqa: E402
from jobs.interviews import QuestionPlan  # noqa: E402
from jobs.llm.base import schema_instruction  # noqa: E402
from tests.support.fake_openai import FakeOpenAI  # noqa: E402

PROMPT = ("Write 1 behavioral interview questions for a software engineer candidate at medium difficulty. "
          "For each, list the key points a strong answer covers. Do not repeat these questions:\n(none yet)")


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def _platform_run(http: requests.Session, base: str, auth: dict[str, str]) -> float:
    iid = http.post(f"{base}/api/interviews", headers=auth, json={}, timeout=10).json()["data"]["id"]
    t0 = time.perf_counter()
    r = http.post(f"{base}/api/interviews/{iid}/questions", headers=auth, json={"count": 1}, timeout=10)
    r.raise_for_status()
    return seconds_until_done(http, base + r.json()["data"]["stream_url"], t0, timeout=60)


def _direct_run(client, model: str) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    resp = client.chat.completions.create(model=model, response_format={"type": "json_object"}, messages=[
        {"role": "system", "content": schema_instruction(QuestionPlan)}, {"role": "user", "content": PROMPT}])
    QuestionPlan.model_validate_json(resp.choices[0].message.content)
    return time.perf_counter() - t0


@contextmanager
def _platform(mode: str, env: dict[str, str]) -> Iterator[tuple[str, Settings]]:
    if mode != "cluster":
        with running_platform(mode, worker_threads=4, **env) as out:
            yield out
        return
    from bench._cluster import cluster

    with cluster(**env) as c:
        base = c.web(gunicorn=True, workers=1)
        c.worker(processes=1, threads=4)
        yield base, Settings.from_env(env=c.env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--mode", choices=("cluster", "production", "embedded"), default="cluster",
                    help="cluster: gunicorn and a worker as separate processes on a private Postgres and Redis "
                         "(as deployed); production/embedded: everything inside this process")
    ap.add_argument("--poll-ms", type=int, default=1000,
                    help="VOICEMOCK_WORKER_POLL_MS: the idle worker's longest wait between broker polls")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args()

    import openai

    fake = FakeOpenAI.start()
    try:
        env = {"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": fake.url, "VOICEMOCK_WORKER_POLL_MS": str(args.poll_ms)}
        with _platform(args.mode, env) as (base, settings):
            token = mint_access_token(settings, "bench@example.com", email="bench@example.com")
            auth = {"Authorization": f"Bearer {token}"}
            http = requests.Session()
            direct = openai.OpenAI(api_key="sk-bench", base_url=fake.url, max_retries=0)
            for _ in range(args.warmup):
                _platform_run(http, base, auth)
                _direct_run(direct, settings.llm_model)

            def measured() -> tuple[list[float], list[float]]:
                plat, raw = [], []
                for _ in range(args.runs):  # interleaved, so drift hits both sides alike
                    raw.append(_direct_run(direct, settings.llm_model))
                    plat.append(_platform_run(http, base, auth))
                return plat, raw

            (plat, raw), load = measure(measured)  # a busy run is repeated once (bench/_machine.py)
    finally:
        fake.stop()

    ms = lambda v: round(v * 1000, 2)  # noqa: E731
    out = {"machine": machine(), "mode": args.mode, "runs": args.runs, "worker_poll_ms": args.poll_ms,
           "direct_median_ms": ms(statistics.median(raw)), "direct_p95_ms": ms(_pct(raw, 0.95)),
           "platform_median_ms": ms(statistics.median(plat)), "platform_p95_ms": ms(_pct(plat, 0.95)),
           "added_ms_at_median": ms(statistics.median(plat) - statistics.median(raw)), "target_added_ms": 20,
           "load": load.as_dict(), "load_note": load.note()}
    if args.json:
        print("JSON: " + json.dumps(out))
        return
    print(f"machine: {out['machine']}  mode: {args.mode}  runs: {args.runs}  worker poll: {args.poll_ms} ms")
    print(f"{'':28}{'median ms':>12}{'p95 ms':>10}")
    print(f"{'direct openai client':28}{out['direct_median_ms']:>12}{out['direct_p95_ms']:>10}")
    print(f"{'platform (HTTP → succeeded)':28}{out['platform_median_ms']:>12}{out['platform_p95_ms']:>10}")
    verdict = "within" if out["added_ms_at_median"] < 20 else "over"
    print(f"added at the median: {out['added_ms_at_median']} ms ({verdict} the 20 ms target)")
    print(f"machine during the runs: {out['load_note']}")
    print("JSON: " + json.dumps(out))


if __name__ == "__main__":
    main()
