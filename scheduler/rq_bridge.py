"""rq-scheduler as the clock, Dramatiq as the transport.

rq-scheduler keeps each entry of `SCHEDULE` as a cron job in a Redis sorted set and, under its lock,
hands due ones to its queue class. `DramatiqQueue` is that queue class: instead of pushing onto an RQ
list (which would need an RQ worker), it sends a message to the entry's Dramatiq actor. The scheduler
process therefore runs no job code.

Exactly once per tick: rq-scheduler's lock keeps two schedulers from moving the same due job at the
same moment; on top of that each (entry, tick) is claimed with `SET NX` before sending, so a scheduler
that stalls past the lock's expiry cannot send a tick another scheduler already sent.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from typing import Any, Callable

import redis
from rq import Queue
from rq_scheduler import Scheduler

from scheduler.schedule import SCHEDULE, Entry

log = logging.getLogger("voicemock.scheduler")

SENT_TTL_SECONDS = 7 * 24 * 3600
LOG_LENGTH = 1000
_RETRY_PAUSES = (0.5, 1.0, 2.0, 5.0)  # seconds between attempts while Redis fails


def default_sender(entry_name: str, actor: str, **kwargs: Any) -> str:
    from workers import actors

    message = actors.ACTORS[actor].send(**kwargs)
    return message.message_id


class DramatiqQueue(Queue):
    """The queue rq-scheduler moves due jobs to: it sends a Dramatiq message and stores nothing."""

    sender: Callable[..., str] = staticmethod(default_sender)

    def enqueue_job(self, job: Any, pipeline: Any = None, at_front: bool = False, unique: bool = False) -> Any:
        meta = job.meta or {}
        entry, actor, prefix = meta.get("voicemock_entry"), meta.get("voicemock_actor"), meta.get("voicemock_prefix")
        if not entry or not actor:
            log.warning("scheduled job %s is not a VoiceMock entry; ignored", job.id)
            return job
        # The job's score in the schedule set is the tick it is due for; rq-scheduler moves it on
        # only after this returns.
        score = self.connection.zscore(meta["voicemock_zset"], job.id)
        tick = int(score) if score is not None else int(time.time())
        claim = f"{prefix}:schedule:sent:{entry}:{tick}"
        if not self.connection.set(claim, f"{socket.gethostname()}:{os.getpid()}", nx=True, ex=SENT_TTL_SECONDS):
            log.info("scheduled %s for tick %d was already sent", entry, tick)
            return job
        try:
            message_id = type(self).sender(entry, actor)
        except Exception:
            # Not sent (the broker is down): give the tick back, so the next round sends it. The
            # job stays due in the schedule set (rq-scheduler moves it on only after this returns).
            try:
                self.connection.delete(claim)
            except redis.RedisError:
                log.warning("scheduled %s for tick %d was not sent and its claim could not be released", entry, tick)
            raise
        record = json.dumps({"entry": entry, "actor": actor, "tick": tick, "message_id": message_id,
                             "sent_at": time.time(), "by": f"{socket.gethostname()}:{os.getpid()}"})
        pipe = self.connection.pipeline()
        pipe.lpush(f"{prefix}:schedule:log", record)
        pipe.ltrim(f"{prefix}:schedule:log", 0, LOG_LENGTH - 1)
        pipe.execute()
        log.info("sent scheduled %s to %s (tick %d, message %s)", entry, actor, tick, message_id)
        return job


class VoiceMockScheduler(Scheduler):
    """rq-scheduler with its keys under our Redis prefix and the schedule table synced in."""

    def __init__(self, connection: Any, prefix: str, *, interval: float = 5.0,
                 schedule: tuple[Entry, ...] = SCHEDULE, name: str | None = None) -> None:
        super().__init__(queue_name=f"{prefix}-schedule", connection=connection, interval=interval,
                         queue_class=DramatiqQueue, name=name)
        self.prefix = prefix
        self.schedule = schedule
        self.redis_scheduler_namespace_prefix = f"{prefix}:rq:scheduler_instance:"
        self.scheduler_key = f"{prefix}:rq:scheduler"
        self.scheduler_lock_key = f"{prefix}:rq:scheduler_lock"
        self.scheduled_jobs_key = f"{prefix}:rq:scheduler:scheduled_jobs"
        self._registered = False  # registered once already: a key missing later was lost by Redis

    def job_id(self, entry: Entry) -> str:
        return f"{self.prefix}-schedule-{entry.name}"

    def sync(self) -> None:
        """Make the Redis schedule match the table: add new entries, re-add changed ones, drop removed
        ones. Safe to run from several schedulers at once (same ids, same values)."""
        wanted = {self.job_id(e): e for e in self.schedule}
        for job in self.get_jobs():
            if not job.id.startswith(f"{self.prefix}-schedule-"):
                continue
            entry = wanted.get(job.id)
            meta = job.meta or {}
            if entry is not None and meta.get("cron_string") == entry.cron and meta.get("voicemock_actor") == entry.actor:
                wanted.pop(job.id)  # already scheduled as the table says
            else:
                self.cancel(job)
        for job_id, entry in wanted.items():
            self.cron(entry.cron, func="scheduler.rq_bridge.never_runs", id=job_id,
                      queue_name=f"{self.prefix}-schedule", description=entry.description,
                      meta={"voicemock_entry": entry.name, "voicemock_actor": entry.actor,
                            "voicemock_prefix": self.prefix, "voicemock_zset": self.scheduled_jobs_key})

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is threading.main_thread():
            super()._install_signal_handlers()

    def run_until(self, stop: threading.Event) -> None:
        """rq-scheduler's run loop, stoppable from another thread (tests, embedded use), that lives
        through Redis errors (a paused, restarted or unreachable Redis): it waits and tries again,
        and once Redis answers it registers (and syncs the table) again if Redis lost them, sends
        the ticks that fell due meanwhile (rq-scheduler keeps a missed tick due) and a sweep, so
        jobs whose messages could not be sent during the outage go out at once. When Redis came back
        without this scheduler's key (restarted empty), the messages that waited in it are gone too:
        that sweep re-sends every queued job, not only those never sent."""
        alive = False  # registered, with the table synced, on the Redis we see now
        failures = 0
        lost = False  # Redis lost our key since we last saw it: its queued messages went with it
        try:
            while not stop.is_set():
                started = time.time()
                try:
                    if not alive or not self._still_registered():
                        lost = self._come_alive() or lost
                        alive = True
                    if self.acquire_lock():
                        try:
                            self.enqueue_jobs()
                        finally:
                            self.remove_lock()
                    if failures or lost:
                        log.warning("scheduler %s: Redis answers again after %d failed round(s)%s; catching up",
                                    self.name, failures, " and lost its messages" if lost else "")
                        failures = 0
                        self._sweep_now(lost=lost)
                        lost = False
                except (redis.RedisError, OSError) as exc:
                    failures += 1
                    alive = False
                    pause = _RETRY_PAUSES[min(failures, len(_RETRY_PAUSES)) - 1]
                    log.warning("scheduler %s: Redis error (%s: %s); trying again in %.1f s", self.name,
                                type(exc).__name__, exc, pause)
                    stop.wait(pause)
                    continue
                stop.wait(max(0.0, self._interval - (time.time() - started)))
        finally:
            try:
                self.remove_lock()
                self.register_death()
            except (redis.RedisError, OSError) as exc:
                log.warning("scheduler %s: could not record its exit (%s)", self.name, type(exc).__name__)

    def _still_registered(self) -> bool:
        """The heartbeat: extend this scheduler's key; False when Redis no longer has it (restarted
        empty, or this process stalled past the key's expiry)."""
        return bool(self.connection.expire(self.key, int(self._interval) + 10))

    def _come_alive(self) -> bool:
        """Register (or renew) and sync the table; True when Redis had lost the key of a scheduler
        that had registered before (Redis restarted empty, or this process stalled past its expiry)."""
        if self.connection.exists(self.key) and not self.connection.hexists(self.key, "death"):
            self.heartbeat()  # our own key survived: registering again would refuse the name
            lost = False
        else:
            lost = self._registered
            self.register_birth()
            self._registered = True
        self.sync()  # a Redis that restarted empty lost the table too
        return lost

    def _sweep_now(self, *, lost: bool = False) -> None:
        """After an outage: one sweep at once (web requests could not send their jobs' messages;
        `lost`: Redis lost the messages it held, so every queued job is sent again)."""
        for entry in self.schedule:
            if entry.actor == "maintenance.sweep":
                try:
                    DramatiqQueue.sender(entry.name, entry.actor, **({"lost": True} if lost else {}))
                except Exception as exc:  # noqa: BLE001 - the regular tick will come
                    log.warning("catch-up sweep not sent: %s", exc)

    def sent_log(self, limit: int = 100) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.connection.lrange(f"{self.prefix}:schedule:log", 0, limit - 1)]


def never_runs() -> None:
    """The callable rq-scheduler records for each entry. DramatiqQueue sends a message instead, so this
    only runs if someone points an RQ worker at the schedule queue, and then it does nothing."""
    log.warning("an RQ worker picked up a VoiceMock schedule entry; the scheduler sends Dramatiq messages instead")


def serve(redis_url: str, prefix: str, interval: float, schedule: tuple[Entry, ...] = SCHEDULE) -> None:
    """`voicemock scheduler`: sync the table, then loop until SIGTERM/SIGINT, through Redis outages."""
    # Socket timeouts, so a hung Redis fails a call within seconds (and the loop waits and tries
    # again) instead of blocking it; `?socket_timeout=` in the URL overrides them.
    connection = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    scheduler = VoiceMockScheduler(connection, prefix, interval=interval, schedule=schedule)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("scheduler %s: %d entries, checking every %.1f s", scheduler.name, len(schedule), interval)
    scheduler.run_until(stop)
