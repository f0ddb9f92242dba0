"""Batch throughput: N resume generation items sent as one batch vs the same N jobs sent one by one.

    python -m bench.batch [--items 200] [--mode production|embedded] [--threads 4]

Both runs use the same live platform (HTTP server, broker, in-process Dramatiq worker, local LLM
engine) in this process. "One by one" is what a script without batches does: POST
/api/resume/generate per item, then poll each job. "Batch" is one POST /api/resume/generate/batch,
then wait for the batch's final SSE event. Prints items/s for each and the ratio.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._platform import machine, running_platform  # noqa: E402

RESUME = ("Jane Doe\njane@example.com\nExperience\nResponsible for building Flask APIs for 2 million users\n"
          "Worked on PostgreSQL migrations for 12 services\nSkills\nPython, Flask, PostgreSQL")


def _jds(n: int, tag: str) -> list[str]:
    return [f"We are hiring a Backend Engineer ({tag} {i}) to build services with Python, Flask, Redis and AWS."
            for i in range(n)]


def one_by_one(http: requests.Session, base: str, n: int) -> float:
    t0 = time.perf_counter()
    ids = []
    for jd in _jds(n, "single"):
        r = http.post(f"{base}/api/resume/generate", json={"job_description": jd, "resume_text": RESUME})
        r.raise_for_status()
        ids.append(r.json()["data"]["job_id"])
    for job_id in ids:
        while http.get(f"{base}/api/jobs/{job_id}").json()["data"]["status"] not in ("succeeded", "failed"):
            time.sleep(0.01)
    return time.perf_counter() - t0


def batched(http: requests.Session, base: str, n: int) -> float:
    t0 = time.perf_counter()
    r = http.post(f"{base}/api/resume/generate/batch", json={"job_descriptions": _jds(n, "batch"),
                                                              "resume_text": RESUME})
    r.raise_for_status()
    stream = r.json()["data"]["stream_url"]
    with http.get(base + stream, stream=True, timeout=(5, 600)) as resp:
        for line in resp.iter_lines(decode_unicode=True):
            if line == "event: succeeded":
                break
    elapsed = time.perf_counter() - t0
    batch = http.get(f"{base}/api/batches/{r.json()['data']['batch_id']}").json()["data"]
    assert batch["counts"]["succeeded"] == n, batch
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--mode", choices=("production", "embedded"), default="production")
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args()
    from core.tokens import mint_access_token

    with running_platform(args.mode, worker_threads=args.threads) as (base, settings):
        http = requests.Session()
        http.headers["Authorization"] = "Bearer " + mint_access_token(settings, "bench@example.com")
        batched(http, base, 10)  # warm-up: imports, connection pools
        single = one_by_one(http, base, args.items)
        batch = batched(http, base, args.items)
    n = args.items
    out = {"machine": machine(), "mode": args.mode, "worker_threads": args.threads, "items": n,
           "one_by_one_items_per_s": round(n / single, 1), "batch_items_per_s": round(n / batch, 1),
           "batch_vs_one_by_one": round(single / batch, 2)}
    print(f"machine: {out['machine']}  mode: {args.mode}  worker threads: {args.threads}")
    print(f"{n} resume generations sent one by one: {out['one_by_one_items_per_s']} items/s")
    print(f"{n} resume generations as one batch:    {out['batch_items_per_s']} items/s "
          f"(×{out['batch_vs_one_by_one']})")
    print("JSON: " + json.dumps(out))


if __name__ == "__main__":
    main()
