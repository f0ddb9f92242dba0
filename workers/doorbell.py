"""A Redis broker whose idle consumers wait on a doorbell instead of sleeping.

Dramatiq's Redis consumer polls an empty queue with a growing sleep (up to the worker timeout), so a
message sent to a quiet queue waits on average half that interval before anyone looks. Here every
enqueue also rings the queue's doorbell (`LPUSH` of a token, trimmed), and an idle consumer blocks
on `BLPOP` of that doorbell for the same interval: it wakes the moment work arrives, and an idle
fleet still costs Redis one call per consumer per interval.
"""
from __future__ import annotations

import time
from typing import Any

import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

_BELL_CAP = 64  # rings nobody answered are capped, so a long-idle queue wakes at most this many times


class DoorbellRedisBroker(RedisBroker):
    def bell(self, queue_name: str) -> str:
        return f"{self.namespace}:bell:{queue_name}"

    def enqueue(self, message: Message, *, delay: int | None = None) -> Message:
        sent = super().enqueue(message, delay=delay)
        if delay is None:
            key = self.bell(message.queue_name)
            pipe = self.client.pipeline(transaction=False)
            pipe.lpush(key, 1)
            pipe.ltrim(key, 0, _BELL_CAP - 1)
            pipe.execute()
        return sent

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> "_DoorbellConsumer":
        return _DoorbellConsumer(self, queue_name, prefetch, timeout)


class _DoorbellConsumer(_RedisConsumer):
    def __next__(self) -> Any:
        try:
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
                self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
                if self.outstanding_message_count < self.prefetch:
                    # Block on the doorbell instead of sleeping; any ring means "look again".
                    self.broker.client.blpop([self.broker.bell(self.queue_name)], timeout=max(backoff_ms, 10) / 1000)
                else:
                    time.sleep(backoff_ms / 1000)  # prefetch is full: nothing to fetch until an ack
                return None
        except redis.ConnectionError as e:
            raise ConnectionClosed(e) from None
