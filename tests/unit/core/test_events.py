"""The event log numbers events per stream without gaps or duplicates, even under concurrency."""
from __future__ import annotations

import threading
import time

from core.events import EventHub, EventLog, LocalBus, RedisBus


def test_concurrent_emitters_get_consecutive_unique_numbers(platform) -> None:  # noqa: ANN001
    log = EventLog(platform.runtime.db, LocalBus())
    stream = f"test:{time.monotonic_ns()}"
    seen: list[int] = []
    lock = threading.Lock()

    def emit() -> None:
        for _ in range(20):
            e = log.emit(stream, "progress", {})
            with lock:
                seen.append(e.seq)

    threads = [threading.Thread(target=emit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(1, 161))
    assert [e.seq for e in log.replay(stream)] == list(range(1, 161))
    assert [e.seq for e in log.replay(stream, after=150)] == list(range(151, 161))


def test_redis_bus_fans_out_to_every_local_subscriber_of_a_stream(platform) -> None:  # noqa: ANN001
    bus = RedisBus(platform.settings.redis_url, platform.settings.redis_prefix + "-bus-test")
    hub = EventHub(bus)
    log = EventLog(platform.runtime.db, bus)
    stream = f"test:{time.monotonic_ns()}"
    subs = [hub.subscribe(stream) for _ in range(3)]
    other = hub.subscribe(stream + "-other")
    time.sleep(0.3)  # the pattern subscription is asynchronous
    sent = log.emit(stream, "partial", {"n": 1})
    for sub in subs:
        got = sub.get(timeout=5)
        assert got is not None and got.seq == sent.seq and got.data == {"n": 1}
    assert other.get(timeout=0.3) is None
    for sub in subs:
        sub.close()
    assert hub.subscriber_count == 1
    bus.close()
