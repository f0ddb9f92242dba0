"""Hypothesis state machines: random sequences of operations against a model.

- Idempotency keys, over HTTP on the live platform: for any interleaving of keys, bodies and keyless
  posts, the same key + same body replays the first answer (same status, same job), a different body
  is 422, and exactly one job exists per key (plus one per keyless post).
- The token-bucket rate limiter, against both of its stores (Redis Lua script, in-memory dict): for
  any sequence of takes over several keys, each store agrees with a counting model and with the
  other (limits of a day, so refill during a run is far below one token).
"""
from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.support.client import ApiClient

KEYS = st.sampled_from(["k-a", "k-b", "k-c", "k-d"])
BODIES = st.sampled_from([{"payload": 1}, {"payload": 2}, {"payload": "x", "steps": 2}])
MACHINE_SETTINGS = settings(max_examples=12, stateful_step_count=12, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def test_idempotency_keys_replay_refuse_and_never_double(make_client) -> None:  # noqa: ANN001
    class IdempotencyMachine(RuleBasedStateMachine):
        @initialize()
        def fresh_user(self) -> None:
            self.api: ApiClient = make_client(f"idem-{uuid.uuid4().hex[:10]}@example.com", admin=True)
            self.first: dict[str, tuple[dict, int, str]] = {}  # key -> (body, status, job id)
            self.keyless = 0

        def _post(self, body: dict, key: str | None):  # noqa: ANN202
            headers = {"Idempotency-Key": key} if key else {}
            return self.api.post("/api/ops/canary", json=body, headers=headers)

        @rule(key=KEYS, body=BODIES)
        def post_with_key(self, key: str, body: dict) -> None:
            r = self._post(body, key)
            assert r.headers.get("Idempotency-Key") == key
            if key not in self.first:
                assert r.status_code == 202, r.text
                self.first[key] = (body, r.status_code, r.json()["data"]["job_id"])
            elif self.first[key][0] == body:
                assert r.status_code == self.first[key][1]
                assert r.json()["data"]["job_id"] == self.first[key][2], "a replay names the same job"
                assert r.headers.get("Idempotent-Replayed") == "true"
            else:
                assert r.status_code == 422, r.text
                assert r.json()["stage"] == "idempotency"

        @rule(body=BODIES)
        def post_without_key(self, body: dict) -> None:
            r = self._post(body, None)
            assert r.status_code == 202, r.text
            assert "Idempotent-Replayed" not in r.headers
            self.keyless += 1

        @precondition(lambda self: bool(self.first))
        @rule(key=KEYS)
        def the_job_of_a_key_is_the_callers(self, key: str) -> None:
            if key in self.first:
                assert self.api.get(f"/api/jobs/{self.first[key][2]}").status_code == 200

        @invariant()
        def one_job_per_key_and_per_keyless_post(self) -> None:
            jobs = self.api.get("/api/jobs", params={"kind": "ops.canary", "limit": 100}).json()["data"]["jobs"]
            assert len(jobs) == len(self.first) + self.keyless
            keyed = sorted(j["id"] for j in jobs if j["idempotency_key"])
            assert keyed == sorted(v[2] for v in self.first.values())

    IdempotencyMachine.TestCase.settings = MACHINE_SETTINGS
    IdempotencyMachine.TestCase().runTest()


def test_the_rate_limiter_matches_a_counting_model_in_both_stores(redis_url: str) -> None:
    import redis

    from core.ratelimit import Limit, MemoryStore, RedisStore

    client = redis.Redis.from_url(redis_url)
    limits = {"a": Limit(capacity=3, period=86400), "b": Limit(capacity=1, period=86400),
              "c": Limit(capacity=5, period=86400)}

    class RateLimitMachine(RuleBasedStateMachine):
        @initialize()
        def fresh_buckets(self) -> None:
            self.stores = [RedisStore(client, f"rlsm-{uuid.uuid4().hex}"), MemoryStore()]
            self.taken = {k: 0 for k in limits}

        @rule(key=st.sampled_from(sorted(limits)))
        def take(self, key: str) -> None:
            limit = limits[key]
            decisions = [s.take(key, limit) for s in self.stores]
            expect_allowed = self.taken[key] < limit.capacity
            if expect_allowed:
                self.taken[key] += 1
            left = limit.capacity - self.taken[key]
            for d in decisions:
                assert d.allowed is expect_allowed
                assert d.limit == limit.capacity
                assert d.remaining == left
                if d.allowed:
                    assert d.retry_after == 0
                else:
                    assert d.retry_after >= 1
                assert (d.reset > 0) == (left < limit.capacity)
            assert decisions[0] == decisions[1] or abs(decisions[0].reset - decisions[1].reset) <= 1

        @rule(key=st.sampled_from(sorted(limits)))
        def other_keys_are_untouched(self, key: str) -> None:
            fresh = f"untouched-{uuid.uuid4().hex[:6]}"
            for s in self.stores:
                d = s.take(fresh, limits[key])
                assert d.allowed and d.remaining == limits[key].capacity - 1

    RateLimitMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
    RateLimitMachine.TestCase().runTest()
