"""Batches of Redis commands written straight onto connections of a client's own settings.

A job's submission sends its message and rings the queue's doorbell; the consumer fetches and acks
(workers/doorbell.py). Through redis-py's pipeline each batch pays for the pipeline object, a pool
checkout that first polls the socket for stray data, the retry wrapper and a reply callback per
command: ~130 µs of CPU for the three commands of an enqueue, against ~60 µs written directly
(bench measurement, 2 cores).
The event publisher (core/events.py) writes its PUBLISH batches through it for the same reason.

`Wire.send(commands)` packs them, writes them in one go and reads every reply; the first error reply
is raised once all are read (the connection stays in step). A connection that failed is dropped; a
failure on one that had been resting (Redis restarted meanwhile) is tried once more on a new one,
as redis-py's own retry would. Connections are kept per process (a forked child starts afresh).
"""
from __future__ import annotations

import os
import threading
from typing import Any, Sequence

import redis

_KEEP = 16  # resting connections kept per process


class Wire:
    def __init__(self, client: redis.Redis) -> None:
        self._pool = client.connection_pool
        self._lock = threading.Lock()
        self._resting: list[Any] = []
        self._pid = os.getpid()

    def send(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        for attempt in (1, 2):
            conn, rested = self._take()
            try:
                conn.send_packed_command(conn.pack_commands(commands))
                replies, error = [], None
                for _ in commands:
                    try:
                        replies.append(conn.read_response())
                    except redis.ResponseError as exc:  # an error reply: read on, raise after
                        replies.append(exc)
                        error = error or exc
            except (redis.ConnectionError, redis.TimeoutError):
                conn.disconnect()
                if attempt == 1 and rested:
                    continue
                raise
            except BaseException:  # interrupted mid-way: its replies may be left unread
                conn.disconnect()
                raise
            self._give(conn)
            if error is not None:
                raise error
            return replies
        raise AssertionError("unreachable")

    def _take(self) -> tuple[Any, bool]:
        with self._lock:
            if self._pid != os.getpid():
                self._resting, self._pid = [], os.getpid()
            if self._resting:
                return self._resting.pop(), True
        return self._pool.make_connection(), False

    def _give(self, conn: Any) -> None:
        with self._lock:
            if self._pid == os.getpid() and len(self._resting) < _KEEP:
                self._resting.append(conn)
                return
        conn.disconnect()

    def close(self) -> None:
        with self._lock:
            resting, self._resting = self._resting, []
        for conn in resting:
            conn.disconnect()


class Batch:
    """The commands a builder queues (`evalsha`, `lpush`, `ltrim`, as on a redis-py pipeline)."""

    def __init__(self) -> None:
        self.commands: list[tuple[Any, ...]] = []

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> None:
        self.commands.append(("EVALSHA", sha, numkeys, *keys_and_args))

    def lpush(self, name: str, *values: Any) -> None:
        self.commands.append(("LPUSH", name, *values))

    def ltrim(self, name: str, start: int, end: int) -> None:
        self.commands.append(("LTRIM", name, start, end))
