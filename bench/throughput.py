"""Job throughput: N light (canary) jobs submitted over HTTP and run to `succeeded` by real workers on
Redis and PostgreSQL, against bare Dramatiq moving N no-op messages on the same Redis, same run.

    python bench/throughput.py [--jobs 2000] [--processes 1] [--threads 4] [--burst 100] [--profile]

The platform figure includes everything a job costs: the HTTP request (auth, job row, `queued`
event, send), the claim, `started`, one progress step, the finish and `succeeded` (each event
stored in Postgres and published on Redis). --profile records the worker with py-spy while the
jobs run and prints where its time goes (a separate run after the measured ones). Baseline and
platform run interleaved (--rounds, bench/_machine.py) so both see the same machine; a round in which
other processes were busy is repeated once, and the output says how busy the machine was.
"""
from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._cluster import ROOT, Cluster, cluster, emit_json, machine  # noqa: E402
from bench._machine import interleaved  # noqa: E402

CLIENTS = 8
# One POST per job, sent by wrk (C, a few µs of CPU per request) when it is installed: a Python HTTP
# client costs ~2 ms of CPU per request on a 2-core machine, a share the platform's own processes
# would lose to the load generator (the bare-Dramatiq side sends from this process, with no HTTP).
# Each wrk thread stops once its connections have had their share of answers.
WRK_POST = """
local per_thread = {per_thread}
local done = 0
wrk.method = "POST"
wrk.body = '{{"payload": {{}}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
function response(status, headers, body)
  done = done + 1
  if status ~= 202 then io.stderr:write("status " .. status .. "\\n") end
  if done >= per_thread then wrk.thread:stop() end
end
"""


def baseline(c: Cluster, n: int, processes: int, threads: int) -> float:
    """Bare Dramatiq: a no-op actor, n messages, on the same Redis; messages per second."""
    import redis

    os.environ["BENCH_REDIS_URL"] = c.redis.url
    from bench import _noop

    counter = redis.Redis.from_url(c.redis.url)
    env = {**c.env, "BENCH_REDIS_URL": c.redis.url}
    worker = subprocess.Popen([sys.executable, "-m", "dramatiq", "bench._noop", "--processes", str(processes),
                               "--threads", str(threads), "--queues", "noop"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _noop.noop.send(0)  # warm-up: the worker is up once this is done
        while int(counter.get("bench-noop-done") or 0) < 1:
            time.sleep(0.05)
        counter.set("bench-noop-done", 0)
        t0 = time.perf_counter()
        for i in range(n):
            _noop.noop.send(i)
        while int(counter.get("bench-noop-done") or 0) < n:
            time.sleep(0.02)
        return n / (time.perf_counter() - t0)
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(30)


def _succeeded(engine) -> int:  # noqa: ANN001
    from sqlalchemy import text

    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM jobs WHERE status = 'succeeded'")).scalar_one())


def _jobs(engine) -> int:  # noqa: ANN001
    from sqlalchemy import text

    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM jobs")).scalar_one())


def _wrk_submit(c: Cluster, base: str, n: int, token: str, accepted: Callable[[], int]) -> None:
    """n POSTs to /api/ops/canary by wrk (2 threads, CLIENTS connections). Each thread stops sending
    at its share of answers, but wrk itself runs for its duration: it is interrupted once `accepted()`
    (the new job rows) reaches n; the caller counts the rows, as a connection in flight may add one."""
    script = c.root / "post-canary.lua"
    script.write_text(WRK_POST.format(per_thread=n // 2, token=token))
    wrk = subprocess.Popen(["wrk", "-t2", f"-c{CLIENTS}", "-d600s", "--timeout", "30s", "-s", str(script),
                            base + "/api/ops/canary"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while accepted() < n and wrk.poll() is None:
            time.sleep(0.02)
    finally:
        wrk.send_signal(signal.SIGINT)
        _, err = wrk.communicate(timeout=30)
    if "status" in err:
        raise RuntimeError(f"submissions failed: {err[:300]}")


def platform_run(c: Cluster, base: str, n: int, *, profile_pid: int | None = None, burst: int = 1,
                 client: str = "auto") -> dict:
    """Submit n canaries over HTTP (one POST per job by wrk, or by CLIENTS Python threads; or `burst`
    jobs per POST to /api/ops/canaries) and wait until all have succeeded."""
    from sqlalchemy import create_engine

    engine = create_engine(c.env["DATABASE_URL"])
    token = c.admin_token()
    start_count = _succeeded(engine)
    start_jobs = _jobs(engine)
    errors: list[str] = []
    use_wrk = burst == 1 and client != "python" and shutil.which("wrk") is not None

    def submit(part: int) -> None:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token}"
        if burst > 1:
            for i in range(part * burst, n, CLIENTS * burst):
                r = s.post(base + "/api/ops/canaries", json={"count": min(burst, n - i)}, timeout=60)
                if r.status_code != 202:
                    errors.append(r.text[:200])
            return
        for i in range(part, n, CLIENTS):
            r = s.post(base + "/api/ops/canary", json={"payload": {"i": i}}, timeout=60)
            if r.status_code != 202:
                errors.append(r.text[:200])

    spy = None
    if profile_pid:
        spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(profile_pid),
                                "--subprocesses", "--format", "raw", "--rate", "200", "--nonblocking",
                                "--output", str(c.root / "worker.folded")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    t0 = time.perf_counter()
    if use_wrk:
        _wrk_submit(c, base, n, token, lambda: _jobs(engine) - start_jobs)
        n = _jobs(engine) - start_jobs
    else:
        threads = [threading.Thread(target=submit, args=(k,)) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    submitted = time.perf_counter() - t0
    while _succeeded(engine) - start_count < n:
        if errors:
            raise RuntimeError(f"submissions failed: {errors[:3]}")
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    engine.dispose()
    if spy is not None:
        spy.send_signal(2)
        spy.wait(30)
    return {"jobs": n, "seconds": round(elapsed, 2), "jobs_per_s": round(n / elapsed, 1),
            "submit_per_s": round(n / submitted, 1), "client": "wrk" if use_wrk else f"{CLIENTS} Python threads"}


def top_frames(folded: Path, limit: int = 15) -> list[tuple[str, float]]:
    """Inclusive share of samples per function (our code and the libraries it calls)."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, num = line.rpartition(" ")
        if not num.isdigit():
            continue
        k = int(num)
        total += k
        seen = set()
        for frame in stack.split(";"):
            name = frame.split(" (")[0]
            loc = frame.split(" (")[1].rstrip(")") if " (" in frame else ""
            key = f"{name} ({loc.rsplit('/', 2)[-2] + '/' + loc.rsplit('/', 1)[-1] if '/' in loc else loc})"
            key = key.split(":")[0] + ")" if ":" in key else key
            if key not in seen:
                seen.add(key)
                counts[key] += k
    return [(name, 100.0 * k / total) for name, k in counts.most_common(limit)] if total else []


def _avg(runs: list[dict]) -> dict:
    out = dict(runs[0])
    for k in ("seconds", "jobs_per_s", "submit_per_s"):
        out[k] = round(sum(r[k] for r in runs) / len(runs), 2 if k == "seconds" else 1)
    return out


def run(jobs: int, processes: int, threads: int, profile: bool, profile_web: bool = False, top: int = 25,
        burst: int = 100, rounds: int = 2, client: str = "auto") -> dict:
    with cluster() as c:
        web = c.web(gunicorn=True, workers=2)
        worker = c.worker(processes=processes, threads=threads)
        platform_run(c, web, 20)  # warm-up: imports, connections, the first user row
        sides = {"baseline": lambda: baseline(c, jobs, processes, threads),
                 "platform": lambda: platform_run(c, web, jobs, client=client)}
        if burst > 1:
            sides["burst"] = lambda: platform_run(c, web, jobs, burst=burst)
        r = interleaved(sides, rounds)  # baseline, platform(, bursts), baseline, platform(, bursts)
        base_rate = r.mean("baseline")
        result = _avg(r.values["platform"])
        out = {"machine": machine(), "baseline_msgs_per_s": round(base_rate, 1), **result,
               "ratio": round(result["jobs_per_s"] / base_rate, 3), "processes": processes, "threads": threads,
               "round_ratios": [round(p["jobs_per_s"] / b, 3) for p, b in zip(r.values["platform"],
                                                                              r.values["baseline"])],
               "load": r.as_dict(), "load_note": r.note()}
        if burst > 1:
            bursts = _avg(r.values["burst"])
            out["burst"] = {**bursts, "size": burst, "ratio": round(bursts["jobs_per_s"] / base_rate, 3)}
        target = c.web_pid if profile_web else (worker.pid if profile else None)
        if target:  # a separate run: py-spy's sampling must not weigh on the measured rounds
            platform_run(c, web, jobs, profile_pid=target)
            if (c.root / "worker.folded").exists():
                out["profile_top"] = [(n, round(p, 1)) for n, p in top_frames(c.root / "worker.folded", top)]
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--profile", action="store_true", help="record the worker with py-spy")
    ap.add_argument("--profile-web", action="store_true", help="record the web processes with py-spy")
    ap.add_argument("--top", type=int, default=25, help="how many profile lines to print")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds (baseline, platform, ...)")
    ap.add_argument("--client", choices=("auto", "python"), default="auto",
                    help="who sends the one-POST-per-job requests: wrk when installed (auto), or Python threads")
    ap.add_argument("--burst", type=int, default=100,
                    help="also submit the jobs in bursts of this many per POST /api/ops/canaries (1: skip)")
    args = ap.parse_args()
    out = run(args.jobs, args.processes, args.threads, args.profile, args.profile_web, args.top, args.burst,
              args.rounds, args.client)
    print(f"machine: {out['machine']}")
    print(f"bare Dramatiq, {args.jobs} no-op messages: {out['baseline_msgs_per_s']:.0f} msg/s")
    print(f"platform, {args.jobs} canary jobs over HTTP → succeeded: {out['jobs_per_s']:.1f} jobs/s "
          f"({out['seconds']} s; HTTP accepts {out['submit_per_s']:.0f}/s; sent by {out['client']}); "
          f"worker {args.processes}×{args.threads}")
    print(f"ratio platform/bare: {out['ratio']:.3f}  (target ≥ 0.5; per round {out['round_ratios']})")
    if "burst" in out:
        b = out["burst"]
        print(f"platform, {args.jobs} canary jobs in bursts of {b['size']} per POST → succeeded: "
              f"{b['jobs_per_s']:.1f} jobs/s ({b['seconds']} s; HTTP accepts {b['submit_per_s']:.0f} jobs/s)")
        print(f"ratio platform (bursts)/bare: {b['ratio']:.3f}  (target ≥ 0.5)")
    print(f"machine during the runs: {out['load_note']}")
    for name, pct in out.get("profile_top", []):
        print(f"  {pct:5.1f}%  {name}")
    emit_json(out)


if __name__ == "__main__":
    main()
