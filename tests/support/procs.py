"""Private services and platform processes for fault tests and benchmarks.

Fault tests break things (kill workers, pause Redis, stop Postgres), so they never touch the shared
services: each starts its own Redis and, when needed, its own PostgreSQL cluster on free ports, and
runs the platform as real subprocesses (web, worker) configured through the environment, exactly as
an operator would. Everything started here is stopped by the object that started it, by pid.

`python -m tests.support.procs serve PORT` is the small web launcher: `webapp.create_app()` behind
werkzeug's threaded server (fast to start; the benchmarks use gunicorn for the SSE figures).
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path
from typing import Callable, Mapping

import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SECRET = "fault-test-secret-" + "k" * 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # noqa: BLE001 - anything short of success means "not yet"
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout} s (last error: {last_exc!r})")


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _stop(proc: subprocess.Popen | None, timeout: float = 10.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        proc.wait(5)


# ---------------------------------------------------------------------------------------------- Redis


@dataclass
class PrivateRedis:
    port: int
    proc: subprocess.Popen | None = None

    @classmethod
    def start(cls) -> "PrivateRedis":
        r = cls(port=free_port())
        r._spawn()
        return r

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _spawn(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--maxclients", "10000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        import redis

        wait_for(lambda: redis.Redis(port=self.port, socket_timeout=1).ping(), 10, f"redis :{self.port}")

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open and nothing answers, like a hung host."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def crash_and_restart(self) -> None:
        """kill -9 the server and start a fresh one on the same port: every key is gone (no
        persistence), every client connection is reset."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._spawn()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        _stop(self.proc)
        self.proc = None


# ------------------------------------------------------------------------------------------- Postgres


def _pg_bin(name: str) -> str:
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise FileNotFoundError(f"PostgreSQL {name} not found under /usr/lib/postgresql/*/bin")
    return found[-1]


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root; run the cluster as the `postgres` OS user when we are root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class PrivatePostgres:
    port: int
    datadir: Path
    root: Path

    fsync: bool = False

    @classmethod
    def start(cls, *, fsync: bool = False) -> "PrivatePostgres":
        """fsync off for tests (speed); benchmarks turn it on to measure what production pays."""
        root = Path(tempfile.mkdtemp(prefix="vm-pg-"))
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        pg = cls(port=free_port(), datadir=root / "data", root=root, fsync=fsync)
        subprocess.run(_as_postgres([_pg_bin("initdb"), "-D", str(pg.datadir), "-A", "trust", "-U", "postgres",
                                     "--no-sync", "-E", "UTF8"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        pg.resume()
        return pg

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, dbname: str = "voicemock") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{dbname}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(self.datadir), *args]), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def resume(self) -> None:
        """Start (or start again) the cluster on the same port and data."""
        opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300 "
                f"-c fsync={'on' if self.fsync else 'off'}")
        self._ctl("-o", opts, "-l", str(self.root / "log"), "-w", "start")

    def pause(self) -> None:
        """Stop the server (fast shutdown: clients are disconnected), keeping its data."""
        self._ctl("-m", "fast", "-w", "stop")

    def _pids(self) -> list[int]:
        postmaster = int((self.datadir / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
        return [postmaster, *map(int, children)]

    def stall(self) -> None:
        """Freeze every process of the cluster (SIGSTOP): connections stay open, the kernel still
        acknowledges TCP and keepalives, and nothing answers — a hung database host."""
        self._stalled = self._pids()
        for pid in self._stalled:
            os.kill(pid, signal.SIGSTOP)

    def unstall(self) -> None:
        for pid in getattr(self, "_stalled", ()):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self._stalled = []

    def create_database(self, name: str = "voicemock") -> str:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        self.unstall()  # a stopped process cannot act on a shutdown request
        try:
            self._ctl("-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)


def create_database_on(admin_url: str) -> tuple[str, Callable[[], None]]:
    """A fresh database on an existing server (the shared one): (url, drop)."""
    from sqlalchemy import create_engine, text

    name = f"voicemock_fault_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.rsplit("/", 1)[0] + f"/{name}", drop


# ---------------------------------------------------------------------------------- platform processes


def platform_env(database_url: str, redis_url: str, data_dir: str | Path, **extra: str) -> dict[str, str]:
    """The environment of a production-mode installation, for subprocesses."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEMOCK_")}
    env.update({
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "VOICEMOCK_SECRET_KEY": SECRET,
        "VOICEMOCK_CRON_SECRET": "fault-cron-secret",
        "VOICEMOCK_DATA_DIR": str(data_dir),
        "VOICEMOCK_STORAGE_DIR": str(Path(data_dir) / "storage"),
        "VOICEMOCK_REDIS_PREFIX": f"vmfault{secrets.token_hex(3)}",
        "VOICEMOCK_ADMIN_EMAILS": "admin@example.com",
        "VOICEMOCK_JOB_MIN_BACKOFF_MS": "100",
        "VOICEMOCK_JOB_MAX_BACKOFF_MS": "500",
        "VOICEMOCK_LOG_JSON": "1",
        "VOICEMOCK_LOG_LEVEL": "WARNING",
        "VOICEMOCK_RATE_LIMITS": "0",
        "VOICEMOCK_PRELOAD_STT": "0",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),
    })
    env.update(extra)
    return env


def migrate(env: Mapping[str, str]) -> None:
    subprocess.run([str(VENV_BIN / "voicemock"), "db", "upgrade"], env=dict(env), check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@dataclass
class Proc:
    """A platform process in its own process group (so kill -9 takes its children too)."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = None
    _log: object = field(default=None, repr=False)

    def start(self) -> "Proc":
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        """SIGKILL the whole group: no clean-up, no acks, no lease release — a crashed host."""
        if self.proc is not None:
            _signal_group(self.proc, signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int | None:
        """SIGTERM the group leader (what an orchestrator sends) and wait for a clean exit."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            return None

    def stop(self) -> None:
        _stop(self.proc)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""


def start_web(env: Mapping[str, str], log_dir: Path, *, port: int | None = None, gunicorn: bool = False,
              worker_class: str = "gevent",
              workers: int = 1, ready_timeout: float = 30.0) -> tuple[Proc, str]:
    port = port or free_port()
    if gunicorn:
        # gevent as the Procfile runs it; gthread (8 threads a worker) for the serving-stack comparison
        per_worker = ["--worker-connections", "4000"] if worker_class == "gevent" else ["--threads", "8"]
        cmd = [str(VENV_BIN / "gunicorn"), "--worker-class", worker_class, "--workers", str(workers), *per_worker,
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "webapp:create_app()"]
    else:
        cmd = [sys.executable, "-m", "tests.support.procs", "serve", str(port)]
    proc = Proc("web", cmd, dict(env), log_dir / f"web-{port}.log").start()
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if not proc.alive():
            raise RuntimeError(f"web exited: {proc.log_tail()}")
        return requests.get(base + "/healthz", timeout=1).status_code == 200

    wait_for(ready, ready_timeout, "web")
    return proc, base


def start_worker(env: Mapping[str, str], log_dir: Path, *, processes: int = 1, threads: int = 4,
                 queues: str = "stt,llm,default,maintenance", tag: str = "") -> Proc:
    cmd = [str(VENV_BIN / "voicemock"), "worker", "--processes", str(processes), "--threads", str(threads),
           "--queues", queues]
    name = f"worker{tag or secrets.token_hex(2)}"
    return Proc(name, cmd, dict(env), log_dir / f"{name}.log").start()


def admin_token(env: Mapping[str, str], email: str = "admin@example.com") -> str:
    from core.config import Settings
    from core.tokens import mint_access_token

    return mint_access_token(Settings.from_env(env=dict(env)), email, email=email, admin=True)


def user_token(env: Mapping[str, str], email: str) -> str:
    from core.config import Settings
    from core.tokens import mint_access_token

    return mint_access_token(Settings.from_env(env=dict(env)), email, email=email)


def _serve(port: int) -> None:
    from werkzeug.serving import make_server

    from core.config import Settings
    from core.logs import configure_logging
    from webapp import create_app

    settings = Settings.from_env()
    configure_logging(settings.log_json, settings.log_level)
    server = make_server("127.0.0.1", port, create_app(settings), threaded=True)
    server.serve_forever()


def _sweep() -> None:
    from core.config import Settings
    from workers import runtime
    from workers.actors import maintenance

    runtime.configure(Settings.from_env())
    print(maintenance.sweep(), flush=True)


def sweep(env: Mapping[str, str]) -> int:
    """Run the sweeper once, in its own process, as the scheduler's message would: jobs re-sent."""
    out = subprocess.run([sys.executable, "-m", "tests.support.procs", "sweep"], env=dict(env), cwd=ROOT,
                         check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        _serve(int(sys.argv[2]))
    elif sys.argv[1:] == ["sweep"]:
        _sweep()
    else:
        sys.exit("usage: python -m tests.support.procs serve PORT | sweep")
