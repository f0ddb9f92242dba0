"""Bench harness: notice a busy machine.

A `Probe` samples /proc while a run goes: the CPU the whole machine spent (/proc/stat) minus the CPU
of this bench's own processes (this process, its descendants, and daemonised ones registered with
`own()`, such as the private PostgreSQL postmaster) is what *other* processes took. A run is busy
when others took more than BUSY_OTHER_CORES cores on average, or (for a bench's first run) when the
1-minute load average was above BUSY_LOAD when the bench process started (later the load average
holds the bench's own cluster and previous runs, so it is recorded but not judged). A deliberate
spinner (`spinning_core()`, run_all.py --busy-core) counts neither as ours nor as others, and raises
the load threshold by one.

`measure()` runs a callable under a probe and repeats a busy run once (keeping the quieter run);
`interleaved()` runs the sides of a ratio in rounds (baseline, platform, baseline, platform), so both
see the same machine, and repeats a round in which any side was busy once.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

BUSY_OTHER_CORES = float(os.environ.get("BENCH_BUSY_OTHER_CORES", "0.25"))
BUSY_LOAD = float(os.environ.get("BENCH_BUSY_LOAD", "1.0"))
SPINNERS_ENV = "BENCH_SPINNER_PIDS"
_TICK = os.sysconf("SC_CLK_TCK")
_OWN: set[int] = set()
BENCH_START_LOAD = os.getloadavg()[0]  # before this bench started anything of its own
_SPINNERS: set[int] = set()


def own(pid: int) -> None:
    """Count `pid` and its descendants as the bench's own (a process that daemonised out of our tree)."""
    _OWN.add(pid)


def spinners() -> set[int]:
    env = {int(p) for p in os.environ.get(SPINNERS_ENV, "").split(",") if p.strip().isdigit()}
    return env | _SPINNERS


def load1() -> float:
    return os.getloadavg()[0]


def _system_busy_ticks() -> int:
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    v = [int(x) for x in fields[:8]]  # user nice system idle iowait irq softirq steal (guest is inside user)
    # irq/softirq time belongs to no process and is mostly the bench's own loopback traffic: left out.
    # steal (another VM on the host) is kept: it is exactly a busy machine.
    return v[0] + v[1] + v[2] + v[7]


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, CPU ticks of the process and of the children it has reaped)."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                rest = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        out[int(name)] = (int(rest[1]), sum(int(x) for x in rest[11:15]))  # utime stime cutime cstime
    return out


def _descendants(procs: dict[int, tuple[int, int]], roots: set[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    seen, todo = set(), [r for r in roots if r in procs]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo += children.get(pid, [])
    return seen


@dataclass
class Load:
    seconds: float
    load_before: float
    load_after: float
    other_cores: float
    own_cores: float
    spinner_cores: float = 0.0
    check_load: bool = True
    repeated: bool = False
    load_at_bench_start: float = BENCH_START_LOAD

    @property
    def busy(self) -> bool:
        load_limit = BUSY_LOAD + len(spinners())
        high_load = self.check_load and self.load_at_bench_start > load_limit
        return self.other_cores > BUSY_OTHER_CORES or high_load

    def note(self) -> str:
        text = (f"load {self.load_at_bench_start:.2f} at bench start, {self.load_before:.2f} before this run, "
                f"other processes {self.other_cores:.2f} core, "
                f"bench {self.own_cores:.2f} core" + (f", spinner {self.spinner_cores:.2f} core"
                                                       if self.spinner_cores else ""))
        if self.busy:
            text = "⚠ BUSY MACHINE: " + text + (" (after one repeat)" if self.repeated else "")
        return text

    def as_dict(self) -> dict:
        return {**{k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()},
                "busy": self.busy}


class Probe:
    """Context manager sampling /proc every `interval` s; `.load` after exit."""

    def __init__(self, interval: float = 0.5, check_load: bool = True, start_load: float | None = None) -> None:
        self.interval, self.check_load = interval, check_load
        self.start_load = BENCH_START_LOAD if start_load is None else start_load
        self.load: Load | None = None
        self._stop = threading.Event()
        self._other = self._own = self._spin = 0

    def _sample(self) -> tuple[int, dict[int, tuple[int, int]]]:
        return _system_busy_ticks(), _processes()

    def _account(self, prev: tuple[int, dict], cur: tuple[int, dict]) -> tuple:
        (sys0, p0), (sys1, p1) = prev, cur
        ours = _descendants(p1, {os.getpid(), *_OWN})
        spin = _descendants(p1, spinners())
        ours -= spin

        def delta(pids: set[int]) -> int:
            return sum(max(0, p1[p][1] - (p0[p][1] if p in p0 else 0)) for p in pids)

        # A process of ours that exited since the last sample reappears, whole, in its parent's reaped
        # children's time: take back what was already counted for it.
        gone = sum(p0[p][1] for p in self._ours_prev if p not in p1)
        self._ours_prev = {p for p in ours if p in p1}
        d_own, d_spin = max(0, delta(ours) - gone), delta(spin)
        self._own += d_own
        self._spin += d_spin
        self._other += max(0, (sys1 - sys0) - d_own - d_spin)
        return cur

    def _loop(self) -> None:
        prev = self._first
        while not self._stop.wait(self.interval):
            prev = self._account(prev, self._sample())
        self._account(prev, self._sample())

    def __enter__(self) -> "Probe":
        self._load_before = load1()
        self._first = self._sample()
        self._ours_prev = _descendants(self._first[1], {os.getpid(), *_OWN}) - _descendants(self._first[1],
                                                                                               spinners())
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="bench-probe")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        secs = max(time.perf_counter() - self._t0, 1e-6)
        cores = lambda ticks: ticks / _TICK / secs  # noqa: E731
        self.load = Load(round(secs, 2), self._load_before, load1(), cores(self._other), cores(self._own),
                         cores(self._spin), self.check_load, load_at_bench_start=self.start_load)


def measure(fn: Callable[[], T], *, check_load: bool = True, repeat_busy: bool = True) -> tuple[T, Load]:
    """Run fn under a probe; if the machine was busy, run it once more and keep the quieter run."""
    with Probe(check_load=check_load) as p:
        value = fn()
    if not (repeat_busy and p.load.busy):
        return value, p.load
    with Probe(check_load=False) as p2:  # the load at the bench's start is what it was
        value2 = fn()
    p2.load.repeated = True
    if p2.load.other_cores <= p.load.other_cores:
        return value2, p2.load
    p.load.repeated = True
    return value, p.load


@dataclass
class Rounds:
    """Values per side, one per kept round, with each run's machine load."""
    values: dict[str, list] = field(default_factory=dict)
    loads: list[dict[str, Load]] = field(default_factory=list)
    repeated: int = 0

    @property
    def busy(self) -> bool:
        return any(load.busy for r in self.loads for load in r.values())

    def mean(self, side: str, key: Callable[[object], float] = float) -> float:  # type: ignore[assignment]
        vals = [key(v) for v in self.values[side]]
        return sum(vals) / len(vals)

    def note(self) -> str:
        worst = max((load for r in self.loads for load in r.values()), key=lambda x: x.other_cores)
        text = (f"{len(self.loads)} interleaved rounds; noisiest run: {worst.note().replace('⚠ BUSY MACHINE: ', '')}"
                + (f"; {self.repeated} busy round(s) repeated" if self.repeated else ""))
        return ("⚠ BUSY MACHINE: " + text) if self.busy else text

    def as_dict(self) -> dict:
        return {"busy": self.busy, "rounds": len(self.loads), "repeated_rounds": self.repeated,
                "runs": [{side: load.as_dict() for side, load in r.items()} for r in self.loads]}


def interleaved(sides: dict[str, Callable[[], object]], rounds: int = 2) -> Rounds:
    """Run each side in turn (in dict order) per round; a round where any run was busy is run once more,
    and the quieter of the two is kept. The load average is only checked before the first round."""
    out = Rounds(values={s: [] for s in sides})
    for k in range(rounds):
        tries = []
        for attempt in range(2):
            vals, loads = {}, {}
            for side, fn in sides.items():
                with Probe(check_load=(k == 0 and attempt == 0 and not loads)) as p:
                    vals[side] = fn()
                loads[side] = p.load
            tries.append((vals, loads))
            if not any(load.busy for load in loads.values()):
                break
        if len(tries) > 1:
            out.repeated += 1
            for load in tries[1][1].values():
                load.repeated = True
        vals, loads = min(tries, key=lambda t: max(load.other_cores for load in t[1].values()))
        for side in sides:
            out.values[side].append(vals[side])
        out.loads.append(loads)
    return out


# Spins until its parent is gone, so a bench killed outright does not leave a core busy behind it.
_SPIN = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    for _ in range(10 ** 6):\n        pass"


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def stop_cleanly_on_sigterm() -> None:
    """SIGTERM (a `kill`, run_all stopping a bench) unwinds the bench like Ctrl-C does: its `finally`
    blocks stop the platform's processes, its private Redis and PostgreSQL, and the spinner, instead
    of leaving them running (and taking CPU from the next measurement)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


@contextmanager
def spinning_core() -> Iterator[int]:
    """One core kept busy by a spinning Python process; its pid is excluded from 'other processes'
    here and (through BENCH_SPINNER_PIDS) in benches started meanwhile."""
    proc = subprocess.Popen([sys.executable, "-c", _SPIN], start_new_session=True)
    _SPINNERS.add(proc.pid)
    old = os.environ.get(SPINNERS_ENV)
    os.environ[SPINNERS_ENV] = ",".join(str(p) for p in spinners())
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()
        _SPINNERS.discard(proc.pid)
        if old is None:
            os.environ.pop(SPINNERS_ENV, None)
        else:
            os.environ[SPINNERS_ENV] = old


def settle(max_seconds: float, poll: float = 2.0) -> float:
    """Wait (up to max_seconds) for the 1-minute load average to fall under the busy threshold,
    so a bench does not start in the load the previous one left; the load average at the end."""
    limit = BUSY_LOAD + len(spinners())
    deadline = time.monotonic() + max_seconds
    while load1() > limit and time.monotonic() < deadline:
        time.sleep(poll)
    return load1()
