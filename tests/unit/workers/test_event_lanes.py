"""A job's events written on a lane: in order, waited for by flush, a failed write failing the job."""
from __future__ import annotations

import threading
import time

import pytest

from workers.event_lanes import JobEvents, frozen


def test_a_jobs_writes_run_in_the_order_reported_and_flush_waits_for_them() -> None:
    written: list[int] = []
    events = JobEvents("job_order")
    for i in range(200):
        events.submit(lambda n: (time.sleep(0.0005) if n % 50 == 0 else None, written.append(n)), i)
    events.flush()
    assert written == list(range(200))


def test_the_job_goes_on_while_its_events_are_written() -> None:
    release = threading.Event()
    events = JobEvents("job_overlap")
    started = time.monotonic()
    events.submit(release.wait, 5)
    assert time.monotonic() - started < 1.0, "submit returned without waiting for the write"
    release.set()
    events.flush()


def test_a_failed_write_stops_later_writes_and_is_raised_by_the_next_report_or_the_flush() -> None:
    written: list[str] = []

    def write(tag: str) -> None:
        if tag == "bad":
            raise ConnectionError("database went away")
        written.append(tag)

    events = JobEvents("job_error")
    events.submit(write, "first")
    events.submit(write, "bad")
    events.submit(write, "after")  # queued before the failure was known: skipped, not written
    with pytest.raises(ConnectionError):
        events.flush()
    assert written == ["first"]
    with pytest.raises(ConnectionError):
        events.submit(write, "later")
    events.flush(raise_error=False)  # a job already failing with its own error keeps that error


def test_a_report_is_copied_when_reported() -> None:
    data = {"stage": "scoring", "scores": {"overall": 70}, "words": [{"text": "a"}]}
    copy = frozen(data)
    data["scores"]["overall"] = 10
    data["words"].append({"text": "b"})
    assert copy == {"stage": "scoring", "scores": {"overall": 70}, "words": [{"text": "a"}]}


def test_take_unwritten_waits_for_the_write_under_way_and_hands_back_the_rest_in_order() -> None:
    written: list[str] = []
    started, release = threading.Event(), threading.Event()

    def slow(tag: str) -> None:
        started.set()
        release.wait(5)
        written.append(tag)

    events = JobEvents("job_take")
    events.submit(slow, "running")
    assert started.wait(5)
    events.submit(written.append, "second")
    events.submit(written.append, "third")
    threading.Timer(0.2, release.set).start()
    rest = events.take_unwritten()
    assert written == ["running"], "the write under way finished first, the queued ones were not done"
    assert [args for _, args in rest] == [("second",), ("third",)]
    time.sleep(0.05)  # the lane's tokens for the taken writes find nothing left to do
    assert written == ["running"]
    events.flush()


def test_take_unwritten_raises_a_failed_writes_error() -> None:
    def bad() -> None:
        raise ConnectionError("database went away")

    events = JobEvents("job_take_error")
    events.submit(bad)
    events.flush(raise_error=False)
    with pytest.raises(ConnectionError):
        events.take_unwritten()
