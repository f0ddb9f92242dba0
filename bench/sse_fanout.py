"""SSE fan-out: C concurrent SSE clients on ONE web process (gunicorn, one gevent worker) follow the
same job stream; one event is published; how long until each client has it, and what each open
connection costs in memory. Baseline, same run: C raw Redis pub/sub subscribers receiving one
PUBLISH (the floor any pub/sub fan-out sits on). Both sets of clients stay connected and the two
events alternate (--rounds: raw, platform, raw, platform; bench/_machine.py) so both see the same
machine; percentiles pool the rounds' latencies.

    python bench/sse_fanout.py [--clients 1000] [--rounds 2]

Latency is measured from the start of `EventLog.emit` (store in Postgres, then publish) to the
moment the client loop reads the event off its socket, so it includes the client's own reading.
"""
from __future__ import annotations

import argparse
import os
import selectors
import socket
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._cluster import cluster, emit_json, machine, raise_nofile  # noqa: E402
from bench._machine import interleaved  # noqa: E402


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def _children(pid: int) -> list[int]:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


class Fleet:
    """C non-blocking sockets driven by one selector: open, wait for a marker, then time a second one."""

    def __init__(self, host: str, port: int, request: bytes, n: int) -> None:
        self.sel = selectors.DefaultSelector()
        self.bufs: dict[socket.socket, bytearray] = {}
        self.closed: set[socket.socket] = set()
        self.host, self.port, self.request, self.n = host, port, request, n

    def open(self, ready_marker: bytes, timeout: float) -> float:
        t0 = time.perf_counter()
        pending = list(range(self.n))
        while pending:  # connect in batches, so the listen backlog never overflows
            batch, pending = pending[:100], pending[100:]
            for _ in batch:
                s = socket.create_connection((self.host, self.port))
                s.sendall(self.request)
                s.setblocking(False)
                self.bufs[s] = bytearray()
                self.sel.register(s, selectors.EVENT_READ)
            self._until(lambda s: ready_marker in self.bufs[s], timeout, only_new=False, stop_when_all=False)
        self._until(lambda s: ready_marker in self.bufs[s], timeout)
        missing = [s for s in self.bufs if ready_marker not in self.bufs[s]]
        if missing:
            raise RuntimeError(f"{len(missing)} clients never got {ready_marker!r}")
        for s in self.bufs:
            self.bufs[s].clear()
        return time.perf_counter() - t0

    def _until(self, done, timeout: float, *, only_new: bool = True, stop_when_all: bool = True,  # noqa: ANN001
               arrivals: dict | None = None) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if stop_when_all and all(done(s) for s in self.bufs if s not in self.closed):
                return
            events = self.sel.select(timeout=0.05)
            if not events and not stop_when_all:
                return
            for key, _ in events:
                s = key.fileobj
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    self.sel.unregister(s)
                    self.closed.add(s)
                    continue
                self.bufs[s] += chunk
                if arrivals is not None and s not in arrivals and done(s):
                    arrivals[s] = time.perf_counter()

    def time_event(self, marker: bytes, publish, timeout: float = 30.0) -> tuple[list[float], int]:  # noqa: ANN001
        arrivals: dict[socket.socket, float] = {}
        t0 = time.perf_counter()
        publish()
        self._until(lambda s: marker in self.bufs[s], timeout, arrivals=arrivals)
        latencies = [(t - t0) * 1000 for t in arrivals.values()]
        return latencies, self.n - len(arrivals)

    def close(self) -> None:
        for s in self.bufs:
            try:
                s.close()
            except OSError:
                pass
        self.sel.close()


def _redis_fleet(redis_url: str, n: int) -> Fleet:
    u = urlparse(redis_url)
    fleet = Fleet(u.hostname or "127.0.0.1", u.port or 6379, b"*2\r\n$9\r\nSUBSCRIBE\r\n$10\r\nbench-fan1\r\n", n)
    fleet.open(b"subscribe", 60)
    return fleet


def run(n: int, rounds: int = 2) -> dict:
    raise_nofile(4 * n + 1024)
    with cluster() as c:
        base = c.web(gunicorn=True, workers=1)
        token = c.admin_token()
        r = requests.post(base + "/api/ops/canary", json={}, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        r.raise_for_status()
        job = r.json()["data"]  # no worker runs: the job stays queued and its stream stays open
        master = c.started[0].pid
        web_pid = _children(master)[0]
        time.sleep(1.0)
        rss_before = _rss_kb(web_pid)
        u = urlparse(base)
        req = (f"GET {job['stream_url']} HTTP/1.1\r\nHost: {u.netloc}\r\nAccept: text/event-stream\r\n\r\n").encode()
        fleet = Fleet(u.hostname or "127.0.0.1", u.port or 80, req, n)
        raw = None
        try:
            connect_s = fleet.open(b"event: queued", 180)
            time.sleep(1.0)
            rss_after = _rss_kb(web_pid)

            import redis

            from core.config import Settings
            from core.db import Database
            from core.events import EventLog, RedisBus

            settings = Settings.from_env(env=c.env)
            log = EventLog(Database(settings.database_url), RedisBus(settings.redis_url, settings.redis_prefix))
            log.emit(f"job:{job['job_id']}", "progress", {"stage": "warm", "pct": 0.0})  # warm the emitter
            fleet._until(lambda s: b"warm" in fleet.bufs[s], 30)
            raw = _redis_fleet(c.redis.url, n)  # both fleets stay open; their events alternate
            client = redis.Redis.from_url(c.redis.url)
            seq = iter(range(1000))

            # each timed event is preceded by 1 s of quiet, so the probe of its run sees the machine
            # it was sent on (an event takes milliseconds: too short to sample /proc over)
            def platform_event() -> tuple[list[float], int]:
                time.sleep(1.0)
                for s in fleet.bufs:
                    fleet.bufs[s].clear()
                marker = f"fanout-stage-{next(seq)}"
                lat, dropped = fleet.time_event(marker.encode(), lambda: log.emit(
                    f"job:{job['job_id']}", "progress", {"stage": marker, "pct": 0.5}))
                return lat, dropped + len(fleet.closed)

            def raw_event() -> tuple[list[float], int]:
                time.sleep(1.0)
                for s in raw.bufs:
                    raw.bufs[s].clear()
                marker = f"fanout-hello-{next(seq)}"
                return raw.time_event(marker.encode(), lambda: client.publish("bench-fan1", marker))

            rr = interleaved({"redis": raw_event, "platform": platform_event}, rounds)
        finally:
            fleet.close()
            if raw is not None:
                raw.close()
    lat = [x for run_lat, _ in rr.values["platform"] for x in run_lat]
    base_lat = [x for run_lat, _ in rr.values["redis"] for x in run_lat]
    dropped = max(d for _, d in rr.values["platform"])
    return {"machine": machine(), "clients": n, "server": "gunicorn, 1 gevent worker", "rounds": rounds,
            "connect_all_s": round(connect_s, 2),
            "p50_ms": round(statistics.median(lat), 2), "p99_ms": round(_pct(lat, 99), 2),
            "max_ms": round(max(lat), 2), "dropped": dropped,
            "rss_per_connection_kb": round((rss_after - rss_before) / n, 1),
            "redis_p50_ms": round(_pct(base_lat, 50), 2), "redis_p99_ms": round(_pct(base_lat, 99), 2),
            "redis_dropped": max(d for _, d in rr.values["redis"]),
            "ratio_p99": round(_pct(lat, 99) / max(_pct(base_lat, 99), 0.01), 1),
            "load": rr.as_dict(), "load_note": rr.note()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds (raw pub/sub, platform, ...)")
    args = ap.parse_args()
    out = run(args.clients, args.rounds)
    print(f"machine: {out['machine']}")
    print(f"{out['clients']} SSE clients on one web process ({out['server']}); all connected in "
          f"{out['connect_all_s']} s")
    print(f"one event: p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms, max {out['max_ms']} ms, "
          f"dropped {out['dropped']}  (target p99 < 100 ms, none dropped)")
    print(f"memory per open connection: {out['rss_per_connection_kb']} KiB (RSS of the web worker)")
    print(f"baseline, raw Redis pub/sub to {out['clients']} subscribers: p50 {out['redis_p50_ms']} ms, "
          f"p99 {out['redis_p99_ms']} ms; ratio p99 platform/raw {out['ratio_p99']}")
    print(f"machine during the runs: {out['load_note']}")
    emit_json(out)


if __name__ == "__main__":
    main()
