"""The scheduler: rq-scheduler as the clock, Dramatiq messages as the output, each tick sent once even
with two schedulers running."""
from __future__ import annotations

import threading
import uuid
from collections import Counter

import redis

from scheduler.rq_bridge import DramatiqQueue, VoiceMockScheduler
from scheduler.schedule import SCHEDULE, Entry

# Seven-field crons (seconds first, then the usual five, then year) so a test sees several ticks.
FAST = (Entry("every-second", "* * * * * * *", "maintenance.sweep", "test"),
        Entry("every-2-seconds", "*/2 * * * * * *", "maintenance.sweep", "test"))


def test_two_schedulers_send_each_due_entry_once(platform, redis_url: str) -> None:  # noqa: ANN001
    prefix = f"sched-{uuid.uuid4().hex[:8]}"
    stop = threading.Event()
    schedulers = [VoiceMockScheduler(redis.Redis.from_url(redis_url), prefix, interval=0.1, schedule=FAST)
                  for _ in range(2)]
    for s in schedulers:
        s.sync()
    threads = [threading.Thread(target=s.run_until, args=(stop,)) for s in schedulers]
    for t in threads:
        t.start()
    stop.wait(4.5)
    stop.set()
    for t in threads:
        t.join(5)
    log = schedulers[0].sent_log(1000)
    per_tick = Counter((rec["entry"], rec["tick"]) for rec in log)
    assert per_tick and max(per_tick.values()) == 1, "no (entry, tick) was sent twice"
    seconds = sorted(t for e, t in per_tick if e == "every-second")
    assert len(seconds) >= 3 and seconds == sorted(set(seconds))
    assert all(t % 2 == 0 for e, t in per_tick if e == "every-2-seconds")
    assert len({rec["message_id"] for rec in log}) == len(log), "each send is its own Dramatiq message"


def test_a_due_job_handed_to_many_schedulers_at_once_is_sent_once(platform, redis_url: str) -> None:  # noqa: ANN001
    prefix = f"sched-{uuid.uuid4().hex[:8]}"
    connection = redis.Redis.from_url(redis_url)
    sched = VoiceMockScheduler(connection, prefix, schedule=FAST[:1])
    sched.sync()
    job = next(iter(sched.get_jobs()))
    queue = DramatiqQueue(f"{prefix}-schedule", connection=connection)
    barrier = threading.Barrier(10)

    def race() -> None:
        barrier.wait()
        queue.enqueue_job(job)  # bypasses rq-scheduler's lock on purpose: the SET NX is the last guard

    threads = [threading.Thread(target=race) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(sched.sent_log()) == 1


def test_sync_adds_changes_and_removes_entries_to_match_the_table(redis_url: str) -> None:
    prefix = f"sched-{uuid.uuid4().hex[:8]}"
    connection = redis.Redis.from_url(redis_url)
    VoiceMockScheduler(connection, prefix).sync()
    VoiceMockScheduler(connection, prefix).sync()  # a second scheduler process syncing: no duplicates
    jobs = VoiceMockScheduler(connection, prefix).get_jobs()
    assert sorted(j.meta["voicemock_entry"] for j in jobs) == sorted(e.name for e in SCHEDULE)
    changed = (Entry("sweeper", "*/5 * * * *", "maintenance.sweep", "slower"),)
    s = VoiceMockScheduler(connection, prefix, schedule=changed)
    s.sync()
    assert [(j.meta["voicemock_entry"], j.meta["cron_string"]) for j in s.get_jobs()] == [("sweeper", "*/5 * * * *")]
    assert {e.actor for e in SCHEDULE} >= {"maintenance.sweep", "retention.run", "retention.purge"}


def test_two_scheduler_processes_send_each_tick_once(pg_url: str, tmp_path) -> None:  # noqa: ANN001
    """Two real `voicemock scheduler` processes on one (private) Redis, the sweeper due every second."""
    import json
    import time

    from tests.support.procs import VENV_BIN, PrivateRedis, Proc, platform_env, wait_for

    private = PrivateRedis.start()
    env = platform_env(pg_url, private.url, tmp_path, VOICEMOCK_SCHEDULE_CRONS="sweeper=* * * * * * *",
                       VOICEMOCK_SCHEDULER_INTERVAL="0.2")
    prefix = env["VOICEMOCK_REDIS_PREFIX"]
    connection = redis.Redis.from_url(private.url)
    procs = [Proc(f"scheduler{n}", [str(VENV_BIN / "voicemock"), "scheduler"], env, tmp_path / f"scheduler{n}.log")
             for n in (1, 2)]
    try:
        for p in procs:
            p.start()
        wait_for(lambda: connection.llen(f"{prefix}:schedule:log") > 0, 30, "the first scheduled send")
        # Both are running their loop (rq-scheduler registers each live instance, with a heartbeat).
        wait_for(lambda: len(connection.keys(f"{prefix}:rq:scheduler_instance:*")) == 2, 10, "two live schedulers")
        time.sleep(5)
        assert all(p.alive() for p in procs), [p.log_tail() for p in procs]
        assert [p.terminate() for p in procs] == [0, 0], "both stop cleanly on SIGTERM"

        log = [json.loads(x) for x in connection.lrange(f"{prefix}:schedule:log", 0, -1)]
        sweeps = [rec for rec in log if rec["entry"] == "sweeper"]
        per_tick = Counter(rec["tick"] for rec in sweeps)
        assert len(per_tick) >= 4, f"the sweeper should have been due about five times: {sorted(per_tick)}"
        assert max(per_tick.values()) == 1, "no tick was sent twice"
        # What reached the broker: one Dramatiq message per tick, nothing else for that actor.
        raw = connection.hgetall(f"{prefix}-dramatiq:maintenance.msgs").values()
        sent = [m["message_id"] for m in map(json.loads, raw) if m["actor_name"] == "maintenance.sweep"]
        assert sorted(sent) == sorted(rec["message_id"] for rec in sweeps)
        senders = Counter(rec["by"] for rec in sweeps)
        print(f"{len(per_tick)} ticks, sent by {dict(senders)}")
        assert {int(by.rsplit(":", 1)[1]) for by in senders} <= {p.pid for p in procs}
    finally:
        for p in procs:
            p.stop()
        private.stop()


def test_cron_overrides_replace_an_entry_and_a_bad_one_stops_start_up() -> None:
    import pytest

    from core.config import ConfigError
    from scheduler.schedule import effective

    table = {e.name: e for e in effective(("purge=*/10 * * * *", " sweeper = */30 * * * * * * "))}
    assert table["purge"].cron == "*/10 * * * *" and table["sweeper"].cron == "*/30 * * * * * *"
    assert table["retention"] == next(e for e in SCHEDULE if e.name == "retention")
    for bad in ("nosuch=* * * * *", "purge", "purge=every hour"):
        with pytest.raises(ConfigError, match="VOICEMOCK_SCHEDULE_CRONS"):
            effective((bad,))
