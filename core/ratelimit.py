"""Token buckets: one Redis Lua script shared by every web process, or a dict in embedded mode.

A bucket holds up to `capacity` tokens and refills at `capacity / period` tokens per second; a request
takes one. The Redis script reads the clock with `TIME` inside Redis, so web processes on different
machines agree on refill without agreeing on their clocks, and the read-refill-take-write is atomic.
"""
from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Protocol

_PERIODS = {"second": 1, "sec": 1, "s": 1, "minute": 60, "min": 60, "m": 60, "hour": 3600, "h": 3600,
            "day": 86400, "d": 86400}
_LIMIT = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d+)?\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Limit:
    capacity: int
    period: int  # seconds

    @property
    def rate(self) -> float:
        return self.capacity / self.period

    @classmethod
    def parse(cls, text: str) -> "Limit":
        """`100/minute`, `10 per minute`, `5/10seconds`-style strings."""
        m = _LIMIT.match(text.lower())
        unit = m.group(3).rstrip("s") if m else ""
        if not m or (unit not in _PERIODS and m.group(3) not in _PERIODS) or int(m.group(1)) < 1:
            raise ValueError(f"rate limit {text!r} is not like '100/minute'")
        seconds = _PERIODS.get(m.group(3), _PERIODS.get(unit, 60)) * int(m.group(2) or 1)
        return cls(capacity=int(m.group(1)), period=seconds)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the bucket is full again
    retry_after: int  # seconds until one token is available (0 when allowed)


def _decide(limit: Limit, tokens: float, allowed: bool) -> Decision:
    missing = max(0.0, limit.capacity - tokens)
    reset = math.ceil(missing / limit.rate) if missing > 1e-9 else 0
    retry = 0 if allowed else max(1, math.ceil((1 - tokens) / limit.rate))
    return Decision(allowed=allowed, limit=limit.capacity, remaining=max(0, int(math.floor(tokens + 1e-9))),
                    reset=reset, retry_after=retry)


class Store(Protocol):
    kind: str

    def take(self, key: str, limit: Limit) -> Decision: ...


_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {allowed, string.format('%.6f', tokens)}
"""


class RedisStore:
    kind = "redis"

    def __init__(self, client: "object", prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_SCRIPT)  # type: ignore[attr-defined]

    def take(self, key: str, limit: Limit) -> Decision:
        allowed, tokens = self._script(keys=[f"{self._prefix}:rl:{key}"], args=[limit.capacity, repr(limit.rate)])
        return _decide(limit, float(tokens), bool(int(allowed)))


class MemoryStore:
    """Embedded mode: one process, so a locked dict is the whole truth."""

    kind = "memory"

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, limit: Limit) -> Decision:
        now = time.monotonic()
        with self._lock:
            tokens, ts = self._buckets.get(key, (float(limit.capacity), now))
            tokens = min(float(limit.capacity), tokens + max(0.0, now - ts) * limit.rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > 100_000:  # bound memory: drop buckets that are full again
                full = [k for k, (t, s) in self._buckets.items() if now - s > 3600]
                for k in full:
                    self._buckets.pop(k, None)
        return _decide(limit, tokens, allowed)
