"""Scaling: job throughput with 1, 2 and 4 worker processes (4 threads each) on the same web, Redis
and PostgreSQL, in one run; each figure is also given as a ratio to the 1-process figure.

    python bench/scaling.py [--jobs 800] [--processes 1,2,4]

The jobs are pre-queued (submitted with no worker running), then the workers start and drain
them, so the figure is the workers' rate, not the HTTP front's.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._cluster import Cluster, cluster, emit_json, machine  # noqa: E402
from bench.throughput import _succeeded, platform_run  # noqa: E402


def drain_rate(c: Cluster, base: str, n: int, processes: int) -> float:
    from sqlalchemy import create_engine

    engine = create_engine(c.env["DATABASE_URL"])
    before = _succeeded(engine)
    c.stop_procs_of("worker")
    platform_run_submit_only(c, base, n)
    worker = c.worker(processes=processes, threads=4)
    # Time from the first job picked up (workers start-up excluded) to the last one done.
    while _succeeded(engine) == before:
        time.sleep(0.01)
    t0 = time.perf_counter()
    first = _succeeded(engine)
    while _succeeded(engine) - before < n:
        time.sleep(0.05)
    rate = (n - (first - before)) / (time.perf_counter() - t0)
    worker.stop()
    engine.dispose()
    return rate


def platform_run_submit_only(c: Cluster, base: str, n: int) -> None:
    import requests

    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {c.admin_token()}"
    for i in range(n):
        r = s.post(base + "/api/ops/canary", json={"payload": {"i": i}}, timeout=60)
        r.raise_for_status()


def run(n: int, counts: list[int]) -> dict:
    with cluster() as c:
        base = c.web(gunicorn=True, workers=2)
        w = c.worker()
        platform_run(c, base, 20)  # warm-up
        w.stop()
        c.started.remove(w)
        rates = {p: drain_rate(c, base, n, p) for p in counts}
    one = rates[counts[0]]
    return {"machine": machine(), "cores": os.cpu_count(), "jobs": n,
            "jobs_per_s": {str(p): round(r, 1) for p, r in rates.items()},
            "speedup": {str(p): round(r / one, 2) for p, r in rates.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=3000)
    ap.add_argument("--processes", default="1,2,4")
    args = ap.parse_args()
    out = run(args.jobs, [int(x) for x in args.processes.split(",")])
    print(f"machine: {out['machine']}")
    print(f"{args.jobs} pre-queued canary jobs drained by N worker processes × 4 threads:")
    for p, r in out["jobs_per_s"].items():
        print(f"  {p} process(es): {r:7.1f} jobs/s   ×{out['speedup'][p]:.2f} vs 1")
    emit_json(out)


if __name__ == "__main__":
    main()
