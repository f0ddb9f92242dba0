"""The baseline of the throughput bench: bare Dramatiq, a no-op actor, on the bench's Redis.

Run by `dramatiq bench._noop`; the actor counts itself in Redis so the bench knows when all are done.
"""
from __future__ import annotations

import os

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

URL = os.environ["BENCH_REDIS_URL"]
broker = RedisBroker(url=URL, namespace="bench-noop")
dramatiq.set_broker(broker)
_counter = redis.Redis.from_url(URL)


@dramatiq.actor(queue_name="noop", max_retries=0)
def noop(n: int) -> None:
    _counter.incr("bench-noop-done")
