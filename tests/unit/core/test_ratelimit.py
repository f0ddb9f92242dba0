from __future__ import annotations

import pytest

from core.ratelimit import Limit, MemoryStore


@pytest.mark.parametrize("text, capacity, period", [("100/minute", 100, 60), ("10 per minute", 10, 60),
                                                     ("5/10seconds", 5, 10), ("3/hour", 3, 3600), ("2/s", 2, 1)])
def test_limits_parse_from_their_usual_spellings(text: str, capacity: int, period: int) -> None:
    assert Limit.parse(text) == Limit(capacity, period)


@pytest.mark.parametrize("text", ["", "0/minute", "ten/minute", "5/fortnight"])
def test_nonsense_limits_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Limit.parse(text)


def test_the_memory_bucket_lets_exactly_the_capacity_through_then_says_when_to_retry() -> None:
    store, limit = MemoryStore(), Limit(3, 3600)
    decisions = [store.take("k", limit) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    assert decisions[-1].retry_after == 1200 and decisions[0].reset > 0
    assert store.take("other", limit).allowed, "buckets are per key"
