"""Worker liveness for `/metrics`: each worker process stamps a Redis sorted set every few seconds.

Dramatiq's own `__heartbeats__` set also counts every process that merely enqueues (the web), so it
cannot tell how many workers are alive; this set holds only worker processes.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

log = logging.getLogger("voicemock.worker")

INTERVAL_SECONDS = 10.0
LIVE_SECONDS = 3 * INTERVAL_SECONDS


def key(prefix: str) -> str:
    return f"{prefix}:workers:alive"


def start(redis_url: str, prefix: str, interval: float = INTERVAL_SECONDS) -> threading.Event:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    member = f"{socket.gethostname()}:{os.getpid()}"
    stop = threading.Event()

    def beat() -> None:
        while True:
            try:
                client.zadd(key(prefix), {member: time.time()})
            except redis.RedisError as exc:
                log.warning("worker heartbeat failed: %s", exc.__class__.__name__)
            if stop.wait(interval):
                break
        try:
            client.zrem(key(prefix), member)
        except redis.RedisError:
            pass

    threading.Thread(target=beat, name="worker-liveness", daemon=True).start()
    return stop


def count(client: "object", prefix: str) -> int:
    return int(client.zcount(key(prefix), time.time() - LIVE_SECONDS, "+inf"))  # type: ignore[attr-defined]
