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
