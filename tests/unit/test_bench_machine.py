"""bench/_machine.py: what counts as the bench's own CPU, and when a run is called busy."""
from __future__ import annotations

import os
import subprocess
import sys

from bench import _machine as m


def _load(**kw: float) -> m.Load:
    base = {"seconds": 1.0, "load_before": 0.2, "load_after": 0.2, "other_cores": 0.0, "own_cores": 1.0,
            "load_at_bench_start": 0.2}
    return m.Load(**{**base, **kw})


def test_busy_when_other_processes_took_a_quarter_core_or_the_load_was_high_at_start() -> None:
    assert not _load().busy
    assert _load(other_cores=0.3).busy
    assert _load(load_at_bench_start=1.5).busy
    assert not _load(load_before=1.5).busy  # inside a bench the load average holds the bench's own work
    assert not _load(load_at_bench_start=1.5, check_load=False).busy  # a repeat: only other processes count
    assert "BUSY MACHINE" in _load(other_cores=0.3).note() and "BUSY" not in _load().note()


def test_descendants_follow_the_process_tree_from_the_roots() -> None:
    procs = {1: (0, 0), 10: (1, 5), 11: (10, 5), 12: (11, 5), 20: (1, 5)}
    assert m._descendants(procs, {10}) == {10, 11, 12}
    assert m._descendants(procs, {10, 99}) == {10, 11, 12}


def test_a_child_process_is_the_bench_s_own_and_a_spinner_is_neither(monkeypatch) -> None:  # noqa: ANN001
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        procs = m._processes()
        assert child.pid in m._descendants(procs, {os.getpid()})
        monkeypatch.setenv(m.SPINNERS_ENV, str(child.pid))
        assert child.pid in m.spinners()
        assert _load(load_at_bench_start=1.5).busy is False  # one spinner raises the load threshold by one
    finally:
        child.kill()
        child.wait()
