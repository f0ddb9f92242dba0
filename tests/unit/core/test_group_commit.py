"""core/group_commit.py with threads: a quiet caller writes alone and at once; callers arriving while
a batch is written share the next one; each gets its own outcome or error; nobody is left waiting."""
from __future__ import annotations

import threading
from typing import Callable

import pytest

from core.group_commit import GroupCommit
from tests.support.procs import wait_for


class HeldWrites:
    """A write function that records its batches; `hold()` makes the next batch wait for `release()`."""

    def __init__(self, outcome: Callable[[str], object] = str.upper) -> None:
        self.batches: list[list[str]] = []
        self.outcome = outcome
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.held = False

    def hold(self) -> None:
        self.held = True

    def release(self) -> None:
        self.gate.set()

    def __call__(self, items: list[str]) -> list[object]:
        self.batches.append(list(items))
        gate, self.held = self.gate if self.held else None, False
        if gate is not None:
            self.entered.set()
            assert gate.wait(10), "the test never released the batch"
        return [self.outcome(i) for i in items]


def _submit_in_threads(group: GroupCommit, items: list[str]) -> tuple[dict[str, object], list[threading.Thread]]:
    results: dict[str, object] = {}

    def call(item: str) -> None:
        try:
            results[item] = group.submit(item)
        except BaseException as exc:  # noqa: BLE001 - the test looks at what each caller got
            results[item] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in items]
    for t in threads:
        t.start()
    return results, threads


def test_a_caller_alone_writes_its_item_at_once_in_a_batch_of_its_own() -> None:
    writes = HeldWrites()
    group = GroupCommit(writes)
    assert group.submit("a") == "A"
    assert group.submit("b") == "B"
    assert writes.batches == [["a"], ["b"]]
    assert (group.batches, group.items, group.waiting) == (2, 2, 0)


def test_callers_arriving_while_a_batch_is_written_share_the_next_one() -> None:
    writes = HeldWrites()
    group = GroupCommit(writes)
    writes.hold()
    first, first_threads = _submit_in_threads(group, ["first"])
    assert writes.entered.wait(5)
    later, threads = _submit_in_threads(group, [f"item{i}" for i in range(5)])
    wait_for(lambda: group.waiting == 5, 5, "callers queued", interval=0.002)
    assert writes.batches == [["first"]]  # nothing else is written while the first batch is
    writes.release()
    for t in first_threads + threads:
        t.join(5)
    assert first == {"first": "FIRST"}
    assert later == {f"item{i}": f"ITEM{i}" for i in range(5)}  # each caller its own outcome
    assert len(writes.batches) == 2 and sorted(writes.batches[1]) == [f"item{i}" for i in range(5)]
    assert (group.batches, group.items, group.waiting) == (2, 6, 0)


def test_an_item_s_error_is_raised_in_its_own_caller_only() -> None:
    writes = HeldWrites(lambda i: ValueError(f"bad {i}") if i.startswith("bad") else i.upper())
    group = GroupCommit(writes)
    writes.hold()
    _, first = _submit_in_threads(group, ["first"])
    assert writes.entered.wait(5)
    results, threads = _submit_in_threads(group, ["good1", "bad", "good2"])
    wait_for(lambda: group.waiting == 3, 5, "callers queued", interval=0.002)
    writes.release()
    for t in first + threads:
        t.join(5)
    assert results["good1"] == "GOOD1" and results["good2"] == "GOOD2"
    assert isinstance(results["bad"], ValueError) and str(results["bad"]) == "bad bad"
    assert len(writes.batches) == 2


def test_a_write_that_fails_fails_its_whole_batch_and_the_next_batch_still_goes() -> None:
    calls = {"n": 0}
    gate, entered = threading.Event(), threading.Event()

    def write(items: list[str]) -> list[str]:
        calls["n"] += 1
        if calls["n"] == 1:
            entered.set()
            assert gate.wait(10)
            return [i.upper() for i in items]
        if calls["n"] == 2:
            raise ConnectionError("database down")
        return [i.upper() for i in items]

    group = GroupCommit(write)
    _, first = _submit_in_threads(group, ["first"])
    assert entered.wait(5)
    results, threads = _submit_in_threads(group, ["x", "y"])
    wait_for(lambda: group.waiting == 2, 5, "callers queued", interval=0.002)
    gate.set()
    for t in first + threads:
        t.join(5)
    assert all(isinstance(results[k], ConnectionError) for k in ("x", "y")), results
    assert group.submit("z") == "Z"  # no caller is left waiting and the group goes on
    assert group.waiting == 0


def test_a_write_that_returns_the_wrong_number_of_outcomes_fails_its_callers() -> None:
    group = GroupCommit(lambda items: [])
    with pytest.raises(RuntimeError, match="0 outcomes for 1 items"):
        group.submit("a")
    assert group.waiting == 0


GREENLETS = r"""
from gevent import monkey
monkey.patch_all()
import gevent, gevent.event
from core.group_commit import GroupCommit

gate = gevent.event.Event()
batches = []

def write(items):
    batches.append(list(items))
    if len(batches) == 1:
        gate.wait()
        # Killed once this batch is done: by then the quitter has been told to lead the next one.
        quitter.kill(block=False)
    return [i.upper() for i in items]

group = GroupCommit(write)
first = gevent.spawn(group.submit, "first")
gevent.sleep(0.01)
quitter = gevent.spawn(group.submit, "quitter")  # first in the queue: the next batch's leader
gevent.sleep(0.01)
waiter = gevent.spawn(group.submit, "waiter")
gevent.sleep(0.01)
assert group.waiting == 2
gate.set()
gevent.joinall([first, quitter, waiter], timeout=5)
assert isinstance(quitter.value, gevent.GreenletExit), quitter.value  # killed, its item never written
assert first.value == "FIRST", first.value
assert waiter.value == "WAITER", (waiter.value, batches)
assert group.submit("later") == "LATER" and group.waiting == 0
print("ok", batches)
"""


def test_a_caller_killed_while_queued_leaves_nobody_waiting_for_it() -> None:
    """Under gevent (gunicorn's worker), a greenlet killed while queued, even one just told to lead
    the next batch, neither writes its item nor strands the callers behind it."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", GREENLETS], cwd=root, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("ok [['first'], ['waiter'], ['later']]"), out.stdout
