"""`make bench`: run every benchmark (each in its own process, on its own private Redis and
PostgreSQL) and regenerate docs/RESULTS.md with the figures and the machine they came from.

    python bench/run_all.py [--quick] [--busy-core] [--settle SECONDS]

Every bench run is watched by bench/_machine.py: the load average before it and the CPU that other
processes took during it; figures taken on a busy machine carry a warning (the summary's last
column) and such a run is repeated once. --busy-core runs the ratio benches a second time with one
core kept busy by a spinning Python process and reports both tables.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._cluster import machine  # noqa: E402
from bench._machine import Load, Probe, settle, spinning_core, stop_cleanly_on_sigterm  # noqa: E402

BENCHES = [  # (name, script, args, quick args)
    ("Job throughput", "throughput.py", ["--jobs", "2000", "--profile"], ["--jobs", "300"]),
    ("Scaling with worker processes", "scaling.py", ["--jobs", "3000"], ["--jobs", "150", "--processes", "1,2"]),
    ("SSE fan-out", "sse_fanout.py", ["--clients", "1000"], ["--clients", "200"]),
    ("API latency", "api_latency.py", ["--seconds", "8"], ["--seconds", "3"]),
    ("Speech (bench/stt.py)", "stt.py", [], ["--runs", "2"]),
    ("Live answers (bench/live.py)", "live.py", [], ["--long-runs", "1", "--concurrency", "1"]),
    ("LLM job latency (bench/llm.py)", "llm.py", ["--runs", "40"], ["--runs", "5"]),
    ("Batch runs (bench/batch.py)", "batch.py", ["--items", "200"], ["--items", "30"]),
]

BUSY_CORE_BENCHES = {"throughput.py", "api_latency.py", "llm.py", "sse_fanout.py"}  # the ratio targets

NOTES = """### Reading these figures

- The machine is small (2 cores) and shared: web, workers, PostgreSQL, Redis and the load generator
  all compete for it, and other test runs may be going on at the same time, so run-to-run spread is
  ±30 %. Compare the ratios within one run, not figures across runs.
- Busy machine (`bench/_machine.py`): every bench run records the 1-minute load average before it
  and the CPU other processes took during it (`/proc/stat` minus the bench's own process tree and its
  private PostgreSQL; irq time left out). A run is busy when other processes took more than 0.25 core
  on average, or the load average was above 1.0 when the bench started (+1 per deliberate spinner);
  its figures carry `⚠ BUSY MACHINE` in the bench's output and `⚠ busy` in the summary's last column
  (machine during the run), and it is repeated once, the quieter run kept. The ratio benches
  (throughput, API latency, SSE fan-out, LLM) take baseline and platform interleaved (baseline,
  platform, baseline, platform; figures are the rounds' means, SSE percentiles pool the rounds) so
  both sides see the same machine. The bare-Flask baseline of `GET /api/jobs/{id}` reads the job's row
  from the same PostgreSQL. `python bench/run_all.py --busy-core` runs the ratio benches again with
  one core kept busy by a spinning Python process and adds a second table.
- Job throughput: every accepted job is a committed row plus its stored, numbered `queued` event,
  then a broker send; every run job is a claim + `started`, a progress step, a finish +
  `succeeded` (each stored in PostgreSQL and published on Redis). The bare-Dramatiq baseline moves a
  message with no database and no HTTP at all, sent from the bench's own process. One POST per job
  is sent by wrk (`bench/throughput.py --client python` sends from Python threads instead, which
  took ~2 ms of the machine's CPU per request). Submitted in bursts (`POST /api/ops/canaries`, one
  commit and one Redis round trip per burst) the worker is the bound: 0.60–0.75 on the AMD EPYC
  (2026-12-01), 0.32–0.34 on a Xeon 2.0 GHz (the worker's 4–5 ms of CPU a job there).
  Both run with the default worker (1 process × 4 threads) against Dramatiq with the same
  processes and threads; the 2,000-job runs last seconds, so expect ±15 % between runs.
- Where the CPU of one POST per job goes (session 4, issue 17; every process's CPU time during 2,000
  canaries, a 2-core Xeon 2.0 GHz): before, web (gunicorn, 2 gevent workers) 8.0 ms, worker 5.2
  ms, PostgreSQL 4.1 ms, Redis 0.8 ms, the Python load generator 2.4 ms per job, ~20 ms of CPU per
  job on 2 cores (≈ 80–90 jobs/s); bare Dramatiq spends ≈ 3 ms per message in all. After the cuts
  below: web 6.0–6.6 ms, worker 4.0–4.8 ms, PostgreSQL 2.5–3.3 ms, Redis 0.6 ms, wrk 0.1 ms
  (110–150 jobs/s). In-process, with the test client: `GET /healthz` 0.75 ms of CPU, `GET
  /api/jobs/{id}` 3.1 ms, `POST /api/ops/canary` 5.3 ms; of a request, the ORM's read of the
  caller's row is ~0.7 ms, a signature check was 0.32 ms. Cuts kept: verified token claims are
  remembered per token until its `exp` (`core/tokens.py`; 0.32 → 0.002 ms); pooled PostgreSQL
  connections are pinged only after resting 2 s in the pool instead of on every checkout
  (`core/db.py`; a round trip per request); the broker sends Dramatiq's dispatch script by SHA
  (redis-py asked `SCRIPT EXISTS` before every pipeline with a script: a round trip per enqueue and
  per ack flush, `workers/doorbell.py`); the worker's transitions are server-side prepared
  statements (`core/prepared.py`; PostgreSQL 2.4 → 1.3 ms per job for them, and progress no longer
  walks the status index); the event publisher writes its batches on a Redis connection of its own
  instead of through redis-py's pipeline (0.34 → 0.13 ms of CPU per event); an SSE event is
  serialised once for all its subscribers. The LLM job's timeline (POST answered / job started /
  finished / `succeeded` on the stream) went from 15 / 14 / 46 / 49 ms to 9 / 9 / 28 / 29 ms on a
  quiet machine. Tried and dropped: gunicorn gthread workers (2 × 8 threads: 7.2 ms of web CPU per
  job against gevent's 6.6; SSE needs gevent anyway); one gevent worker instead of two measured
  6.8 ms per job (within the noise); a hub-wide keep-alive tick so SSE waits need no timer of their
  own (blocking gets without a timeout woke late under gevent: p99 1.8 s); the rate limiter is
  switched off in these benches (`VOICEMOCK_RATE_LIMITS=0`), so its round trip is not in them.
- Why one POST per job stays far from 0.5 of bare Dramatiq here: the ratio asks the whole platform
  (an HTTP request through Flask with authentication, validation and an envelope; a row and an
  event in PostgreSQL; a claim, a progress step and a finish with their events) to cost at most
  twice what Dramatiq spends moving one message with no database (≈ 3 ms of CPU on the Xeon, ≈ 2 ms
  on the EPYC), i.e. ≈ 4–6 ms per job in all; the Python web front alone spends about that (0.30 on
  the EPYC, 0.145 on the Xeon). Reaching it would take
  a front that is not a Python WSGI app, or jobs that are not rows; bursts (`/api/ops/canaries`)
  are the way to submit many jobs quickly (about twice the jobs/s of one POST per job here).
- Fixes made from the profiles (session 2; one POST per job 52 → 200–300 jobs/s, the worker alone ~700): a job's state change
  and its event are one statement on PostgreSQL (a data-modifying CTE: update the row, number the
  stream, insert the event) on an autocommit engine without pre-ping, instead of a transaction of
  six or seven round trips (`core/transitions.py`); the worker hands the claimed row to the actor
  instead of reading it again, and does not look for a cancel it has just checked; one lease-keeper
  thread per process renews every running job in one UPDATE instead of a thread per job; a new
  job's row and `queued` event are one statement, and the event is not published (no one can be
  listening to a stream whose id has not been handed out); message and doorbell ring go to Redis in
  one pipeline; events are published by one background sender per process, pipelined; acks are
  recorded by worker threads and sent in one pipeline by the consumer thread; a consumer with a
  full prefetch looks again after 2 ms instead of backing off towards the idle timeout (Dramatiq's
  own consumer does, leaving worker threads idle under load). Earlier (session 1, 15 → 52 jobs/s):
  psycopg2 yields to gevent under gunicorn (`webapp/cooperative.py`), events commit without waiting
  for the WAL flush (a crash can lose only their last moments, never reorder them; the sweeper
  re-sends a job whose state did not stick), idle Redis consumers block on a doorbell (`BLPOP`).
- Scaling: one worker process now drains ~700 jobs/s, and with PostgreSQL and Redis on the same
  two cores the machine is full at one or two processes; four only add contention. (Session 1,
  before the per-job costs came down: 83 → 103 → 106 jobs/s for 1, 2, 4 processes.) On a bigger
  machine add processes up to the cores PostgreSQL leaves free.
- Tried and dropped: more worker threads raise the platform and the bare baseline alike (8 threads:
  756 vs 1880 msg/s). (Session 4 also dropped reading the caller's row and writing a lone job through
  the autocommit engine, measured slower; session 7 made both prepared statements and kept them, below.)
- Fewer round trips per request (session 7). Authentication reads the caller's principal (id,
  subject, email, roles, plan, deleted) with one prepared statement outside any transaction
  (`core/principals.py`) instead of loading the ORM row in the request's transaction; handlers that
  need the row (LLM settings, account changes) load it on first use. A deleted account, a revoked
  admin role and a new plan still counted from the next request: nothing was cached (session 8
  keeps principals until they change, below). A request that
  writes nothing but a job (`enqueue` with an untouched session) writes its row and `queued` event
  with one prepared statement on the readers' pool, whose commits wait for the WAL flush
  (`Transitions.create_alone`): `POST /api/ops/canary` went from BEGIN, SELECT, INSERT, COMMIT to two
  statements. The event bus subscribes a process to the streams it has listeners for, confirmed before
  a stream replays its log (`core/bus_listener.py`), instead of a pattern subscription that made every
  web process receive and parse every event of the platform (3 per job, times the web processes).
  Per-process CPU of one POST per job, each change against the commit before it, runs interleaved:
  web 2.83–3.14 → 2.13–2.53 ms and PostgreSQL 1.31–1.46 → 1.05–1.19 ms a job for the first two
  (275–305 → 322–345 jobs/s); web −0.27 to −0.59 ms and Redis −0.05 to −0.11 ms more for the bus (those
  pairs ran with a stray spinner on one core). Measured and not kept: hiredis (redis-py's parser in C:
  worker −0.1 ms a job in two pairs of three, web unchanged); gunicorn's pywsgi gevent worker (bare
  Flask 0.19 against 0.26 ms of CPU a request, the platform within the noise). The principal read
  first opened database connections while a thousand SSE clients were connected, which showed that
  `core/pgwait.py` waited with `select.select`, which refuses descriptors above 1024 (an unhandled
  error on such a stream): it polls now.
- Less client-side work per statement and per Redis batch (session 8). The prepared statements of a
  job (the caller's principal, the job's row, claim, progress, finish) run on the driver's cursor of
  a pooled connection (`core/prepared.py`) instead of through SQLAlchemy's Connection and result: 109
  against 48 µs of CPU a statement, errors still SQLAlchemy's. A web process keeps the principals it
  read until any account's authorisation changes (`core/principal_cache.py`): a trigger on `users`
  sends NOTIFY, each web process drains its LISTEN connection without waiting before a lookup and then
  forgets everything; nothing is served while it is not listening, and nothing for more than 5 s. A
  change made elsewhere counts from the first request after the server has passed its announcement on
  (well under a millisecond on one host). A canary POST is one statement. The doorbell broker's
  enqueue, fetch and ack batches are written straight onto connections of the client's settings
  (`core/redis_wire.py`) instead of redis-py's pipeline and script objects (enqueue 133 → 81 µs).
  Each against the commit before it, interleaved, jobs/s of one POST per job: 385–444 → 444–473
  (prepared), 415–463 → 420–504 (principal cache, +3 to +10 % in each pair), 415–463 → 493–521
  (Redis batches); per job, web 1.8 → 1.4 ms, worker 1.7 → 1.25 ms, PostgreSQL 1.0 → 0.85 ms.
  Measured and not kept: the event lanes written in the job's thread instead (no difference in three
  pairs), 1 or 3 gunicorn workers instead of 2 (1: 342–457 jobs/s, 3: 398–445, 2: 457–502), gunicorn's
  pywsgi gevent worker (no difference), dropping every request hook (−0.07 ms a request in process).
- Group commit of lone jobs (session 9). A request that writes nothing but its job (a canary; a
  questions, score or export job after read-only checks) hands the row to its web process's group
  commit (`core/group_commit.py`, `webapp/enqueue.py`). A job that arrives while none is being
  written is written at once, alone (`Transitions.create_alone`, as before); jobs that arrive while
  one is being written queue, and the first of them then writes them all in one statement
  (`Transitions.create_alone_batch`: arrays unnested into rows, streams and `queued` events, one
  durable commit) and sends their messages in one Redis round trip. The busier the process, the
  larger the batches; a quiet server waits for nothing. A row that breaks a constraint fails its own
  request only (the batch is written again a job at a time). In the throughput bench ≈ 2.3 jobs went
  in each create statement (pg_stat_statements: 0.28 batch and 0.15 single statements a job), the
  create's server time a job 203 → 114 µs; interleaved against the commit before (3,000 jobs a run,
  per-process CPU from `/proc`): 438 → 452, 461 → 481, 423 → 433 jobs/s, PostgreSQL −0.10 to −0.17 ms
  a job. Stream tokens (one per job in a POST's answer) are signed by PyJWT's HMAC with the key
  prepared once (`core/tokens.py`): the same bytes as `jwt.encode`, 85–103 → 39–41 µs in a request.
  Where a job's CPU goes now (≈ 450 jobs/s): web 1.4–1.6 ms, worker 1.25–1.35, PostgreSQL 0.8–1.0,
  Redis 0.2; `perf record -a` over a run: the web's Python 31 % of all samples and its kernel time 5 %,
  the worker's 20 % and 7 %, PostgreSQL 21 %, Redis 4.5 %. In the worker, per job: the four job
  threads 0.66 ms together, the consumer thread 0.22, the event publisher 0.18 (three events), the
  event lanes 0.2 (one progress step). In process, a canary POST's view takes 0.65–0.85 ms of CPU:
  the Dramatiq send 0.26 (its Redis round trip 0.13, building and encoding the message 0.11), the row
  0.22, the body's validation 0.07, the ORM row object 0.07, the links 0.06; the request hooks ≈ 0.2.
  With one core busy every part costs 25–45 % more CPU a job (5.1–6.2 ms in all against 4.0–4.3: the
  spinner shares the cores' caches) and the platform gets ≈ 1.3 cores; bare Dramatiq needs 0.5–0.7
  core and is not slowed, so 0.5 of it there needs ≈ 2.7 ms a job, about half of today's.
  Measured and not kept: the same group commit for the worker's claims (threads met on 58 % of
  claims, 2.7 claims a batch statement, but the server's time a claim did not drop and jobs/s moved
  within the noise), orjson for Dramatiq's messages (encode 45 → 38 µs in a request), `gc.freeze()`
  with a larger gen-0 threshold in the web (no difference in three pairs), gunicorn's gthread worker
  (web 1.46–1.50 ms a request against gevent's 1.43–1.53), psycogreen-style `wait_read` instead of
  the select wait (no difference per query), 32 wrk connections instead of 8 with a core busy (195 vs
  252 jobs/s: more CPU spent, less done).
- A job's last progress report goes with its finish (session 10). A job that reports progress and
  returns (the canary's one step; most jobs' last step) used to have that report written by its
  event lane while the job thread waited (`flush`), then the finish: two statements, and a lane
  thread's round trip. Now the job thread takes back the reports the lane has not started
  (`JobEvents.take_unwritten`), and when the last is a progress report of the job itself the finish
  stores it with the terminal event in one statement (`Transitions.finish(last_progress=...)`: two
  numbers taken at once, the progress event first; published in the same order). Interleaved against
  the commit before (3,000 jobs a run, per-process CPU from `/proc`), CPU a job 2.97–3.13 → 2.56–2.75
  ms (worker 1.06–1.09 → 0.85–0.93, PostgreSQL 0.73–0.79 → 0.58–0.61), one POST per job idle 0.554–0.602
  → 0.637–0.712, with a core busy 0.408–0.492 → 0.455–0.537; the LLM job's added latency fell too (its
  second progress step goes with `succeeded`). Measured and not kept: acks, doorbell wait and fetch
  in one Redis round trip per look of the consumer (two instead of four per message when the worker
  keeps up: no difference in two busy pairs), `structlog.stdlib.filter_by_level` first (2 µs a
  request) and a faster `Flask.ensure_sync` (0.16 µs a hook), both too small to see.
- LLM job latency: the platform's added time is the POST (auth, row + event), the broker hop, the
  claim, the job's own reads and writes, one progress step and the finish, and the SSE stream's
  delivery of `succeeded`. The fake OpenAI server sets TCP_NODELAY: without it every direct call
  stalls ~40 ms on a delayed ACK, which would flatter the platform. Timeline on the EPYC (medians
  from the POST's start): `queued` written 2.2 ms, POST answered 4.7, `started` 5.0, first progress
  8.0, second progress (after the model call) 12.1, `succeeded` written 14.4 and received 15.4 ms.
  A job's events are written on a lane thread of the worker (`workers/event_lanes.py`), in order,
  while the job goes on (flushed before its commit and its terminal event): with a core busy the
  added latency went from +20.8 to +18.3 ms (a third run, 01:00 UTC: +16.4 ms idle, +19.0 ms busy:
  the busy figure holds the target by 1–2 ms, no more); without its two progress events at all the job would
  gain another ~1–2 ms, but progress on every job is part of the event contract.
- Reads without a transaction (session 6): psycopg2 sends `BEGIN` as a round trip of its own before
  a transaction's first statement, and the pool's reset sends `ROLLBACK` after a read-only one. GET
  and HEAD requests, a stream's replay, the report's wait and the metrics count now read through
  `Database.reader`, a pool of autocommit connections (its own engine: switching a pooled connection
  to autocommit and back costs a `SET default_transaction_isolation` round trip), pinged like the main
  pool. `GET /api/jobs/{id}` in process: 2 statements instead of 4, ~0.8 ms less CPU; wrk ratio 0.43 →
  0.47–0.53 on the same machine. The writes a GET may make (a user's first row, the report's job row
  with its `queued` event) are single statements. The LLM job's system message (a pydantic JSON
  schema, 0.64 ms to build) is built once per schema, and workers with an OpenAI key import the SDK
  at start (0.9 s the first LLM job used to wait). Measured and not kept: a deque and an Event in
  place of each SSE subscriber's `queue.Queue` (1,000 gevent readers all woken: 16.6–19.6 ms against
  the Queue's 11.1–11.6 ms); gevent's own Queue (9.7–10.3 ms, not worth a second code path).
"""


def _run(script: str, args: list[str]) -> tuple[str, dict | None, float, int]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=900)
    except BaseException:  # a timeout, Ctrl-C, SIGTERM: the bench stops its own processes first
        proc.terminate()
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
    text = stdout.strip()
    parsed = None
    lines = []
    for line in text.splitlines():
        if line.startswith("JSON: "):
            parsed = json.loads(line[6:])
        else:
            lines.append(line)
    if proc.returncode != 0:
        lines.append(f"(exit {proc.returncode})\n{stderr.strip()[-2000:]}")
    return "\n".join(lines), parsed, time.perf_counter() - t0, proc.returncode


def _load_cell(load: dict | None) -> str:
    """The machine column of a summary row: how busy the machine was while the figure was taken."""
    if not load:
        return "—"
    runs = [r for rnd in load["runs"] for r in rnd.values()] if "runs" in load else [load]
    worst = max(r["other_cores"] for r in runs)
    start = runs[0].get("load_at_bench_start", runs[0]["load_before"])
    text = f"others ≤ {worst:.2f} core, load {start:.1f} at start"
    if any(r.get("spinner_cores") for r in runs):
        text += ", + spinner"
    return ("⚠ busy: " + text) if load["busy"] else text


def _summary(results: dict[str, dict | None], loads: dict[str, dict | None] | None = None) -> list[str]:
    loads = loads or {}
    rows = ["| measure | figure | baseline (same run) | ratio | target | machine during the run |",
            "|---|---|---|---|---|---|"]

    def add(script: str, row: str) -> None:
        rows.append(f"{row} {_load_cell(loads.get(script))} |")

    t = results.get("throughput.py")
    if t:
        add("throughput.py",
            f"| job throughput, {t['jobs']} canary jobs, one HTTP POST each → `succeeded` | {t['jobs_per_s']} "
            f"jobs/s | bare Dramatiq no-op: {t['baseline_msgs_per_s']} msg/s | {t['ratio']} | ≥ 0.5 |")
        if t.get("burst"):
            b = t["burst"]
            add("throughput.py",
                f"| job throughput, {b['jobs']} canary jobs, {b['size']} per HTTP POST (`/api/ops/canaries`) "
                f"→ `succeeded` | {b['jobs_per_s']} jobs/s | bare Dramatiq no-op: "
                f"{t['baseline_msgs_per_s']} msg/s | {b['ratio']} | ≥ 0.5 |")
    s = results.get("scaling.py")
    if s:
        figs = ", ".join(f"{p} proc: {r} jobs/s (×{s['speedup'][p]})" for p, r in s["jobs_per_s"].items())
        add("scaling.py",
            f"| scaling, {s['jobs']} pre-queued jobs | {figs} | 1 process | see left | grows to the core count |")
    f = results.get("sse_fanout.py")
    if f:
        add("sse_fanout.py",
            f"| SSE fan-out, {f['clients']} clients, one web process | p50 {f['p50_ms']} ms, p99 "
            f"{f['p99_ms']} ms, dropped {f['dropped']}, {f['rss_per_connection_kb']} KiB/connection | raw Redis "
            f"pub/sub p99 {f['redis_p99_ms']} ms | p99 ×{f['ratio_p99']} | p99 < 100 ms, none dropped |")
    a = results.get("api_latency.py")
    if a:
        for route, label in (("get_job", "`GET /api/jobs/{id}`"), ("post_turn", "`POST /turn`")):
            p, b = a[route], a[f"bare_{route}"]
            add("api_latency.py",
                f"| {label}, wrk {a['connections']} conns | {p['rps']} req/s, p50 {p['p50_ms']} ms, p99 "
                f"{p['p99_ms']} ms | bare Flask: {b['rps']} req/s, p50 {b['p50_ms']} ms | "
                f"{a[route + '_rps_ratio']} | {'≥ 0.3' if route == 'get_job' else '—'} |")
    st = results.get("stt.py")
    if st:
        add("stt.py",
            f"| speech: platform upload → `succeeded` vs raw faster-whisper | overhead ratio "
            f"{st.get('overhead_ratio')} | raw model | RTF {st.get('real_time_factor')} | ≤ 1.15 |")
    lv = results.get("live.py")
    if lv:
        add("live.py",
            f"| live answers: first words on the stream after spoken / scores after finish "
            f"({lv['long_answer_seconds']} s answer) / at once | median {lv['first_word_median_s']} s / "
            f"{lv['scores_after_finish_median_s']} s / {lv['holds_at_targets']} | one-shot WER "
            f"{lv['wer_one_shot']} | live WER {lv['wer_live']} | < 1.5 s / < 2 s / ≥ 3; WER ≤ +0.02 |")
    lm = results.get("llm.py")
    if lm:
        add("llm.py",
            f"| LLM job: platform HTTP → `succeeded` vs the same server called directly | median "
            f"{lm['platform_median_ms']} ms (+{lm['added_ms_at_median']} ms) | direct openai client: median "
            f"{lm['direct_median_ms']} ms | — | < 20 ms added |")
    b = results.get("batch.py")
    if b:
        add("batch.py",
            f"| batch of {b['items']} resume generations | {b['batch_items_per_s']} items/s | one by one: "
            f"{b['one_by_one_items_per_s']} items/s | ×{b['batch_vs_one_by_one']} | — |")
    return rows


def _measured_run(script: str, args: list[str], settle_s: float) -> tuple[str, dict | None, float, int, dict]:
    """One bench under a probe of the machine. The ratio benches probe their own interleaved rounds and
    repeat busy ones themselves (their JSON has `load`); any other bench run on a busy machine is
    repeated here once, keeping the quieter run."""
    start = settle(settle_s)  # let the load the previous bench left die down (up to settle_s)
    with Probe(start_load=start) as probe:
        text, parsed, seconds, rc = _run(script, args)
    load = (parsed or {}).get("load") or probe.load.as_dict()
    if rc == 0 and "load" not in (parsed or {}) and probe.load.busy:
        print(f"   {probe.load.note()} — running it once more", flush=True)
        settle(settle_s)
        with Probe(check_load=False, start_load=start) as probe2:
            again = _run(script, args)
        probe2.load.repeated = True
        if again[3] == 0 and probe2.load.other_cores <= probe.load.other_cores:
            (text, parsed, seconds, rc), load = again, probe2.load.as_dict()
        else:
            probe.load.repeated = True
            load = probe.load.as_dict()
    if "load_note" in (parsed or {}):  # the bench printed its own
        return text, parsed, seconds, rc, load
    note = Load(**{k: v for k, v in load.items() if k != "busy"}).note()
    return text + f"\nmachine during the run: {note}", parsed, seconds, rc, load


def main() -> None:
    stop_cleanly_on_sigterm()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, to check the scripts work")
    ap.add_argument("--busy-core", action="store_true",
                    help="also run the ratio benches with one core kept busy by a spinning Python process")
    ap.add_argument("--settle", type=float, default=None,
                    help="seconds to wait at most for the load average to fall under the busy threshold "
                         "before each bench (default 60, 5 with --quick)")
    ap.add_argument("--only", default="", help="comma-separated scripts to run (e.g. throughput.py,llm.py)")
    ap.add_argument("--output", default=str(ROOT / "docs" / "RESULTS.md"))
    args = ap.parse_args()
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    settle_s = args.settle if args.settle is not None else (5.0 if args.quick else 60.0)
    sections, results, loads = [], {}, {}
    busy_results: dict[str, dict | None] = {}
    busy_loads: dict[str, dict | None] = {}
    for title, script, full, quick in BENCHES:
        if not (ROOT / "bench" / script).exists() or (only and script not in only):
            continue
        argv = quick if args.quick else full
        variants = [(False, results, loads)]
        if args.busy_core and script in BUSY_CORE_BENCHES:
            variants.append((True, busy_results, busy_loads))
        for busy, res, lds in variants:
            label = f"{title}, one core busy" if busy else title
            print(f"== {label} ({script})", flush=True)
            with (spinning_core() if busy else nullcontext()):
                text, parsed, seconds, rc, load = _measured_run(script, argv, settle_s)
            print(text, flush=True)
            res[script] = parsed if rc == 0 else None
            lds[script] = load
            sections.append(f"## {label}\n\n`python bench/{script} {' '.join(argv)}`"
                            f"{' (with a spinning Python process)' if busy else ''} ({seconds:.0f} s)\n\n"
                            f"```\n{text}\n```\n")
    busy_rows = []
    if args.busy_core:
        busy_rows = ["", "### With one core busy (a spinning Python process during the run)", "",
                     *_summary(busy_results, busy_loads)]
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    doc = [
        "# VoiceMock — measured results",
        "",
        f"Regenerated by `make bench` (`bench/run_all.py`{' --quick' if args.quick else ''}) on {now}.",
        f"Machine: **{machine()}**. Every process of the platform (web, workers, PostgreSQL, Redis) and the "
        "load generator share this machine; each bench starts its own private Redis and PostgreSQL "
        "cluster (fsync on) and runs the platform as real processes (gunicorn with gevent workers, "
        "`voicemock worker`), like production on one box. Each figure has a baseline measured in the same run.",
        "",
        *_summary(results, loads),
        *busy_rows,
        "",
        NOTES,
        *sections,
    ]
    Path(args.output).write_text("\n".join(doc) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
