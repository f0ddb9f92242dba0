"""The leases of the jobs this process is running: who holds what, and one background renewer.

A claimed job carries a lease (`jobs.lease_until`); the sweeper and a redelivered message may take
over a running job only once its lease has run out, which is how a dead worker's job is recovered.
So a live job must keep its lease, in every mode:

- the keeper renews the leases of every job this process runs, one statement per round, every
  third of the lease, so a job busy for long between progress reports (one long provider call, a
  long transcription, a document parse) keeps its claim and the lease can stay short;
- the registry (`holds`) answers "is this job running in this very process": JobLifecycle asks it
  before claiming, so a second message for a job running here is turned away whatever the row
  says. On SQLite (embedded mode: one process, one writer) a job's open transaction can hold the
  write lock for a long time, and a renewal then cannot get through; the registry is what keeps
  such a job from being run twice there.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from core import jobstore

log = logging.getLogger("voicemock.worker")


class LeaseKeeper:
    """`with LeaseKeeper(rt, job_id):` around a job's run. One renewer thread per process, started
    with its first job; it uses the runtime of the latest job (tests re-configure the runtime)."""

    _lock = threading.Lock()
    _running: dict[str, int] = {}  # job id -> how many threads of this process run it (normally 1)
    _thread: threading.Thread | None = None
    _rt: Any = None

    def __init__(self, rt: Any, job_id: str) -> None:
        self.rt, self.job_id = rt, job_id

    @classmethod
    def holds(cls, job_id: str) -> bool:
        """True while a thread of this process is running `job_id`."""
        with cls._lock:
            return job_id in cls._running

    def __enter__(self) -> "LeaseKeeper":
        cls = type(self)
        with cls._lock:
            cls._rt = self.rt
            cls._running[self.job_id] = cls._running.get(self.job_id, 0) + 1
            if cls._thread is None or not cls._thread.is_alive():
                cls._thread = threading.Thread(target=cls._run, name="lease-keeper", daemon=True)
                cls._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        cls = type(self)
        with cls._lock:
            left = cls._running.get(self.job_id, 0) - 1
            if left > 0:
                cls._running[self.job_id] = left
            else:
                cls._running.pop(self.job_id, None)

    @classmethod
    def _run(cls) -> None:
        while True:
            with cls._lock:
                rt = cls._rt
            time.sleep(max(0.5, rt.settings.job_lease_seconds / 3))
            with cls._lock:
                rt, ids = cls._rt, list(cls._running)
            if not ids:
                continue
            try:
                # On SQLite, never queue behind a job's open transaction for the write lock: while
                # that transaction is open nobody else can claim anything either, and the registry
                # keeps this process from running its own jobs twice.
                with rt.db.session_scope(impatient=True) as s:
                    jobstore.renew_many(s, ids, rt.settings.job_lease_seconds)
            except Exception as exc:  # noqa: BLE001 - a missed renewal only shortens the lease
                log.warning("could not renew the leases of %d jobs: %s", len(ids), exc)
