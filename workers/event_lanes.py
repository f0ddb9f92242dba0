"""A running job's events (progress, partial results) written off the job's own path, in order.

Each event a job reports is a database round trip (numbered and stored, the lease renewed with a
progress event) and a publish. Written in the job's thread, they sit on its critical path: an LLM
job reports progress before and after its model call, and waited ~1.5 ms for each (more with a core
busy: bench/llm.py). Here they are handed to a writer thread (a lane) and the job goes on; the
writes overlap the job's own work (the model call, its queries).

Order holds: all of a job's events go to one lane (chosen by job id) and a lane writes in FIFO
order. `flush()` waits for the job's events to be written; the worker calls it before the job's
transaction commits and before its terminal event, so `succeeded` still comes after every progress
event, and a write that failed fails the job as it did when written in line (the error is raised by
the next report or by the flush; nothing after it is written).

`take_unwritten()` is the other way to end: it waits for the write under way, if any, and hands the
writes the lane has not started back to the job's thread. A job that reports its last progress and
returns (the canary, most jobs' final step) usually gets that report back unwritten; the worker then
stores it with the job's terminal event, in one statement (workers/execution.py).
"""
from __future__ import annotations

import threading
import zlib
from collections import deque
from queue import SimpleQueue
from typing import Any, Callable

LANES = 2
FLUSH_TIMEOUT_SECONDS = 120.0  # far past any statement deadline: a write that hangs longer is a fault

_lanes: list[SimpleQueue] = []
_lanes_lock = threading.Lock()


def _lane_loop(queue: SimpleQueue) -> None:
    while True:
        events = queue.get()
        events._run_next()  # noqa: SLF001 - the lane runs what its JobEvents queued


def _lane(key: str) -> SimpleQueue:
    with _lanes_lock:
        if not _lanes:
            for i in range(LANES):
                q: SimpleQueue = SimpleQueue()
                threading.Thread(target=_lane_loop, args=(q,), name=f"job-events-{i}", daemon=True).start()
                _lanes.append(q)
        return _lanes[zlib.crc32(key.encode()) % len(_lanes)]


def frozen(data: Any) -> Any:
    """A copy of a report's JSON-shaped data (dicts and lists copied all the way down; the rest are
    immutable values), taken when it is reported."""
    if isinstance(data, dict):
        return {k: frozen(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [frozen(v) for v in data]
    return data


Write = tuple[Callable[..., Any], tuple]


class JobEvents:
    """One job's event writes, queued in order on one lane."""

    def __init__(self, job_id: str) -> None:
        self._queue = _lane(job_id)
        self._cond = threading.Condition()
        self._writes: deque[Write] = deque()  # queued, not started; the lane pops one per token
        self._running = False
        self._error: BaseException | None = None

    def submit(self, write: Callable[..., Any], *args: Any) -> None:
        """Queue `write(*args)`; raises the error of an earlier write instead (the job stops there)."""
        with self._cond:
            if self._error is not None:
                raise self._error
            self._writes.append((write, args))
        self._queue.put(self)

    def _run_next(self) -> None:
        with self._cond:
            if not self._writes:  # taken back by take_unwritten()
                return
            write, args = self._writes.popleft()
            self._running = True
        try:
            if self._error is None:
                write(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the job's thread by submit/flush
            self._error = exc
        finally:
            with self._cond:
                self._running = False
                self._cond.notify_all()

    def _idle(self) -> bool:
        return not self._running and not self._writes

    def flush(self, *, raise_error: bool = True, timeout: float = FLUSH_TIMEOUT_SECONDS) -> None:
        """Wait until every queued write is done; raise the first one's error (unless `raise_error` is
        False: the job is already failing with an error of its own)."""
        with self._cond:
            if not self._cond.wait_for(self._idle, timeout):
                raise TimeoutError(f"the job's events were not written within {timeout:.0f} s")
            if self._error is not None and raise_error:
                raise self._error

    def take_unwritten(self, timeout: float = FLUSH_TIMEOUT_SECONDS) -> list[Write]:
        """Take back the queued writes the lane has not started and wait for the one under way (if
        any); return them, in order, for the caller to do. Raises the first failed write's error, as
        `flush` does."""
        with self._cond:
            rest = list(self._writes)  # taken at once: the lane starts none of them from now on
            self._writes.clear()
            if not self._cond.wait_for(lambda: not self._running, timeout):
                raise TimeoutError(f"the job's events were not written within {timeout:.0f} s")
            if self._error is not None:
                raise self._error
            return rest
