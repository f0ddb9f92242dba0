"""A Redis broker whose idle consumers wait on a doorbell instead of sleeping.

Dramatiq's Redis consumer polls an empty queue (and a full prefetch) with a growing sleep (up to
the worker timeout), so a message sent to a quiet queue waits on average half that interval before
anyone looks. Here every enqueue also rings the queue's doorbell (`LPUSH` of a token, trimmed), and
an idle consumer blocks on `BLPOP` of that doorbell for the same interval: it wakes the moment work
arrives, and an idle fleet still costs Redis one call per consumer per interval. A consumer whose
prefetch is full looks again after a couple of milliseconds, when the acks have freed room.
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff, current_millis, dq_name, q_name
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

from core.redis_wire import Batch, Wire

_FULL_PREFETCH_WAIT = 0.002  # seconds
_BELL_CAP = 64  # rings nobody answered are capped, so a long-idle queue wakes at most this many times


class DoorbellRedisBroker(RedisBroker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wire = Wire(self.client)
        self._batch = threading.local()  # .messages while this thread is inside `batched()`

    def bell(self, queue_name: str) -> str:
        return f"{self.namespace}:bell:{queue_name}"

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Messages enqueued by this thread inside the block go to Redis in one pipeline, with one
        ring per queue, when the block ends (nothing is sent if it raises)."""
        self._batch.messages = []
        try:
            yield
            messages = self._batch.messages
        finally:
            self._batch.messages = None
        if messages:
            self.run_pipeline(lambda pipe: self._enqueue_into(pipe, messages))

    def _enqueue_into(self, pipe: Any, messages: list[tuple[str, str, bytes]]) -> None:
        for queue_name, message_id, data in messages:
            self.dispatch_into(pipe, "enqueue", queue_name, message_id, data)
        for queue_name in dict.fromkeys(q for q, _, _ in messages):
            if queue_name != dq_name(q_name(queue_name)):  # the delay queue has no one waiting on it
                self._ring(pipe, queue_name)

    def _ring(self, pipe: Any, queue_name: str) -> None:
        pipe.lpush(self.bell(queue_name), 1)
        pipe.ltrim(self.bell(queue_name), 0, _BELL_CAP - 1)

    def dispatch_into(self, pipe: Any, command: str, queue_name: str, *args: Any) -> None:
        """Queue one call of Dramatiq's dispatch script on `pipe`, its arguments built as
        `RedisBroker._dispatch` builds them (dramatiq 2.2, the pinned floor). By its SHA: redis-py
        would otherwise ask Redis `SCRIPT EXISTS` before every pipeline that carries a script (a
        round trip per enqueue); `run_pipeline` loads the script when Redis answers NOSCRIPT."""
        argv = [command, current_millis(), queue_name, self.broker_id, self.heartbeat_timeout,
                self.dead_message_ttl, self._should_do_maintenance(command), self._max_unpack_size(), *args]
        pipe.evalsha(self.scripts["dispatch"].sha, 1, self.namespace, *argv)

    def run_pipeline(self, build: Callable[[Any], None]) -> list[Any]:
        """`build` a batch of commands (no transaction) and send it in one round trip, written
        directly on a connection (core/redis_wire.py). A Redis that lost the script (restarted,
        SCRIPT FLUSH) fails every EVALSHA of it alike, so nothing was dispatched: the script is
        loaded and the batch built and sent again (rings are idempotent)."""
        for attempt in (1, 2):
            batch = Batch()
            build(batch)
            try:
                return self._wire.send(batch.commands)
            except redis.exceptions.NoScriptError:
                if attempt == 2:
                    raise
                script = self.scripts["dispatch"]
                script.sha = self.client.script_load(script.script)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._wire.close()
        super().close()

    def do_fetch(self, queue_name: str, prefetch: int) -> list[bytes]:
        """Dramatiq's fetch (its dispatch script), sent as `run_pipeline` sends: the consumer's
        every look for messages."""
        return self.run_pipeline(lambda batch: self.dispatch_into(batch, "fetch", queue_name, prefetch))[0]

    def do_enqueue(self, queue_name: str, message_id: str, data: bytes) -> None:
        """`RedisBroker.enqueue` ends here: the message and, for a queue served now (not the delay
        queue), its doorbell ring go to Redis in one round trip (or with the thread's batch)."""
        batch = getattr(self._batch, "messages", None)
        if batch is not None:
            batch.append((queue_name, message_id, data))
        else:
            self.run_pipeline(lambda pipe: self._enqueue_into(pipe, [(queue_name, message_id, data)]))

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> "_DoorbellConsumer":
        return _DoorbellConsumer(self, queue_name, prefetch, timeout)


class _DoorbellConsumer(_RedisConsumer):
    """Besides the doorbell: acks are collected and sent in one pipeline by the consumer thread.

    Dramatiq acks from the worker thread, one Redis round trip per message on the job's own path.
    Here the worker thread only records the ack (and frees its prefetch slot), and the consumer
    thread sends everything recorded each time it looks for messages, and on close. An ack lost to
    a crash only means a redelivery, which the job's claim turns away."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acks: list[str] = []
        self._acks_lock = threading.Lock()

    def ack(self, message: Any) -> None:
        # The current queue might differ from message.queue_name (a delayed message): the ack goes
        # to this consumer's queue, as in Dramatiq.
        with self._acks_lock:
            self._acks.append(message.options["redis_message_id"])
        self.queued_message_ids.discard(message.message_id)

    def flush_acks(self) -> None:
        with self._acks_lock:
            ids, self._acks = self._acks, []
        if not ids:
            return

        def acks(pipe: Any) -> None:
            for redis_message_id in ids:
                self.broker.dispatch_into(pipe, "ack", self.queue_name, redis_message_id)

        try:
            self.broker.run_pipeline(acks)
        except redis.RedisError:
            with self._acks_lock:  # sent again with the next batch
                self._acks[:0] = ids
            raise

    def close(self) -> None:
        """On shutdown (the worker threads have stopped by now): send the last acks, and put back
        the messages fetched but never handed to a worker thread. Dramatiq's consumer leaves those
        in its ack set until its heartbeat times out, delaying them by a minute or more."""
        try:
            self.flush_acks()
            leftovers = [Message.decode(data) for data in self.message_cache if data is not None]
            self.message_cache = []
            if leftovers:
                self.requeue(leftovers)
        except redis.RedisError as exc:
            # Never raise here: Dramatiq closes a failed consumer before making a new one, and an
            # error out of close() would end the consumer thread (and the queue's consumption).
            # The broker requeues what a gone worker left unacked.
            logging.getLogger(__name__).warning("consumer of %s closed without flushing: %s", self.queue_name, exc)
        super().close()

    def __next__(self) -> Any:
        try:
            self.flush_acks()
            while True:
                if self.message_cache:
                    data = self.message_cache.pop(0)
                    if data is None:
                        continue
                    self.misses = 0
                    message = Message.decode(data)
                    self.queued_message_ids.add(message.message_id)
                    return MessageProxy(message)
                messages = []
                if self.outstanding_message_count < self.prefetch:
                    self.message_cache = messages = self.broker.do_fetch(
                        self.queue_name, self.prefetch - self.outstanding_message_count)
                if messages:
                    continue
                if self.outstanding_message_count >= self.prefetch:
                    # Prefetch is full: nothing may be fetched until an ack, and acks are handled by
                    # this same consumer thread once we return. Look again very soon, without the
                    # growing back-off (Dramatiq's own consumer backs off here up to the idle
                    # timeout, so under load its worker threads can sit idle waiting for it).
                    time.sleep(_FULL_PREFETCH_WAIT)
                    return None
                self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
                # Block on the doorbell instead of sleeping; any ring means "look again".
                self.broker.client.blpop([self.broker.bell(self.queue_name)], timeout=max(backoff_ms, 10) / 1000)
                return None
        except redis.ConnectionError as e:
            raise ConnectionClosed(e) from None
