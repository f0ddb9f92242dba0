"""Group commit: concurrent callers of one process share a write, one batch at a time.

A caller hands its item to `GroupCommit.submit` and gets its own outcome back. While no batch is
being written the caller writes its item at once, alone (no waiting on a quiet server). While one
is, new items queue; when that batch is done, the first queued caller leads the next one and
writes everything queued meanwhile, so the busier the process, the larger the batches, and each
batch costs one round trip, one statement and one commit instead of one per item (PostgreSQL's own
commit piggybacks the same way). Threads and greenlets alike: under gevent's monkey-patching the
lock and events below are cooperative.

`write(items)` returns one outcome per item, in order: a value for the item's caller, or an
exception raised in that caller's thread. An exception raised by `write` itself fails every item of
the batch. A batch never waits for more items to come: it takes what is queued when its leader
starts.
"""
from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


class _Slot(Generic[Item]):
    __slots__ = ("item", "outcome", "ready", "lead")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.outcome: object = None
        self.ready = threading.Event()  # set when the outcome is in, or when this caller is to lead
        self.lead = False


class GroupCommit(Generic[Item, Outcome]):
    def __init__(self, write: Callable[[list[Item]], list[Outcome | BaseException]]) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._queue: list[_Slot[Item]] = []
        self._writing = False
        self.batches = 0  # batches written so far, and the items they held
        self.items = 0

    @property
    def waiting(self) -> int:
        """How many items are queued for the next batch."""
        with self._lock:
            return len(self._queue) if self._writing else 0

    def submit(self, item: Item) -> Outcome:
        """Write `item` (with whatever else is queued) and return its outcome, or raise its error."""
        slot = _Slot(item)
        with self._lock:
            self._queue.append(slot)
            lead = not self._writing
            self._writing = True
        if not lead:
            try:
                slot.ready.wait()
            except BaseException:  # the caller was interrupted (a greenlet killed, a timeout)
                self._abandon(slot)
                raise
        if slot.lead or lead:
            self._lead()
        if isinstance(slot.outcome, BaseException):
            raise slot.outcome
        return slot.outcome  # type: ignore[return-value]

    def _abandon(self, slot: _Slot[Item]) -> None:
        """A queued caller gave up waiting: its item is not written, and if it had just been told to
        lead the next batch, the next caller in the queue leads it (or nobody is writing any more),
        so no one is left waiting for a leader that never comes. An item already taken into a batch
        is written all the same."""
        with self._lock:
            if slot not in self._queue:
                return
            self._queue.remove(slot)
            successor = self._pass_lead() if slot.lead else None
        if successor is not None:
            successor.ready.set()

    def _pass_lead(self) -> _Slot[Item] | None:
        """(Under the lock) the first caller queued leads the next batch; None: nobody is writing any
        more. The caller wakes the successor once the lock is released."""
        successor = self._queue[0] if self._queue else None
        self._writing = successor is not None
        if successor is not None:
            successor.lead = True
        return successor

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            outcomes: list = self._write([s.item for s in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"group commit: {len(outcomes)} outcomes for {len(batch)} items")
        except BaseException as exc:  # noqa: BLE001 - every caller of the batch gets the error
            outcomes = [exc] * len(batch)
        finally:
            with self._lock:
                self.batches += 1
                self.items += len(batch)
                successor = self._pass_lead()  # the first caller queued meanwhile
            if successor is not None:
                successor.ready.set()
        for slot, outcome in zip(batch, outcomes):
            slot.outcome = outcome
            slot.ready.set()
