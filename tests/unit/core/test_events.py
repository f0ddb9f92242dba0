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
    sent = log.emit(stream, "partial", {"n": 1})  # no wait: subscribe returns once Redis has confirmed
    for sub in subs:
        got = sub.get(timeout=5)
        assert got is not None and got.seq == sent.seq and got.data == {"n": 1}
    assert other.get(timeout=0.3) is None
    for sub in subs:
        sub.close()
    assert hub.subscriber_count == 1
    bus.close()


def test_redis_bus_publisher_reconnects_after_its_connection_was_killed(platform) -> None:  # noqa: ANN001
    import redis

    bus = RedisBus(platform.settings.redis_url, platform.settings.redis_prefix + "-bus-kill")
    hub = EventHub(bus)
    log = EventLog(platform.runtime.db, bus)
    stream = f"test:{time.monotonic_ns()}"
    sub = hub.subscribe(stream)
    first = log.emit(stream, "partial", {"n": 1})
    got = sub.get(timeout=5)
    assert got is not None and got.seq == first.seq
    admin = redis.Redis.from_url(platform.settings.redis_url)
    killed = 0
    for client in admin.client_list():
        if client.get("cmd") == "publish":  # the publisher's own connection (the listener's is subscribe)
            killed += admin.client_kill_filter(_id=client["id"])
    assert killed >= 1
    # An event sent on the dead connection is lost (it stays in the log); later ones arrive.
    assert _heard_again(log, sub, stream), "the publisher never came back"
    sub.close()
    bus.close()


def _subscribers(channel: str, url: str) -> int:
    import redis

    return int(dict(redis.Redis.from_url(url).pubsub_numsub(channel))[channel.encode()])


def test_redis_bus_subscribes_a_process_to_the_streams_it_has_listeners_for_only(platform) -> None:  # noqa: ANN001
    """A process hears the streams its clients follow, not every event of the platform; the last
    listener to leave unsubscribes it; re-subscribing at once (a reconnecting client) still hears."""
    prefix = platform.settings.redis_prefix + "-bus-only"
    bus = RedisBus(platform.settings.redis_url, prefix)
    hub = EventHub(bus)
    log = EventLog(platform.runtime.db, bus)
    url = platform.settings.redis_url
    stream, quiet = f"test:{time.monotonic_ns()}", f"test:{time.monotonic_ns()}-quiet"
    channel = f"{prefix}:ev:{stream}"
    assert _subscribers(channel, url) == 0
    first, second = hub.subscribe(stream), hub.subscribe(stream)
    assert _subscribers(channel, url) == 1, "one subscription per process, whatever its listeners"
    heard: list[str] = []
    bus.listen(lambda s, _payload: heard.append(s))
    log.emit(quiet, "partial", {})  # nobody here follows it
    sent = log.emit(stream, "partial", {})
    got = first.get(timeout=5)
    assert got is not None and got.seq == sent.seq
    assert heard == [stream], "an event of a stream without listeners reached the process"
    first.close()
    first.close()  # closing twice releases once
    assert _subscribers(channel, url) == 1, "the second listener still follows it"
    second.close()
    deadline = time.monotonic() + 5
    while _subscribers(channel, url) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _subscribers(channel, url) == 0
    for n in range(20):  # leave and come back at once: each new subscription hears what follows it
        sub = hub.subscribe(stream)
        sent = log.emit(stream, "partial", {"n": n})
        got = sub.get(timeout=5)
        assert got is not None and got.seq == sent.seq, n
        sub.close()
    bus.close()


def test_redis_bus_listener_resubscribes_after_its_connection_was_killed(platform) -> None:  # noqa: ANN001
    import redis

    prefix = platform.settings.redis_prefix + "-bus-relisten"
    bus = RedisBus(platform.settings.redis_url, prefix)
    hub = EventHub(bus)
    log = EventLog(platform.runtime.db, bus)
    stream = f"test:{time.monotonic_ns()}"
    sub = hub.subscribe(stream)
    admin = redis.Redis.from_url(platform.settings.redis_url)
    channel = f"{prefix}:ev:{stream}"
    killed = sum(admin.client_kill_filter(_id=c["id"]) for c in admin.client_list()
                 if c.get("name") == f"{prefix}-events")
    assert killed == 1
    # Events published while it reconnects are lost to the feed (not the log); later ones arrive.
    assert _heard_again(log, sub, stream), "the listener never came back"
    assert _subscribers(channel, platform.settings.redis_url) == 1
    sub.close()
    bus.close()


def _heard_again(log: EventLog, sub, stream: str, seconds: float = 10.0) -> bool:  # noqa: ANN001
    """Emit events until `sub` receives one of them live (True), or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sent = log.emit(stream, "partial", {})
        got = sub.get(timeout=0.5)
        while got is not None and got.seq != sent.seq:
            got = sub.get(timeout=0.5)
        if got is not None:
            return True
    return False
