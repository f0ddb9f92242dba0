"""Waiting for something that happens a moment after the call that caused it returned."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def soon(lookup: Callable[[], T], check: Callable[[T], object], within: float = 2.0, every: float = 0.002) -> T:
    """What `lookup()` returns once `check` holds of it, or its last answer after `within` seconds
    (the caller asserts on it, so a failure shows the value)."""
    deadline = time.monotonic() + within
    while True:
        value = lookup()
        if check(value) or time.monotonic() > deadline:
            return value
        time.sleep(every)
