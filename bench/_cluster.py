"""Bench helpers: a private production-mode installation (own Redis, own PostgreSQL cluster, web and
workers as subprocesses, built from tests/support/procs.py) and the machine's description."""
from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._machine import own, stop_cleanly_on_sigterm  # noqa: E402
from bench._platform import machine  # noqa: E402,F401 - re-exported for the benches
from tests.support import procs  # noqa: E402


def raise_nofile(target: int = 16384) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(target, hard) if hard != resource.RLIM_INFINITY else target
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Cluster:
    def __init__(self, root: Path, redis: procs.PrivateRedis, pg: procs.PrivatePostgres, env: dict[str, str]):
        self.root, self.redis, self.pg, self.env = root, redis, pg, env
        self.started: list[procs.Proc] = []

    def web(self, *, gunicorn: bool = True, workers: int = 1, worker_class: str = "gevent") -> str:
        env = dict(self.env)
        proc, base = procs.start_web(env, self.root, gunicorn=gunicorn, workers=workers, worker_class=worker_class)
        self.started.append(proc)
        self.web_pid = proc.pid
        return base

    def worker(self, processes: int = 1, threads: int = 4) -> procs.Proc:
        p = procs.start_worker(self.env, self.root, processes=processes, threads=threads)
        self.started.append(p)
        return p

    def stop_procs_of(self, name: str) -> None:
        for p in [p for p in self.started if p.name.startswith(name)]:
            p.stop()
            self.started.remove(p)

    def stop_procs(self) -> None:
        for p in self.started:
            p.stop()
        self.started.clear()

    def admin_token(self) -> str:
        return procs.admin_token(self.env)


@contextmanager
def cluster(**extra_env: str) -> Iterator[Cluster]:
    stop_cleanly_on_sigterm()
    raise_nofile()
    root = Path(tempfile.mkdtemp(prefix="vm-bench-"))
    redis = procs.PrivateRedis.start()
    pg = procs.PrivatePostgres.start(fsync=os.environ.get("BENCH_PG_FSYNC", "on") != "off")
    own(pg._pids()[0])  # the postmaster daemonised out of our process tree: its CPU is the bench's own
    try:
        url = pg.create_database()
        env = procs.platform_env(url, redis.url, root, VOICEMOCK_LOG_LEVEL="ERROR", **extra_env)
        procs.migrate(env)
        c = Cluster(root, redis, pg, env)
        try:
            yield c
        finally:
            c.stop_procs()
    finally:
        redis.stop()
        pg.stop()


def emit_json(result: dict) -> None:
    """The last line of every bench's output: what run_all.py collects."""
    print("JSON: " + json.dumps(result), flush=True)
