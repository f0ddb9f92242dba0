"""The doorbell broker sends its dispatch script by SHA (no SCRIPT EXISTS round trip per enqueue) and
recovers when Redis has lost the script (restart, SCRIPT FLUSH): nothing enqueued is lost."""
from __future__ import annotations

import secrets

import dramatiq
import pytest
import redis

from workers.doorbell import DoorbellRedisBroker


@pytest.fixture()
def broker(redis_url: str):  # noqa: ANN201
    client = redis.Redis.from_url(redis_url)
    b = DoorbellRedisBroker(client=client, namespace=f"vmtest{secrets.token_hex(3)}-dramatiq")
    yield b
    b.flush_all()
    client.delete(b.bell("q"))
    b.close()


def _send(broker: DoorbellRedisBroker, n: int) -> list[str]:
    @dramatiq.actor(broker=broker, queue_name="q", actor_name=f"a{secrets.token_hex(3)}")
    def a(i: int) -> None:
        pass

    return [a.send(i).options["redis_message_id"] for i in range(n)]


def _queued(broker: DoorbellRedisBroker) -> set[str]:
    return {m.decode() for m in broker.client.lrange(f"{broker.namespace}:q", 0, -1)}


def test_enqueue_after_script_flush_loads_the_script_and_loses_nothing(broker: DoorbellRedisBroker) -> None:
    broker.client.script_flush()
    ids = _send(broker, 3)
    assert _queued(broker) == set(ids)
    assert broker.client.script_exists(broker.scripts["dispatch"].sha) == [True]
    assert int(broker.client.llen(broker.bell("q"))) >= 1  # each enqueue rang the queue's doorbell


def test_a_batch_after_script_flush_is_sent_once_whole(broker: DoorbellRedisBroker) -> None:
    _send(broker, 1)
    broker.client.script_flush()
    before = _queued(broker)
    with broker.batched():
        ids = _send(broker, 5)
        assert _queued(broker) == before  # nothing leaves before the block ends
    assert _queued(broker) == before | set(ids)


def test_a_batch_that_raises_sends_nothing(broker: DoorbellRedisBroker) -> None:
    with pytest.raises(RuntimeError), broker.batched():
        _send(broker, 2)
        raise RuntimeError("the caller's transaction failed")
    assert _queued(broker) == set()


def test_no_script_exists_round_trip_per_enqueue(broker: DoorbellRedisBroker) -> None:
    _send(broker, 1)  # loads the script if this Redis never saw it
    calls = broker.client.info("commandstats").get("cmdstat_script|exists", {}).get("calls", 0)
    _send(broker, 20)
    assert broker.client.info("commandstats").get("cmdstat_script|exists", {}).get("calls", 0) == calls


def test_a_resting_connection_killed_meanwhile_is_replaced_and_the_send_goes_through(
        broker: DoorbellRedisBroker) -> None:
    ids = _send(broker, 1)
    resting = broker._wire._resting  # noqa: SLF001
    assert resting
    for conn in resting:  # killed by the server, as a Redis restart would
        conn.send_command("CLIENT", "ID")
        assert broker.client.client_kill_filter(_id=conn.read_response()) == 1
    ids += _send(broker, 2)
    assert _queued(broker) == set(ids) and broker.client.llen(f"{broker.namespace}:q") == 3


def test_an_error_reply_is_raised_after_every_reply_is_read(broker: DoorbellRedisBroker) -> None:
    from core.redis_wire import Wire

    wire = Wire(broker.client)
    key = f"vmtest{secrets.token_hex(3)}"
    try:
        with pytest.raises(redis.ResponseError):
            wire.send([("SET", key, "a"), ("INCR", key), ("APPEND", key, "b")])  # INCR of "a" fails
        assert broker.client.get(key) == b"ab"  # the command after the error ran too
        assert wire.send([("GET", key), ("STRLEN", key)]) == [b"ab", 2]  # the connection is still in step
        assert len(wire._resting) == 1  # noqa: SLF001
    finally:
        wire.close()
        broker.client.delete(key)
